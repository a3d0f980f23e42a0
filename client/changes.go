package client

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// DiffOption configures Diff.
type DiffOption func(*differ)

// DiffSecret treats these fields as secret too: each is a dotted path (such
// as "settings.pin") or a bare name matched at any depth, compared without
// regard to case.
func DiffSecret(fields ...string) DiffOption {
	return func(d *differ) {
		for _, f := range fields {
			d.secret[strings.ToLower(f)] = true
		}
	}
}

// DiffSkip leaves these fields out: dotted paths or bare names, as
// DiffSecret.
func DiffSkip(fields ...string) DiffOption {
	return func(d *differ) {
		for _, f := range fields {
			d.skip[strings.ToLower(f)] = true
		}
	}
}

// DiffAll records every field of old and new, changed or not (default: only
// the changed ones).
func DiffAll() DiffOption { return func(d *differ) { d.all = true } }

// Diff returns the changes from old to new, two structs or maps (or
// pointers to them; nil is an empty object), as the event's changes:
//
//   - Fields are named as encoding/json names them: the json tag's name,
//     else the Go name; `json:"-"`, unexported fields and fields tagged
//     `audit:"-"` are left out; embedded structs are flattened.
//   - Nested structs and maps with string keys are walked: a change deep
//     inside is one Change whose Field is the dotted path, such as
//     "address.city". Anything else (numbers, strings, slices, types with
//     their own JSON or text encoding such as time.Time) is one value,
//     compared by its JSON encoding.
//   - A field present on one side only has no Old (added) or no New
//     (removed); a nil pointer is null.
//   - A secret field is recorded, when it changed, as {field, redacted:
//     true} with neither value; inside a secret nothing else is looked at.
//     A field is secret when tagged `audit:"secret"`, named in DiffSecret,
//     or when its name looks secret (hashtrail.SecretName, the rule
//     `hashtrail run` redacts arguments and environment variables by).
//
// Changes come in field order (struct order; map keys sorted).
func Diff(old, new any, opts ...DiffOption) []hashtrail.Change {
	d := &differ{secret: map[string]bool{}, skip: map[string]bool{}}
	for _, o := range opts {
		o(d)
	}
	d.walk("", value{v: reflect.ValueOf(old), present: true}, value{v: reflect.ValueOf(new), present: true}, false)
	return d.out
}

type differ struct {
	secret, skip map[string]bool
	all          bool
	out          []hashtrail.Change
}

// value is one side of a field: present says whether it exists at all.
type value struct {
	v       reflect.Value
	present bool
}

// field is one member of an object.
type field struct {
	name   string
	v      reflect.Value
	secret bool // tagged audit:"secret"
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// deref follows pointers and interfaces; the result is invalid for nil.
func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// isObject reports whether v is walked field by field.
func isObject(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	t := v.Type()
	if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Map:
		return t.Key().Kind() == reflect.String
	}
	return false
}

func (d *differ) walk(path string, a, b value, secret bool) {
	if !secret {
		av, bv := deref(a.v), deref(b.v)
		ao, bo := isObject(av), isObject(bv)
		if (ao || bo) && (ao || !av.IsValid()) && (bo || !bv.IsValid()) {
			d.object(path, av, bv)
			return
		}
	}
	ea, eb := encodeSide(a), encodeSide(b)
	if a.present == b.present && bytes.Equal(ea, eb) && !d.all {
		return
	}
	if secret {
		d.out = append(d.out, hashtrail.Change{Field: path, Redacted: true})
		return
	}
	d.out = append(d.out, hashtrail.Change{Field: path, Old: ea, New: eb})
}

// object walks the members of two objects (either may be nil or absent).
func (d *differ) object(path string, a, b reflect.Value) {
	af, bf := fields(a), fields(b)
	names := make([]string, 0, len(af)+len(bf))
	seen := map[string]bool{}
	for _, list := range [][]field{af, bf} {
		for _, f := range list {
			if !seen[f.name] {
				seen[f.name] = true
				names = append(names, f.name)
			}
		}
	}
	find := func(list []field, name string) (field, bool) {
		for _, f := range list {
			if f.name == name {
				return f, true
			}
		}
		return field{}, false
	}
	for _, name := range names {
		p := name
		if path != "" {
			p = path + "." + name
		}
		if d.matches(d.skip, p, name) {
			continue
		}
		fa, okA := find(af, name)
		fb, okB := find(bf, name)
		secret := fa.secret || fb.secret || d.matches(d.secret, p, name) || hashtrail.SecretName(name)
		d.walk(p, value{fa.v, okA}, value{fb.v, okB}, secret)
	}
}

func (d *differ) matches(set map[string]bool, path, name string) bool {
	if len(set) == 0 {
		return false
	}
	return set[strings.ToLower(path)] || set[strings.ToLower(name)]
}

// fields lists the members of a struct (as encoding/json names them) or of
// a map (keys sorted).
func fields(v reflect.Value) []field {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Map {
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
		out := make([]field, 0, len(keys))
		for _, k := range keys {
			out = append(out, field{name: k.String(), v: v.MapIndex(k)})
		}
		return out
	}
	var out []field
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		audit := sf.Tag.Get("audit")
		if audit == "-" {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if inner := deref(fv); inner.IsValid() {
					for _, f := range fields(inner) {
						f.secret = f.secret || audit == "secret"
						out = append(out, f)
					}
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, v: fv, secret: audit == "secret"})
	}
	return out
}

// encodeSide is a side's JSON, nil when absent.
func encodeSide(s value) json.RawMessage {
	if !s.present {
		return nil
	}
	if !s.v.IsValid() {
		return json.RawMessage("null")
	}
	if s.v.Kind() == reflect.Interface || s.v.Kind() == reflect.Pointer {
		if s.v.IsNil() {
			return json.RawMessage("null")
		}
	}
	b, err := json.Marshal(s.v.Interface())
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}
