package hashtrail

import (
	"strings"
	"unicode"
)

// TermField names what a Term matches.
type TermField string

// The fields a Term can match. The exact meaning of each value, as every
// store must implement it (store/storetest.RunSearch checks it):
//
//   - TermAction: the action, exactly ("user.login"); a value ending in "*"
//     is a prefix ("user.*", "user.log*").
//   - TermActor: "type:id" is the actor's key (Event.ActorKey) exactly, so
//     "email:<address>" finds an actor known only by address; a value with
//     "@" and no ":" is actor.email, case-insensitively; a value ending in
//     "*" is a prefix of the key ("user:*"), or of the email when it has an
//     "@" and no ":".
//   - TermActorType: actor.type exactly.
//   - TermTarget: "type:id" (Target.Key) of any of the event's targets,
//     exactly, or a prefix ending in "*"; a negated target term keeps the
//     events none of whose targets match.
//   - TermTargetType: the type of any target, exactly.
//   - TermCategory, TermOutcome: the enum value exactly.
//   - TermSeverity: the severity exactly (the query package expands
//     ">=high" into "high", "critical").
//   - TermIP: context.ip within an address or CIDR prefix as ParseIPFilter
//     reads it (IPv4-mapped IPv6 addresses count as IPv4).
//   - TermCountry: context.location.country, an ISO 3166-1 alpha-2 code,
//     case-insensitively.
//   - TermTag: any of the event's tags, exactly (case-sensitive), or a
//     prefix ending in "*".
//   - TermMeta: the metadata member at the dotted path Key ("plan",
//     "billing.plan"; each part a member name): a string member equal to
//     the value (case-sensitive; a value ending in "*" is a prefix), a
//     number numerically equal to it, "true", "false" or "null" for those
//     literals. Arrays and objects never match a value.
//   - TermID: the event id exactly, or a prefix ending in "*".
//   - TermText: free text. Each value is a word, a phrase of several
//     words, or a word ending in "*" (a prefix of a word). Words are cut
//     by SearchTokens (maximal runs of letters and digits, compared
//     case-insensitively), and a phrase matches when its words occur in
//     sequence. The text searched is the event's description, actor name,
//     actor email, impersonator name, target names, and the string and
//     number values of its metadata (at any depth). Personal values among
//     them are searchable until erased, never after.
//
// For every field but TermText and TermMeta, the value "*" alone means
// "present": the field is set (an action always is; an event with any
// target; any tag...). Negated, it means absent. TermMeta "*" means the
// member exists.
const (
	TermAction     TermField = "action"
	TermActor      TermField = "actor"
	TermActorType  TermField = "actor.type"
	TermTarget     TermField = "target"
	TermTargetType TermField = "target.type"
	TermCategory   TermField = "category"
	TermSeverity   TermField = "severity"
	TermOutcome    TermField = "outcome"
	TermIP         TermField = "ip"
	TermCountry    TermField = "country"
	TermTag        TermField = "tag"
	TermMeta       TermField = "meta"
	TermID         TermField = "id"
	TermText       TermField = "text"
)

// Term is one condition of a Query: the event's Field matches at least one
// of Values (OR), or, with Not, none of them. Values is never empty.
type Term struct {
	Field TermField
	// Key is the metadata member path of TermMeta, dotted ("billing.plan").
	Key    string
	Values []string
	Not    bool
}

// AllTerms returns every condition of q as terms: the typed filters
// (Actions, Categories, MinSeverity, Outcomes, Actor, Target, IP) first,
// then q.Terms. Since, Until and the seq bounds are not terms. A store
// that translates AllTerms (and those bounds) implements all of Query.
func (q *Query) AllTerms() []Term {
	var ts []Term
	if len(q.Actions) > 0 {
		ts = append(ts, Term{Field: TermAction, Values: q.Actions})
	}
	if len(q.Categories) > 0 {
		ts = append(ts, Term{Field: TermCategory, Values: enumStrings(q.Categories)})
	}
	if q.MinSeverity != "" {
		ts = append(ts, Term{Field: TermSeverity, Values: SeveritiesFrom(q.MinSeverity)})
	}
	if len(q.Outcomes) > 0 {
		ts = append(ts, Term{Field: TermOutcome, Values: enumStrings(q.Outcomes)})
	}
	if q.Actor != "" {
		ts = append(ts, Term{Field: TermActor, Values: []string{q.Actor}})
	}
	if q.Target != "" {
		ts = append(ts, Term{Field: TermTarget, Values: []string{q.Target}})
	}
	if q.IP.IsValid() {
		ts = append(ts, Term{Field: TermIP, Values: []string{q.IP.Masked().String()}})
	}
	return append(ts, q.Terms...)
}

// SeveritiesFrom returns the severities at or above min, as strings; an
// unknown min gives none.
func SeveritiesFrom(min Severity) []string {
	r := min.Rank()
	if r < 0 {
		return []string{}
	}
	return enumStrings(Severities[r:])
}

func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// SearchTokens cuts s into the words free text is matched by: maximal runs
// of letters and digits, lower-cased. "Alice@Example.com" gives "alice",
// "example", "com". Stores index and search with these words.
func SearchTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}
