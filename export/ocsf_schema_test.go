package export_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ocsfSchemaDir is the OCSF schema kept beside the project (the OCSF
// schema repository's JSON files, see its README); the tests that need it
// are skipped where it is absent.
const ocsfSchemaDir = "../../shared/vectors/ocsf-schema"

// ocsfAttr is one attribute as a class, object or the dictionary defines it.
type ocsfAttr struct {
	Type        string                     `json:"type"`
	IsArray     bool                       `json:"is_array"`
	Requirement string                     `json:"requirement"`
	Enum        map[string]json.RawMessage `json:"enum"`
	ObjectType  string                     `json:"object_type"`
}

// ocsfDef is an event class or an object file.
type ocsfDef struct {
	Name        string                     `json:"name"`
	UID         *int                       `json:"uid"`
	Extends     string                     `json:"extends"`
	Category    string                     `json:"category"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Constraints struct {
		AtLeastOne []string `json:"at_least_one"`
		JustOne    []string `json:"just_one"`
	} `json:"constraints"`
}

// ocsfSchema is the schema resolved enough to validate produced events:
// every class and object with its attributes (inherited and included).
type ocsfSchema struct {
	dict    map[string]ocsfAttr
	classes map[int]*resolved // by class_uid
	objects map[string]*resolved
}

type resolved struct {
	name       string
	attrs      map[string]ocsfAttr
	atLeastOne []string
}

var (
	schemaOnce sync.Once
	schema     *ocsfSchema
	schemaErr  error
)

func loadSchema(t testing.TB) *ocsfSchema {
	t.Helper()
	if _, err := os.Stat(ocsfSchemaDir); err != nil {
		t.Skip("no OCSF schema at", ocsfSchemaDir)
	}
	schemaOnce.Do(func() { schema, schemaErr = readSchema(ocsfSchemaDir) })
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schema
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readSchema(dir string) (*ocsfSchema, error) {
	s := &ocsfSchema{dict: map[string]ocsfAttr{}, classes: map[int]*resolved{}, objects: map[string]*resolved{}}
	var dict struct {
		Attributes map[string]ocsfAttr `json:"attributes"`
	}
	if err := readJSONFile(filepath.Join(dir, "dictionary.json"), &dict); err != nil {
		return nil, err
	}
	s.dict = dict.Attributes
	var cats struct {
		Attributes map[string]struct {
			UID int `json:"uid"`
		} `json:"attributes"`
	}
	if err := readJSONFile(filepath.Join(dir, "categories.json"), &cats); err != nil {
		return nil, err
	}
	// Event definitions by name (classes and abstract parents).
	events := map[string]*ocsfDef{}
	catOf := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "events", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "events", "*", "*.json"))
	for _, f := range append(files, more...) {
		var d ocsfDef
		if err := readJSONFile(f, &d); err != nil {
			return nil, err
		}
		events[d.Name] = &d
		catOf[d.Name] = filepath.Base(filepath.Dir(f))
	}
	objects := map[string]*ocsfDef{}
	files, _ = filepath.Glob(filepath.Join(dir, "objects", "*.json"))
	for _, f := range files {
		var d ocsfDef
		if err := readJSONFile(f, &d); err != nil {
			return nil, err
		}
		objects[d.Name] = &d
	}
	var resolve func(defs map[string]*ocsfDef, name string) (*resolved, error)
	resolve = func(defs map[string]*ocsfDef, name string) (*resolved, error) {
		d := defs[name]
		if d == nil {
			return nil, fmt.Errorf("no definition %q", name)
		}
		r := &resolved{name: name, attrs: map[string]ocsfAttr{}}
		if d.Extends != "" && d.Extends != "object" {
			p, err := resolve(defs, d.Extends)
			if err != nil {
				return nil, err
			}
			for k, v := range p.attrs {
				r.attrs[k] = v
			}
			r.atLeastOne = p.atLeastOne
		}
		if d.Constraints.AtLeastOne != nil {
			r.atLeastOne = d.Constraints.AtLeastOne
		}
		for k, raw := range d.Attributes {
			if k == "$include" {
				var inc []string
				if err := json.Unmarshal(raw, &inc); err != nil {
					return nil, err
				}
				for _, p := range inc {
					var prof ocsfDef
					if err := readJSONFile(filepath.Join(dir, p), &prof); err != nil {
						return nil, err
					}
					for pk, praw := range prof.Attributes {
						var a ocsfAttr
						if json.Unmarshal(praw, &a) == nil {
							if _, ok := r.attrs[pk]; !ok {
								a.Requirement = "optional" // a profile's attributes are optional unless the profile is applied
								r.attrs[pk] = a
							}
						}
					}
				}
				continue
			}
			var a ocsfAttr
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", name, k, err)
			}
			prev, had := r.attrs[k]
			if had {
				if a.Requirement == "" {
					a.Requirement = prev.Requirement
				}
				if a.Enum == nil {
					a.Enum = prev.Enum
				}
				if a.Type == "" {
					a.Type = prev.Type
				}
			}
			r.attrs[k] = a
		}
		return r, nil
	}
	for name, d := range events {
		if d.UID == nil {
			continue
		}
		cat, ok := cats.Attributes[catOf[name]]
		if !ok {
			continue
		}
		r, err := resolve(events, name)
		if err != nil {
			return nil, err
		}
		s.classes[cat.UID*1000+*d.UID] = r
	}
	for name := range objects {
		r, err := resolve(objects, name)
		if err != nil {
			return nil, err
		}
		s.objects[name] = r
	}
	return s, nil
}

// attrType returns an attribute's type and enum, from its definition or the dictionary.
func (s *ocsfSchema) attrType(name string, a ocsfAttr) (typ string, isArray bool, enum map[string]json.RawMessage) {
	d := s.dict[name]
	typ, isArray, enum = a.Type, a.IsArray || d.IsArray, a.Enum
	if typ == "" {
		typ = d.Type
	}
	if typ == "object_t" && d.ObjectType != "" {
		typ = d.ObjectType
	}
	if a.ObjectType != "" {
		typ = a.ObjectType
	}
	if a.Enum != nil && d.Enum != nil { // a class's values add to the dictionary's
		enum = map[string]json.RawMessage{}
		for k, v := range d.Enum {
			enum[k] = v
		}
		for k, v := range a.Enum {
			enum[k] = v
		}
	} else if enum == nil {
		enum = d.Enum
	}
	switch name {
	case "class_uid", "category_uid", "type_uid": // checked against the class in validateEvent
		enum = nil
	}
	return typ, isArray, enum
}

// validateEvent checks one produced OCSF event against the schema: the
// class exists, type_uid and category_uid agree with it, every required
// attribute is present, every attribute name exists in the class or
// object, enums hold valid values, and objects meet their at-least-one
// constraints. It returns every problem.
func (s *ocsfSchema) validateEvent(ev map[string]any) []string {
	var errs []string
	uid, _ := ev["class_uid"].(float64)
	c := s.classes[int(uid)]
	if c == nil {
		return []string{fmt.Sprintf("class_uid %v does not exist", ev["class_uid"])}
	}
	act, _ := ev["activity_id"].(float64)
	if tu, _ := ev["type_uid"].(float64); int(tu) != int(uid)*100+int(act) {
		errs = append(errs, fmt.Sprintf("type_uid %v is not class_uid*100+activity_id", ev["type_uid"]))
	}
	if cu, _ := ev["category_uid"].(float64); int(cu) != int(uid)/1000 {
		errs = append(errs, fmt.Sprintf("category_uid %v does not match class %v", ev["category_uid"], uid))
	}
	s.validateObject(c, ev, c.name, &errs)
	return errs
}

func (s *ocsfSchema) validateObject(r *resolved, obj map[string]any, path string, errs *[]string) {
	for name, a := range r.attrs {
		if a.Requirement == "required" {
			if _, ok := obj[name]; !ok {
				*errs = append(*errs, fmt.Sprintf("%s: required attribute %s is missing", path, name))
			}
		}
	}
	if len(r.atLeastOne) > 0 && !slices.ContainsFunc(r.atLeastOne, func(n string) bool { _, ok := obj[n]; return ok }) {
		*errs = append(*errs, fmt.Sprintf("%s: needs at least one of %s", path, strings.Join(r.atLeastOne, ", ")))
	}
	for name, v := range obj {
		a, ok := r.attrs[name]
		if !ok {
			*errs = append(*errs, fmt.Sprintf("%s: attribute %s does not exist in %s", path, name, r.name))
			continue
		}
		typ, isArray, enum := s.attrType(name, a)
		p := path + "." + name
		vals := []any{v}
		if isArray {
			arr, ok := v.([]any)
			if !ok {
				*errs = append(*errs, fmt.Sprintf("%s: must be an array", p))
				continue
			}
			vals = arr
		}
		for i, v := range vals {
			pi := p
			if isArray {
				pi = fmt.Sprintf("%s[%d]", p, i)
			}
			if enum != nil && typ != "string_t" {
				n, ok := v.(float64)
				if _, in := enum[strconv.Itoa(int(n))]; !ok || !in {
					*errs = append(*errs, fmt.Sprintf("%s: %v is not in its enum", pi, v))
				}
			}
			if typ == "object" { // free-form, as unmapped
				continue
			}
			if o := s.objects[typ]; o != nil {
				m, ok := v.(map[string]any)
				if !ok {
					*errs = append(*errs, fmt.Sprintf("%s: must be an object (%s)", pi, typ))
					continue
				}
				s.validateObject(o, m, pi, errs)
			} else if typ != "json_t" && typ != "object" {
				if _, isObj := v.(map[string]any); isObj {
					*errs = append(*errs, fmt.Sprintf("%s: an object where %s is expected", pi, typ))
				}
			}
		}
	}
}

// TestValidatorCatches checks that the schema validator is not vacuous:
// a missing required attribute, an unknown one, a bad enum value, an
// unknown object member and a wrong type_uid are each reported.
func TestValidatorCatches(t *testing.T) {
	s := loadSchema(t)
	good := func() map[string]any {
		return map[string]any{
			"class_uid": 3002.0, "category_uid": 3.0, "activity_id": 1.0, "type_uid": 300201.0, "severity_id": 1.0,
			"time": 1.0, "metadata": map[string]any{"version": "1.8.0", "product": map[string]any{"name": "Hashtrail"}},
			"user": map[string]any{"uid": "42"}, "service": map[string]any{"name": "app"},
		}
	}
	if errs := s.validateEvent(good()); len(errs) > 0 {
		t.Fatalf("a valid event is refused: %v", errs)
	}
	for name, spoil := range map[string]func(map[string]any){
		"missing user":   func(m map[string]any) { delete(m, "user") },
		"unknown attr":   func(m map[string]any) { m["colour"] = "red" },
		"bad enum":       func(m map[string]any) { m["severity_id"] = 42.0 },
		"bad member":     func(m map[string]any) { m["user"] = map[string]any{"uid": "1", "shoe_size": 9.0} },
		"bad type_uid":   func(m map[string]any) { m["type_uid"] = 300202.0 },
		"empty user":     func(m map[string]any) { m["user"] = map[string]any{} },
		"bad class":      func(m map[string]any) { m["class_uid"] = 3999.0 },
		"metadata short": func(m map[string]any) { delete(m["metadata"].(map[string]any), "product") },
	} {
		m := good()
		spoil(m)
		if errs := s.validateEvent(m); len(errs) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
}
