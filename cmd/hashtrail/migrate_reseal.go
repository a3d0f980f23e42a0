package main

import (
	"errors"
	"fmt"
	"slices"

	hashtrail "github.com/hashtrail/hashtrail"
)

// reseal returns the entry that seals a stored event again to the same
// leaf: its salts, the personal change fields its leaf was made with, its
// content hash. It refuses an event whose personal values were erased.
func reseal(e *hashtrail.Event, contentHash []byte) (*hashtrail.Entry, error) {
	if contentHash == nil {
		return nil, fmt.Errorf("event %s (seq %d) has no content hash in the source", e.ID, e.Seq)
	}
	salts := make(map[string][]byte, len(e.PII))
	for role, c := range e.PII {
		if c.Erased || c.Salt == nil {
			return nil, fmt.Errorf("event %s (seq %d): the personal values of %s were erased; logs with erasures cannot be copied yet", e.ID, e.Seq, role)
		}
		salts[role] = c.Salt
	}
	ev := *e // Seq stays: it is in the leaf; the store assigns it again
	ev.PII, ev.LeafHash = nil, ""
	fields, err := personalFieldsOf(&ev, salts, e.LeafHash)
	if err != nil {
		return nil, fmt.Errorf("event %s (seq %d): %w", e.ID, e.Seq, err)
	}
	return &hashtrail.Entry{Event: &ev, ContentHash: contentHash, Salts: salts, PersonalFields: fields}, nil
}

// personalFieldsOf finds the personal change fields the event's leaf was
// sealed with: the default set, or else the subset of its change fields
// whose leaf hash is want (the tenant's set may have differed; only fields
// the event has matter).
func personalFieldsOf(e *hashtrail.Event, salts map[string][]byte, want string) ([]string, error) {
	try := func(fields []string) (bool, error) {
		leaf, _, err := hashtrail.EncodeLeaf(e, salts, fields)
		if err != nil {
			return false, err
		}
		return hashtrail.LeafHash(leaf) == want, nil
	}
	if ok, err := try(nil); err != nil || ok {
		return nil, err
	}
	var names []string
	for _, c := range e.Changes {
		if !slices.Contains(names, c.Field) {
			names = append(names, c.Field)
		}
	}
	if len(names) <= 10 {
		for mask := 0; mask < 1<<len(names); mask++ {
			fields := []string{}
			for i, n := range names {
				if mask&(1<<i) != 0 {
					fields = append(fields, n)
				}
			}
			if ok, err := try(fields); err != nil || ok {
				return fields, err
			}
		}
	}
	return nil, errors.New("its leaf cannot be sealed again to the stored leaf hash (is the source damaged? hashtrail verify tells)")
}
