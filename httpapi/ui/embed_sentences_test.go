package ui

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestEmbedSentences keeps the embeddable viewer's copy of the sentence
// table (static/embed.js, between the sentences:begin and sentences:end
// markers) equal to the UI's, so the embed tells events as the UI does.
func TestEmbedSentences(t *testing.T) {
	src, err := staticFS.ReadFile("static/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "/* sentences:begin */")
	table, _, ok2 := strings.Cut(rest, "/* sentences:end */")
	if !ok || !ok2 {
		t.Fatal("embed.js has no sentences:begin/end markers")
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(table), &got); err != nil {
		t.Fatalf("embed.js's sentence table is not JSON: %v", err)
	}
	if !maps.Equal(got, sentences) {
		for _, k := range slices.Sorted(maps.Keys(sentences)) {
			if got[k] != sentences[k] {
				t.Errorf("%s: embed.js says %q, the UI %q", k, got[k], sentences[k])
			}
		}
		for k := range got {
			if _, ok := sentences[k]; !ok {
				t.Errorf("%s: in embed.js only", k)
			}
		}
	}
}
