// Package query reads and writes the search syntax of DESIGN §4 and turns a
// search into conditions of a hashtrail.Query, which every store translates.
//
//	action:user.login actor:alice@example.com -outcome:success target:project:7
//	created:>=2026-01-01 ip:203.0.113.0/24 "free text"
//
// A search is a list of terms separated by white space, all of which must
// hold (AND). A term is a qualifier and its values (field:value), or free
// text: a bare word or a "quoted phrase". A leading "-" negates a term.
// Commas separate alternatives within a qualifier (action:user.login,user.logout
// is one or the other). A value ending in "*" is a prefix where the field
// allows it (action:user.*, tag:team-*, a word such as pay*), and "*" alone
// means the field is present. Values holding spaces or commas are quoted
// ("..." with \" and \\ as escapes).
//
// The qualifiers, and what each matches, are those of hashtrail.TermField
// plus created:, which bounds the event's time: created:>=2026-01-01,
// created:<2026-02-01T12:00:00Z, created:2026-01-01..2026-01-31 (both days
// included), created:2026-01-05 (that day, UTC), with * for an open end.
// severity: takes comparisons as well (severity:>=high). meta.KEY: matches
// a metadata member by its dotted path (meta.billing.plan:pro). docs/search.md
// is the user's guide.
//
// Parse never panics, reports the first problem with its 1-based position
// in characters, and Format writes a search back in canonical form, such
// that Parse(Format(s)) equals s: searches can be stored as text (saved
// searches, viewer-token filters, sink filters). The package is pure.
package query

import (
	"fmt"

	"github.com/hashtrail/hashtrail"
)

// Limits of a search, so that one request cannot ask for unbounded work.
const (
	MaxLength = 4096 // bytes of search text
	MaxTerms  = 64   // terms in a search
	MaxValues = 100  // alternatives in one term
)

// Qualifiers of the syntax (Term.Field); free text has Field "".
const (
	FieldAction     = "action"
	FieldActor      = "actor"
	FieldActorType  = "actor.type"
	FieldTarget     = "target"
	FieldTargetType = "target.type"
	FieldCategory   = "category"
	FieldSeverity   = "severity"
	FieldOutcome    = "outcome"
	FieldIP         = "ip"
	FieldCountry    = "country"
	FieldCreated    = "created"
	FieldTag        = "tag"
	FieldID         = "id"
	FieldMeta       = "meta"
	FieldText       = ""
)

// qualifiers lists the qualifiers by name (meta.KEY aside), for lookups and
// suggestions.
var qualifiers = []string{
	FieldAction, FieldActor, FieldActorType, FieldTarget, FieldTargetType, FieldCategory,
	FieldSeverity, FieldOutcome, FieldIP, FieldCountry, FieldCreated, FieldTag, FieldID,
}

// Comparison operators of severity: and created:.
const (
	OpEq    = ""
	OpGT    = ">"
	OpGE    = ">="
	OpLT    = "<"
	OpLE    = "<="
	OpRange = ".." // created:A..B: Values holds A and B ("*" for an open end)
)

// Search is a parsed search: its terms in the order written.
type Search struct {
	Terms []Term
}

// Term is one term as written (values as given, not normalised, so that
// Format gives back the same search).
type Term struct {
	Not   bool
	Field string // a qualifier, FieldMeta, or FieldText for free text
	Key   string // the member path of FieldMeta ("billing.plan")
	Op    string // OpEq, or a comparison of severity: and created:
	// Values are the alternatives (OR); free text has one value, a word or
	// a phrase; OpRange has two.
	Values []string
}

// Parse reads a search. Errors are *hashtrail.Error EINVALID naming the
// field "q" with the position and the problem.
func Parse(s string) (*Search, error) { return ParseField("q", s) }

// ParseField is Parse for a search given as something other than the q
// parameter: its errors name field instead (a viewer token's "filter").
func ParseField(field, s string) (*Search, error) {
	p := &parser{s: s}
	if err := p.parse(); err != nil {
		return nil, &hashtrail.Error{Code: hashtrail.EINVALID, Message: "the search is malformed",
			Fields: []hashtrail.FieldError{{Field: field, Message: err.Error()}}}
	}
	return &Search{Terms: p.terms}, nil
}

// posError is a problem at a byte offset of the search.
type posError struct {
	s   string
	off int
	msg string
}

func (e *posError) Error() string {
	return fmt.Sprintf("position %d: %s", runePos(e.s, e.off), e.msg)
}

// runePos returns the 1-based character position of byte offset off of s.
func runePos(s string, off int) int {
	n := 1
	for i := range s {
		if i >= off {
			break
		}
		n++
	}
	return n
}
