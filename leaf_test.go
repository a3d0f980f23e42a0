package hashtrail_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

var updateLeaf = flag.Bool("update-leaf", false, "rewrite the outputs of the golden leaf vectors in testdata/leaf")

// leafVector is one file of testdata/leaf; see its README.md.
type leafVector struct {
	Comment        string            `json:"comment"`
	PersonalFields []string          `json:"personal_fields,omitempty"`
	Event          json.RawMessage   `json:"event"`
	Salts          map[string]string `json:"salts"`
	Leaf           string            `json:"leaf"`
	LeafHash       string            `json:"leaf_hash"`
	Roles          []vectorRole      `json:"roles"`
}

type vectorRole struct {
	Role       string                     `json:"role"`
	Subject    string                     `json:"subject,omitempty"`
	Values     map[string]json.RawMessage `json:"values"`
	Commitment string                     `json:"commitment"`
}

func (v *leafVector) event(t *testing.T) *hashtrail.Event {
	t.Helper()
	var e hashtrail.Event
	if err := json.Unmarshal(v.Event, &e); err != nil {
		t.Fatalf("event: %v", err)
	}
	return &e
}

func (v *leafVector) salts(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for role, s := range v.Salts {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("salt of %s: %v", role, err)
		}
		out[role] = b
	}
	return out
}

func leafVectors(t *testing.T) map[string]*leafVector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "leaf", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no leaf vectors: %v", err)
	}
	out := map[string]*leafVector{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v leafVector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = &v
	}
	return out
}

func writeVector(t *testing.T, path string, v *leafVector) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLeafVectors(t *testing.T) {
	for path, v := range leafVectors(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e := v.event(t)
			leaf, roles, err := hashtrail.EncodeLeaf(e, v.salts(t), v.PersonalFields)
			if err != nil {
				t.Fatal(err)
			}
			var got []vectorRole
			for _, r := range roles {
				if _, ok := v.Salts[r.Role]; !ok {
					t.Fatalf("the vector has no salt for role %s", r.Role)
				}
				got = append(got, vectorRole{r.Role, r.Subject, r.Values, r.Commitment})
			}
			if *updateLeaf {
				v.Leaf, v.LeafHash, v.Roles = string(leaf), hashtrail.LeafHash(leaf), got
				writeVector(t, path, v)
				return
			}
			if string(leaf) != v.Leaf {
				t.Errorf("leaf:\n got %s\nwant %s", leaf, v.Leaf)
			}
			if h := hashtrail.LeafHash(leaf); h != v.LeafHash {
				t.Errorf("leaf hash %s, want %s", h, v.LeafHash)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(v.Roles)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("roles:\n got %s\nwant %s", gotJSON, wantJSON)
			}
			checkRebuild(t, e, leaf, roles, v.PersonalFields)
		})
	}
}

// TestLeafVectorsIndependently recomputes each vector's leaf hash and
// commitments from its stated bytes alone: SHA-256 over the leaf, and over
// salt || canonical P_R, where the values are canonical JSON as listed. (The
// leaf's canonical form was checked against an independent implementation
// of the steps and of RFC 8785; see README.md.)
func TestLeafVectorsIndependently(t *testing.T) {
	for path, v := range leafVectors(t) {
		h := sha256.Sum256(append([]byte{0}, v.Leaf...))
		if hex.EncodeToString(h[:]) != v.LeafHash {
			t.Errorf("%s: leaf_hash is not SHA-256(0x00 || leaf)", path)
		}
		if merkle.LeafHash([]byte(v.Leaf)) != merkle.Hash(h) {
			t.Errorf("%s: merkle.LeafHash disagrees", path)
		}
		var leaf map[string]any
		if err := json.Unmarshal([]byte(v.Leaf), &leaf); err != nil {
			t.Fatalf("%s: the leaf is not JSON: %v", path, err)
		}
		pii, _ := leaf["pii"].(map[string]any)
		if len(pii) != len(v.Roles) {
			t.Errorf("%s: the leaf commits to %d roles, the vector lists %d", path, len(pii), len(v.Roles))
		}
		for _, r := range v.Roles {
			salt, _ := hex.DecodeString(v.Salts[r.Role])
			keys := slices.Sorted(maps.Keys(r.Values)) // ASCII pointers: byte order is JCS order
			var p strings.Builder
			p.WriteString("{")
			for i, k := range keys {
				if i > 0 {
					p.WriteString(",")
				}
				kj, _ := json.Marshal(k)
				p.Write(kj)
				p.WriteString(":")
				var val bytes.Buffer // the file indents values that are objects
				json.Compact(&val, r.Values[k])
				p.Write(val.Bytes())
			}
			p.WriteString("}")
			c := sha256.Sum256(append(salt, p.String()...))
			if hex.EncodeToString(c[:]) != r.Commitment || pii[r.Role] != r.Commitment {
				t.Errorf("%s: role %s: commitment %s, leaf has %v, SHA-256(salt || P_R) is %x", path, r.Role, r.Commitment, pii[r.Role], c)
			}
		}
	}
}

// checkRebuild checks every way a verifier rebuilds the leaf.
func checkRebuild(t *testing.T, e *hashtrail.Event, leaf []byte, roles []hashtrail.PIIRole, fields []string) {
	t.Helper()
	full := map[string]hashtrail.PIICommitment{}
	bare := map[string]hashtrail.PIICommitment{}
	erased := map[string]hashtrail.PIICommitment{}
	for _, r := range roles {
		full[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Salt: r.Salt}
		bare[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment}
		erased[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Erased: true}
	}
	public, split, err := hashtrail.SplitPII(e, fields)
	if err != nil {
		t.Fatal(err)
	}

	// Values and salts: every role checked.
	got, rebuilt, err := hashtrail.RebuildLeaf(e, full, fields)
	if err != nil || !bytes.Equal(got, leaf) {
		t.Fatalf("RebuildLeaf with values and salts = %s, %v", got, err)
	}
	for _, r := range rebuilt {
		if r.Salt == nil {
			t.Errorf("role %s was not checked", r.Role)
		}
	}
	// Values without salts, the public event with commitments, erased roles.
	for name, c := range map[string]struct {
		e   *hashtrail.Event
		pii map[string]hashtrail.PIICommitment
	}{"values without salts": {e, bare}, "commitments only": {public, bare}, "erased": {public, erased}} {
		if got, _, err := hashtrail.RebuildLeaf(c.e, c.pii, fields); err != nil || !bytes.Equal(got, leaf) {
			t.Errorf("RebuildLeaf, %s = %s, %v", name, got, err)
		}
	}
	// The answer as JSON, with members that are not in the leaf.
	answer := map[string]any{}
	b, _ := json.Marshal(e)
	json.Unmarshal(b, &answer)
	answer["pii"] = full
	answer["leaf_hash"] = hashtrail.LeafHash(leaf)
	answer["proof"] = map[string]any{"leaf_index": 1}
	b, _ = json.Marshal(answer)
	if got, _, err := hashtrail.LeafFromAnswer(b, fields); err != nil || !bytes.Equal(got, leaf) {
		t.Errorf("LeafFromAnswer = %s, %v", got, err)
	}
	// JoinPII puts the values back.
	joined, err := hashtrail.JoinPII(public, split)
	if err != nil {
		t.Fatal(err)
	}
	if l2, _, err := hashtrail.EncodeLeaf(joined, saltsOf(roles), fields); err != nil || !bytes.Equal(l2, leaf) {
		t.Errorf("EncodeLeaf(JoinPII(SplitPII(e))) = %s, %v", l2, err)
	}
	if len(roles) == 0 {
		return
	}
	// Tampering is caught.
	r := roles[len(roles)-1]
	if _, _, err := hashtrail.RebuildLeaf(e, without(full, r.Role), fields); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("RebuildLeaf without the commitment of %s = %v", r.Role, err)
	}
	if _, _, err := hashtrail.RebuildLeaf(e, erased, fields); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("RebuildLeaf of values marked erased = %v", err)
	}
	wrongSalt := maps.Clone(full)
	s := append([]byte(nil), r.Salt...)
	s[0] ^= 1
	wrongSalt[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Salt: s}
	if _, _, err := hashtrail.RebuildLeaf(e, wrongSalt, fields); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("RebuildLeaf with a wrong salt = %v", err)
	}
	if got, _, err := hashtrail.RebuildLeaf(public, wrongBare(bare, r.Role), fields); err != nil || bytes.Equal(got, leaf) {
		t.Errorf("RebuildLeaf with another commitment gave the same leaf (%v)", err)
	}
}

func saltsOf(roles []hashtrail.PIIRole) map[string][]byte {
	m := map[string][]byte{}
	for _, r := range roles {
		m[r.Role] = r.Salt
	}
	return m
}

func without(m map[string]hashtrail.PIICommitment, role string) map[string]hashtrail.PIICommitment {
	m = maps.Clone(m)
	delete(m, role)
	return m
}

func wrongBare(m map[string]hashtrail.PIICommitment, role string) map[string]hashtrail.PIICommitment {
	m = maps.Clone(m)
	m[role] = hashtrail.PIICommitment{Commitment: strings.Repeat("0", 64)}
	return m
}

// TestLeafCoversEvent makes a new Event field a deliberate decision: the
// every-field vector must set it, and the leaf must hold it unless it is
// one of the fields the leaf leaves out.
func TestLeafCoversEvent(t *testing.T) {
	excluded := map[string]bool{"leaf_hash": true, "key_id": true}
	v := leafVectors(t)[filepath.Join("testdata", "leaf", "every-field.json")]
	e := v.event(t)
	var set map[string]json.RawMessage
	b, _ := json.Marshal(e)
	json.Unmarshal(b, &set)
	var leaf map[string]json.RawMessage
	l, _, err := hashtrail.EncodeLeaf(e, v.salts(t), v.PersonalFields)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(l, &leaf)
	for i := range reflect.TypeFor[hashtrail.Event]().NumField() {
		f := reflect.TypeFor[hashtrail.Event]().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "pii" {
			continue // the answer's pii carries what the leaf's own "pii" commits to
		}
		if _, ok := set[name]; !ok {
			t.Errorf("every-field.json does not set %s", name)
		}
		if _, ok := leaf[name]; ok == excluded[name] {
			t.Errorf("the leaf has %s: %v; want %v (decide and update leaf.go, DESIGN §2 and the vectors)", name, ok, !ok)
		}
	}
	if string(leaf["v"]) != "1" {
		t.Errorf("v = %s", leaf["v"])
	}
}

func TestEncodeLeafRandomSalts(t *testing.T) {
	v := leafVectors(t)[filepath.Join("testdata", "leaf", "every-field.json")]
	e := v.event(t)
	before, _ := json.Marshal(e)
	l1, r1, err := hashtrail.EncodeLeaf(e, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l2, r2, _ := hashtrail.EncodeLeaf(e, nil, nil)
	if bytes.Equal(l1, l2) || len(r1) != 2 {
		t.Fatalf("random salts gave equal leaves or %d roles", len(r1))
	}
	for i := range r1 {
		if len(r1[i].Salt) != hashtrail.SaltSize || bytes.Equal(r1[i].Salt, r2[i].Salt) {
			t.Errorf("role %s: salt %x", r1[i].Role, r1[i].Salt)
		}
		if c, err := hashtrail.Commit(r1[i].Values, r1[i].Salt); err != nil || c != r1[i].Commitment {
			t.Errorf("Commit = %s, %v; want %s", c, err, r1[i].Commitment)
		}
	}
	checkRebuild(t, e, l1, r1, nil)
	if after, _ := json.Marshal(e); !bytes.Equal(before, after) {
		t.Errorf("EncodeLeaf changed the event:\n%s\n%s", before, after)
	}
}

func TestEncodeLeafRejects(t *testing.T) {
	v := leafVectors(t)[filepath.Join("testdata", "leaf", "every-field.json")]
	for name, change := range map[string]func(e *hashtrail.Event){
		"no id":          func(e *hashtrail.Event) { e.ID = "" },
		"no tenant":      func(e *hashtrail.Event) { e.Tenant = "" },
		"no received_at": func(e *hashtrail.Event) { e.ReceivedAt = hashtrail.Time{} },
		"no defaults":    func(e *hashtrail.Event) { e.Severity = "" },
		"negative seq":   func(e *hashtrail.Event) { e.Seq = -1 },
		"bad metadata":   func(e *hashtrail.Event) { e.Metadata = json.RawMessage(`{"a":`) },
		"bad old value":  func(e *hashtrail.Event) { e.Changes[1].Old = json.RawMessage(`nope`) },
		"huge number":    func(e *hashtrail.Event) { e.Metadata = json.RawMessage(`{"n":1e400}`) },
	} {
		e := v.event(t)
		change(e)
		if _, _, err := hashtrail.EncodeLeaf(e, v.salts(t), nil); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
			t.Errorf("%s: EncodeLeaf = %v, want EINVALID", name, err)
		}
	}
	e := v.event(t)
	if _, _, err := hashtrail.EncodeLeaf(e, map[string][]byte{"/actor": make([]byte, 16)}, nil); err == nil {
		t.Error("EncodeLeaf accepted a 16-byte salt")
	}
	for _, pii := range []map[string]hashtrail.PIICommitment{
		{"/targets/9": {Commitment: strings.Repeat("a", 64)}},
		{"/targets/01": {Commitment: strings.Repeat("a", 64)}},
		{"/nobody": {Commitment: strings.Repeat("a", 64)}},
		{"/actor": {Commitment: strings.Repeat("A", 64)}},
		{"/actor": {Commitment: "abc"}},
	} {
		if _, _, err := hashtrail.RebuildLeaf(&hashtrail.Event{ID: "x", Time: e.Time, Action: "a.b", Category: "data",
			Severity: "info", Outcome: "success", Tenant: "t", ReceivedAt: e.Time}, pii, nil); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
			t.Errorf("RebuildLeaf(%v) = %v, want EINVALID", pii, err)
		}
	}
	if _, _, err := hashtrail.LeafFromAnswer([]byte(`{"time": 5}`), nil); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("LeafFromAnswer of a bad answer = %v", err)
	}
}

func TestSplitPII(t *testing.T) {
	v := leafVectors(t)[filepath.Join("testdata", "leaf", "every-field.json")]
	e := v.event(t)
	public, roles, err := hashtrail.SplitPII(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if public.Actor.Name != "" || public.Actor.Email != "" || public.Actor.Impersonator.Name != "" ||
		public.Context.IP != "" || public.Context.UserAgent != "" || public.Context.Location != nil ||
		public.Targets[1].Name != "" || public.Changes[1].Old != nil || public.Changes[3].New != nil {
		t.Errorf("SplitPII left personal values: %+v", public)
	}
	if public.Targets[0].Name != "Website" || string(public.Changes[0].New) != `"deployer"` || public.LeafHash != e.LeafHash {
		t.Errorf("SplitPII removed public values: %+v", public)
	}
	want := map[string][]string{
		"/actor":     {"/actor/email", "/actor/impersonator/name", "/actor/name", "/context/ip", "/context/location", "/context/user_agent"},
		"/targets/1": {"/changes/1/new", "/changes/1/old", "/changes/3/new", "/targets/1/name"},
	}
	for _, r := range roles {
		if got := slices.Sorted(maps.Keys(r.Values)); !slices.Equal(got, want[r.Role]) {
			t.Errorf("role %s holds %v, want %v", r.Role, got, want[r.Role])
		}
	}
	if roles[0].Subject != "user:42" || roles[1].Subject != "user:43" {
		t.Errorf("subjects %q, %q", roles[0].Subject, roles[1].Subject)
	}
	// No personal change fields at all.
	_, roles, _ = hashtrail.SplitPII(e, []string{})
	if _, ok := roles[1].Values["/changes/1/old"]; ok {
		t.Error("an empty field list still made email personal")
	}
	// JoinPII refuses places SplitPII never makes.
	for _, ptr := range []string{"/actor/id", "/targets/7/name", "/changes/1/field", "/targets/-1/name", "actor/name", "/context/location/city"} {
		r := []hashtrail.PIIRole{{Role: "/actor", Values: map[string]json.RawMessage{ptr: json.RawMessage(`"x"`)}}}
		if _, err := hashtrail.JoinPII(public, r); err == nil {
			t.Errorf("JoinPII accepted %s", ptr)
		}
	}
	r := []hashtrail.PIIRole{{Role: "/actor", Values: map[string]json.RawMessage{"/actor/name": json.RawMessage(`7`)}}}
	if _, err := hashtrail.JoinPII(public, r); err == nil {
		t.Error("JoinPII accepted a number as a name")
	}
}

func FuzzEncodeLeaf(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "leaf", "*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		var v leafVector
		if json.Unmarshal(b, &v) == nil {
			f.Add([]byte(v.Event), strings.Join(v.PersonalFields, ","))
		}
	}
	f.Fuzz(func(t *testing.T, event []byte, fields string) {
		var e hashtrail.Event
		if json.Unmarshal(event, &e) != nil {
			return
		}
		pf := strings.Split(fields, ",")
		_, roles, err := hashtrail.SplitPII(&e, pf)
		if err != nil {
			return
		}
		salts := map[string][]byte{}
		for _, r := range roles {
			s := sha256.Sum256([]byte(r.Role))
			salts[r.Role] = s[:]
		}
		l1, r1, err1 := hashtrail.EncodeLeaf(&e, salts, pf)
		l2, _, err2 := hashtrail.EncodeLeaf(&e, salts, pf)
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(l1, l2) {
			t.Fatalf("EncodeLeaf is not deterministic: %q (%v) then %q (%v)", l1, err1, l2, err2)
		}
		if err1 != nil {
			return
		}
		if !json.Valid(l1) {
			t.Fatalf("the leaf is not JSON: %q", l1)
		}
		full := map[string]hashtrail.PIICommitment{}
		for _, r := range r1 {
			full[r.Role] = hashtrail.PIICommitment{Commitment: r.Commitment, Salt: r.Salt}
		}
		if got, _, err := hashtrail.RebuildLeaf(&e, full, pf); err != nil || !bytes.Equal(got, l1) {
			t.Fatalf("RebuildLeaf = %q, %v; want %q", got, err, l1)
		}
		public, split, _ := hashtrail.SplitPII(&e, pf)
		if got, _, err := hashtrail.RebuildLeaf(public, full, pf); err != nil || !bytes.Equal(got, l1) {
			t.Fatalf("RebuildLeaf of the public event = %q, %v; want %q", got, err, l1)
		}
		joined, err := hashtrail.JoinPII(public, split)
		if err != nil {
			t.Fatalf("JoinPII: %v", err)
		}
		if got, _, err := hashtrail.EncodeLeaf(joined, salts, pf); err != nil || !bytes.Equal(got, l1) {
			t.Fatalf("EncodeLeaf(JoinPII(SplitPII(e))) = %q, %v; want %q", got, err, l1)
		}
		answer, err := json.Marshal(struct {
			*hashtrail.Event
			PII map[string]hashtrail.PIICommitment `json:"pii,omitempty"`
		}{&e, full})
		if err != nil {
			t.Fatalf("marshal the answer: %v", err)
		}
		if got, _, err := hashtrail.LeafFromAnswer(answer, pf); err != nil || !bytes.Equal(got, l1) {
			t.Fatalf("LeafFromAnswer(%s) = %q, %v; want %q", answer, got, err, l1)
		}
	})
}
