package query

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// maxValueLen bounds one value, as the API's filter parameters are bounded.
const maxValueLen = 512

// maxWords bounds the words of one phrase.
const maxWords = 32

var (
	actionPrefixRE = regexp.MustCompile(`^[a-z0-9_.]+$`)
	countryRE      = regexp.MustCompile(`^[A-Za-z]{2}$`)
)

// presentOK lists the fields where "*" alone means "present".
var presentOK = map[string]bool{
	FieldAction: true, FieldActor: true, FieldActorType: true, FieldTarget: true, FieldTargetType: true,
	FieldIP: true, FieldCountry: true, FieldTag: true, FieldMeta: true, FieldID: true,
}

// checkText checks a free-text word or phrase.
func checkText(p *parser, v value) error {
	if len(v.s) > maxValueLen {
		return p.fail(v.off, "the phrase is longer than %d bytes", maxValueLen)
	}
	n := len(hashtrail.SearchTokens(strings.TrimSuffix(v.s, "*")))
	switch {
	case n == 0:
		return p.fail(v.off, "%.40q has no letters or digits to search for", v.s)
	case n > maxWords:
		return p.fail(v.off, "the phrase has more than %d words", maxWords)
	}
	return nil
}

// check checks the values of a qualified term and sets t.Op and t.Values.
func (p *parser) check(t *Term, off int, vals []value) error {
	name := qualName(t.Field, t.Key)
	switch t.Field {
	case FieldCreated:
		return p.checkCreated(t, off, vals)
	case FieldSeverity:
		if len(vals) == 1 {
			if op, rest := cutOp(vals[0].s); op != OpEq {
				if !hashtrail.Severity(rest).Valid() {
					return p.fail(vals[0].off, "severity: %.40q is not a severity (%s)", rest, list(hashtrail.Severities))
				}
				t.Op, t.Values = op, []string{rest}
				if len(severities(op, rest)) == 0 {
					return p.fail(vals[0].off, "severity:%s%s matches nothing", op, rest)
				}
				return nil
			}
		}
	}
	for _, v := range vals {
		if len(v.s) > maxValueLen {
			return p.fail(v.off, "%s: the value is longer than %d bytes", name, maxValueLen)
		}
		if v.s == "*" {
			if !presentOK[t.Field] {
				return p.fail(v.off, "%s: * (present) does not apply; give a value", name)
			}
			t.Values = append(t.Values, v.s)
			continue
		}
		if msg := checkValue(t.Field, v.s); msg != "" {
			return p.fail(v.off, "%s: %.60q %s", name, v.s, msg)
		}
		t.Values = append(t.Values, v.s)
	}
	return nil
}

// checkValue returns what is wrong with value s of field, or "".
func checkValue(field, s string) string {
	prefix, isPrefix := strings.CutSuffix(s, "*")
	switch field {
	case FieldAction:
		if isPrefix && actionPrefixRE.MatchString(prefix) || !isPrefix && hashtrail.ValidAction(s) {
			return ""
		}
		return "is neither an action such as user.login nor a prefix such as user.*"
	case FieldActor:
		if isPrefix && prefix != "" || !isPrefix && hashtrail.ValidActorFilter(s) {
			return ""
		}
		return "must be type:id such as user:42, an email address, or a prefix such as user:*"
	case FieldActorType:
		if hashtrail.ActorType(s).Valid() {
			return ""
		}
		return "is not an actor type (" + list(hashtrail.ActorTypes) + ")"
	case FieldTarget:
		typ, id, ok := strings.Cut(s, ":")
		if isPrefix && prefix != "" || !isPrefix && ok && typ != "" && id != "" {
			return ""
		}
		return "must be type:id such as project:7, or a prefix such as project:*"
	case FieldTargetType:
		if s != "" && !strings.ContainsAny(s, ":*") {
			return ""
		}
		return "must be a target type such as project"
	case FieldCategory:
		if hashtrail.Category(s).Valid() {
			return ""
		}
		return "is not a category (" + list(hashtrail.Categories) + ")"
	case FieldSeverity:
		if hashtrail.Severity(s).Valid() {
			return ""
		}
		return "is not a severity (" + list(hashtrail.Severities) + "), nor a comparison such as >=high"
	case FieldOutcome:
		if hashtrail.Outcome(s).Valid() {
			return ""
		}
		return "is not an outcome (" + list(hashtrail.Outcomes) + ")"
	case FieldIP:
		if _, err := hashtrail.ParseIPFilter(s); err != nil {
			return "is not an IP address or CIDR prefix such as 203.0.113.0/24"
		}
		return ""
	case FieldCountry:
		if countryRE.MatchString(s) {
			return ""
		}
		return "is not a two-letter country code such as DE"
	case FieldTag:
		if s != "" && !(isPrefix && prefix == "") {
			return ""
		}
		return "must not be empty"
	case FieldID:
		if isPrefix && prefix != "" || !isPrefix && hashtrail.ValidEventID(s) {
			return ""
		}
		return "is not an event id"
	}
	return "" // meta: any value
}

// cutOp splits a leading comparison off s.
func cutOp(s string) (op, rest string) {
	for _, op := range []string{OpGE, OpLE, OpGT, OpLT} {
		if r, ok := strings.CutPrefix(s, op); ok {
			return op, r
		}
	}
	return OpEq, s
}

// severities returns the severities that op v selects.
func severities(op, v string) []string {
	r := hashtrail.Severity(v).Rank()
	var out []hashtrail.Severity
	switch op {
	case OpGE:
		out = hashtrail.Severities[r:]
	case OpGT:
		out = hashtrail.Severities[r+1:]
	case OpLE:
		out = hashtrail.Severities[:r+1]
	case OpLT:
		out = hashtrail.Severities[:r]
	default:
		out = hashtrail.Severities[r : r+1]
	}
	s := make([]string, len(out))
	for i, v := range out {
		s[i] = string(v)
	}
	return s
}

// checkCreated checks a created: term.
func (p *parser) checkCreated(t *Term, off int, vals []value) error {
	if t.Not {
		return p.fail(off-1, "created: cannot be negated; use created:< or created:> instead")
	}
	if len(vals) != 1 {
		return p.fail(vals[1].off-1, "created: takes one time or range, not a list")
	}
	v := vals[0]
	op, rest := cutOp(v.s)
	if op != OpEq {
		if _, _, err := timeBounds(rest); err != nil {
			return p.fail(v.off+len(op), "created: %s", err)
		}
		t.Op, t.Values = op, []string{rest}
		return nil
	}
	a, b, isRange := strings.Cut(v.s, "..")
	if !isRange {
		if _, _, err := timeBounds(v.s); err != nil {
			return p.fail(v.off, "created: %s", err)
		}
		t.Values = []string{v.s}
		return nil
	}
	var lo, hi time.Time
	if a != "*" {
		l, _, err := timeBounds(a)
		if err != nil {
			return p.fail(v.off, "created: %s", err)
		}
		lo = l
	}
	if b != "*" {
		_, h, err := timeBounds(b)
		if err != nil {
			return p.fail(v.off+len(a)+2, "created: %s", err)
		}
		hi = h
	}
	switch {
	case a == "*" && b == "*":
		return p.fail(v.off, "created: *..* bounds nothing; leave created: out")
	case a != "*" && b != "*" && !lo.Before(hi):
		return p.fail(v.off, "created: the range ends before it starts")
	}
	t.Op, t.Values = OpRange, []string{a, b}
	return nil
}

// timeBounds reads a date (the whole UTC day) or an RFC 3339 time (that
// microsecond) as the half-open interval [lo, hi).
func timeBounds(s string) (lo, hi time.Time, err error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil && len(s) == len(time.DateOnly) {
		return d, d.AddDate(0, 0, 1), nil
	}
	t, err := hashtrail.ParseTime(s)
	if err != nil || t.Year() > 9999 {
		return time.Time{}, time.Time{}, &badTime{s}
	}
	return t.Time, t.Add(time.Microsecond), nil
}

type badTime struct{ s string }

func (e *badTime) Error() string {
	return fmt.Sprintf("%.40q is not a date (2026-01-02) or an RFC 3339 time (2026-01-02T15:04:05Z)", e.s)
}

// list writes an enum's values as "a, b, c".
func list[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, v := range all {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
