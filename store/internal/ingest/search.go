package ingest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/hashtrail/hashtrail"
)

// SearchText returns the free-text document of an event read whole (with
// its personal values): description, actor name, email and impersonator
// name, target names, and the string and number values of its metadata at
// any depth, one per line. hashtrail.TermText documents this list; every
// store indexes exactly this text, cut into words by hashtrail.SearchTokens.
func SearchText(e *hashtrail.Event) string {
	var b strings.Builder
	add := func(s string) {
		if s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	add(e.Description)
	if a := e.Actor; a != nil {
		add(a.Name)
		add(a.Email)
		if a.Impersonator != nil {
			add(a.Impersonator.Name)
		}
	}
	for _, t := range e.Targets {
		add(t.Name)
	}
	if len(e.Metadata) > 0 {
		d := json.NewDecoder(bytes.NewReader(e.Metadata))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			metaText(v, add)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// metaText adds the string and number values in v, at any depth.
func metaText(v any, add func(string)) {
	switch v := v.(type) {
	case string:
		add(v)
	case json.Number:
		add(v.String())
	case []any:
		for _, x := range v {
			metaText(x, add)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			metaText(v[k], add)
		}
	}
}
