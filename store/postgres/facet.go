package postgres

import (
	"fmt"
	"slices"

	"github.com/hashtrail/hashtrail"
)

// outcomes lists the outcomes in the order of their facet code.
var outcomes = []hashtrail.Outcome{hashtrail.OutcomeSuccess, hashtrail.OutcomeFailure, hashtrail.OutcomeUnknown}

// Facet code factors (see events.facet in migrations/0001_init.sql).
const (
	facetCategory = 15 // len(Severities) * len(outcomes)
	facetSeverity = 3  // len(outcomes)
)

// facetOf returns the facet code of e: category * 15 + severity * 3 + outcome.
func facetOf(e *hashtrail.Event) (int16, error) {
	c := slices.Index(hashtrail.Categories, e.Category)
	s := e.Severity.Rank()
	o := slices.Index(outcomes, e.Outcome)
	if c < 0 || s < 0 || o < 0 {
		return 0, hashtrail.Errorf(hashtrail.EINVALID, "event %q: unknown category, severity or outcome (%q, %q, %q)",
			e.ID, e.Category, e.Severity, e.Outcome)
	}
	return int16(c*facetCategory + s*facetSeverity + o), nil
}

// unfacet sets e's category, severity and outcome from facet code f.
func unfacet(f int16, e *hashtrail.Event) error {
	c, s, o := int(f)/facetCategory, int(f)%facetCategory/facetSeverity, int(f)%facetSeverity
	if f < 0 || c >= len(hashtrail.Categories) || s >= len(hashtrail.Severities) {
		return fmt.Errorf("postgres: event %s: facet %d out of range", e.ID, f)
	}
	e.Category, e.Severity, e.Outcome = hashtrail.Categories[c], hashtrail.Severities[s], outcomes[o]
	return nil
}

// facetCodes returns the facet codes that match the category, minimum
// severity and outcome filters of q, and whether any of them is set. An
// empty list with set true matches nothing.
func facetCodes(q *hashtrail.Query) (codes []int16, set bool, err error) {
	minSev := 0
	if q.MinSeverity != "" {
		if minSev = q.MinSeverity.Rank(); minSev < 0 {
			return nil, false, hashtrail.Errorf(hashtrail.EINVALID, "unknown severity %q", q.MinSeverity)
		}
	}
	if len(q.Categories) == 0 && minSev == 0 && len(q.Outcomes) == 0 {
		return nil, false, nil
	}
	codes = []int16{}
	for c, cat := range hashtrail.Categories {
		if len(q.Categories) > 0 && !slices.Contains(q.Categories, cat) {
			continue
		}
		for s := minSev; s < len(hashtrail.Severities); s++ {
			for o, out := range outcomes {
				if len(q.Outcomes) > 0 && !slices.Contains(q.Outcomes, out) {
					continue
				}
				codes = append(codes, int16(c*facetCategory+s*facetSeverity+o))
			}
		}
	}
	return codes, true, nil
}
