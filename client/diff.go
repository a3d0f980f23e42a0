package client

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// firstDiff returns the RFC 6901 JSON Pointer of the first member where two
// leaves differ ("" for the whole document), or "" when they cannot be read.
// Object members are compared in sorted order, as the leaf writes them.
func firstDiff(want, got []byte) string {
	a, errA := decodeJSON(want)
	b, errB := decodeJSON(got)
	if errA != nil || errB != nil {
		return ""
	}
	p, _ := diffValue("", a, b)
	if p == "" {
		return "/"
	}
	return p
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// diffValue returns the pointer of the first difference below path, and
// whether there is one.
func diffValue(path string, a, b any) (string, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return path, true
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			va, okA := x[k]
			vb, okB := y[k]
			p := path + "/" + escapePointer(k)
			if okA != okB {
				return p, true
			}
			if q, ok := diffValue(p, va, vb); ok {
				return q, true
			}
		}
		return "", false
	case []any:
		y, ok := b.([]any)
		if !ok {
			return path, true
		}
		for i := range max(len(x), len(y)) {
			p := path + "/" + strconv.Itoa(i)
			if i >= len(x) || i >= len(y) {
				return p, true
			}
			if q, ok := diffValue(p, x[i], y[i]); ok {
				return q, true
			}
		}
		return "", false
	default:
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			return path, true
		}
		return "", false
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
