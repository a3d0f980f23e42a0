package hashtrail

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// leafEvent is the leaf's JSON object as the reference encoder marshals it:
// the stored event's fields without leaf_hash and key_id, the format version
// and the commitments.
type leafEvent struct {
	ID          string            `json:"id"`
	Time        Time              `json:"time"`
	Action      string            `json:"action"`
	Category    Category          `json:"category"`
	Severity    Severity          `json:"severity"`
	Outcome     Outcome           `json:"outcome"`
	Reason      string            `json:"reason,omitempty"`
	Error       string            `json:"error,omitempty"`
	Description string            `json:"description,omitempty"`
	Actor       *Actor            `json:"actor,omitempty"`
	Targets     []Target          `json:"targets,omitempty"`
	Context     *Context          `json:"context,omitempty"`
	Service     *Service          `json:"service,omitempty"`
	Changes     []Change          `json:"changes,omitempty"`
	Metadata    json.RawMessage   `json:"metadata,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Output      *Output           `json:"output,omitempty"`
	Tenant      string            `json:"tenant"`
	Seq         int64             `json:"seq"`
	ReceivedAt  Time              `json:"received_at"`
	V           int               `json:"v"`
	PII         map[string]string `json:"pii,omitempty"`
}

// encodeLeafReference is the leaf as first written: encoding/json, then
// RFC 8785 canonicalization by jsontext. encodeLeaf must match it.
func encodeLeafReference(p *Event, commitments map[string]string) ([]byte, error) {
	doc := leafEvent{
		ID: p.ID, Time: p.Time, Action: p.Action, Category: p.Category, Severity: p.Severity,
		Outcome: p.Outcome, Reason: p.Reason, Error: p.Error, Description: p.Description,
		Actor: p.Actor, Targets: p.Targets, Context: p.Context, Service: p.Service,
		Changes: p.Changes, Metadata: p.Metadata, Tags: p.Tags, Output: p.Output,
		Tenant: p.Tenant, Seq: p.Seq, ReceivedAt: p.ReceivedAt, V: LeafVersion,
	}
	if len(commitments) > 0 {
		doc.PII = commitments
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(raw)
}

// commitJCSReference is JCS(P_R) as first written.
func commitJCSReference(values map[string]json.RawMessage) ([]byte, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(raw)
}

// TestLeafEventFields checks that the reference struct has every field of
// Event but leaf_hash, pii and key_id, under the same JSON name.
func TestLeafEventFields(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = append(out, name)
		}
		slices.Sort(out)
		return out
	}
	ev := slices.DeleteFunc(names(reflect.TypeFor[Event]()), func(s string) bool {
		return s == "leaf_hash" || s == "key_id" || s == "pii"
	})
	ev = append(ev, "pii", "v")
	slices.Sort(ev)
	if le := names(reflect.TypeFor[leafEvent]()); !slices.Equal(ev, le) {
		t.Fatalf("Event members %v, leafEvent members %v", ev, le)
	}
}

// adversarialStrings are strings whose RFC 8785 escaping is easy to get wrong.
var adversarialStrings = []string{
	"", "plain", `"`, `\`, `\"`, "/", "</script>", "<>&", "a&b", "\u2028", "\u2029", "x\u2028y\u2029z",
	"\x00", "\x01\x02\x03\x04\x05\x06\x07", "\b\t\n\v\f\r", "\x0e\x0f\x10\x1b\x1f", "\x7f", "\u0080\u009f",
	"\u00a0", "\ufeff", "\ufffd", "\uffff", "\ue000", "\U00010000", "😀", "\U0010ffff", "ü", "山田",
	"a\"b\\c/d\x00e\u2028f😀g", "\u200b\u200e\u202e", "\uFB33", "€",
}

// TestAppendQuoteCanonical checks the claim encodeLeaf relies on:
// jsontext.AppendQuote writes a string exactly as RFC 8785 canonicalization
// (jsontext.Value.Canonicalize) does, whatever escaping the input used, and
// refuses invalid UTF-8.
func TestAppendQuoteCanonical(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, err := jsontext.AppendQuote(nil, s)
		if err != nil {
			t.Fatalf("AppendQuote(%+q): %v", s, err)
		}
		// Three spellings of the same string: encoding/json's (HTML and
		// U+2028/2029 escaped), every non-ASCII rune as \u escapes, and
		// AppendQuote's own.
		html, _ := json.Marshal(s)
		var ascii strings.Builder
		ascii.WriteByte('"')
		for _, u := range utf16.Encode([]rune(s)) {
			fmt.Fprintf(&ascii, `\u%04X`, u)
		}
		ascii.WriteByte('"')
		for _, in := range [][]byte{html, []byte(ascii.String()), got} {
			v := jsontext.Value(bytes.Clone(in))
			if err := v.Canonicalize(); err != nil {
				t.Fatalf("Canonicalize(%s): %v", in, err)
			}
			if !bytes.Equal(v, got) {
				t.Fatalf("string %+q: AppendQuote gives %s, Canonicalize of %s gives %s", s, got, in, v)
			}
		}
		if isCanonicalScalar(got) != !bytes.ContainsAny(got[1:len(got)-1], `\`) {
			t.Fatalf("isCanonicalScalar(%s) = %v", got, isCanonicalScalar(got))
		}
	}
	for _, s := range adversarialStrings {
		check(s)
		check("x" + s + "y")
	}
	for r := rune(0); r < 0x3000; r++ {
		if utf8.ValidRune(r) {
			check(string(r))
		}
	}
	for r := rune(0xd000); r <= 0x10ffff; r += 97 {
		if utf8.ValidRune(r) {
			check(string(r))
		}
	}
	for _, bad := range []string{"\xff", "a\xc3", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "ok\x80ok"} {
		if _, err := jsontext.AppendQuote(nil, bad); err == nil {
			t.Errorf("AppendQuote(%+q) accepted invalid UTF-8", bad)
		}
		if isCanonicalScalar([]byte(`"` + bad + `"`)) {
			t.Errorf("isCanonicalScalar accepts invalid UTF-8 %+q", bad)
		}
		// The leaf refuses it, wherever it is.
		e := leafTestEvent()
		e.Reason = bad
		if _, err := encodeLeaf(e, nil); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("encodeLeaf with reason %+q: %v", bad, err)
		}
		if _, err := Commit(map[string]json.RawMessage{"/x" + bad: json.RawMessage(`1`)}, make([]byte, SaltSize)); err == nil {
			t.Errorf("Commit with name %+q: no error", bad)
		}
		if _, err := Commit(map[string]json.RawMessage{"/x": json.RawMessage(`"` + bad + `"`)}, make([]byte, SaltSize)); err == nil {
			t.Errorf("Commit with value %+q: no error", bad)
		}
	}
}

// TestIsCanonicalScalar checks that what it accepts is canonical.
func TestIsCanonicalScalar(t *testing.T) {
	for _, v := range []string{
		`""`, `"a"`, `"\u0041"`, `"\n"`, `"a\"b"`, `"<"`, `"\u2028"`, "\"\u2028\"", `"😀"`, `"\ud83d\ude00"`,
		`true`, `false`, `null`, `0`, `-0`, `1`, `-1`, `01`, `1.0`, `1e2`, `10`, `123456789012345`,
		`1234567890123456`, `9007199254740993`, `-`, `+1`, ` 1`, `1 `, `"a" `, `"`, `"a`, `a"`, `[]`, `{}`,
		`[1]`, `{"a":1}`, `nul`, `truex`, `"\u001f"`, "\"\x1f\"", "\"\x7f\"", `1.5`, `0.1`,
	} {
		if !isCanonicalScalar([]byte(v)) {
			continue
		}
		canon, err := canonicalJSON([]byte(v))
		if err != nil || string(canon) != v {
			t.Errorf("isCanonicalScalar(%s) = true, but its canonical form is %s (%v)", v, canon, err)
		}
	}
}

// TestCompareUTF16 checks the order of member names against UTF-16 code
// units.
func TestCompareUTF16(t *testing.T) {
	ref := func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	}
	sign := func(n int) int { return min(max(n, -1), 1) }
	pieces := []string{"", "a", "A", "é", "€", "\uffff", "\ue000", "\ufb33", "😀", "\U00010000", "\U0010ffff", "/", "~"}
	r := rand.New(rand.NewPCG(3, 4))
	gen := func() string {
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	for range 20000 {
		a, b := gen(), gen()
		if r.IntN(4) == 0 {
			b = a + gen()
		}
		if got, want := sign(compareUTF16(a, b)), sign(ref(a, b)); got != want {
			t.Fatalf("compareUTF16(%+q, %+q) = %d, want %d", a, b, got, want)
		}
	}
}

func leafTestEvent() *Event {
	return &Event{ID: "e", Time: TimeFromMicros(1), Action: "a.b", Category: CategoryData,
		Severity: SeverityInfo, Outcome: OutcomeSuccess, Tenant: "acme", Seq: 1, ReceivedAt: TimeFromMicros(2)}
}

// checkSameLeaf checks encodeLeaf and Commit against their references for
// a stored event, with commitments computed by both.
func checkSameLeaf(t *testing.T, e *Event, personalFields []string) {
	t.Helper()
	public, roles, err := SplitPII(e, personalFields)
	if err != nil {
		return
	}
	commitments := map[string]string{}
	for _, r := range roles {
		got, gerr := commitJCS(r.Values)
		want, werr := commitJCSReference(r.Values)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("JCS(P_R) of %s:\n got %s (%v)\nwant %s (%v)", r.Role, got, gerr, want, werr)
		}
		commitments[r.Role] = hex.EncodeToString(want[:min(len(want), 32)])
	}
	for _, c := range []map[string]string{commitments, nil} {
		got, gerr := encodeLeaf(public, c)
		want, werr := encodeLeafReference(public, c)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("leaf:\n got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
		// And the event before removing its personal values.
		got, gerr = encodeLeaf(e, c)
		want, werr = encodeLeafReference(e, c)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("leaf of the full event:\n got %s (%v)\nwant %s (%v)", got, gerr, want, werr)
		}
	}
}

var (
	leafJCSNow = NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	leafJCSOpt = DecodeOptions{PathTenant: "acme"}
)

// storedFromJSON decodes a client event as ingest does and completes it as
// a store would, or returns nil when DecodeEvent refuses it.
func storedFromJSON(data []byte, seq int64) *Event {
	sub, errs := DecodeEvent(data, "", leafJCSOpt, leafJCSNow)
	if errs != nil {
		return nil
	}
	e := sub.Event
	if e.Tenant == "" {
		e.Tenant = "acme"
	}
	if e.ID == "" {
		e.ID = "01JH8ZQ3X5W4T8N2K7C9V6B1M0"
	}
	if e.Time.IsZero() {
		e.Time = leafJCSNow
	}
	e.Seq = seq
	e.ReceivedAt = leafJCSNow
	return e
}

// randString draws a string from pieces that are hard to escape.
func randString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		switch r.IntN(3) {
		case 0:
			b.WriteString(adversarialStrings[r.IntN(len(adversarialStrings))])
		case 1:
			b.WriteByte(byte('a' + r.IntN(26)))
		default:
			b.WriteRune(rune(r.IntN(0x30000)) &^ 0x800) // no surrogates
		}
	}
	if !utf8.ValidString(b.String()) {
		return "x"
	}
	return b.String()
}

// randJSON draws a free JSON value.
func randJSON(r *rand.Rand, depth int) any {
	switch n := r.IntN(9); {
	case depth > 2 || n < 2:
		return randString(r)
	case n == 2:
		nums := []json.Number{"0", "-0", "1", "-1", "1.0", "1e2", "1E-7", "0.1", "1e21", "123456789012345678",
			"9007199254740993", "5e-324", "1.7976931348623157e308", "12.5000", "-0.0", "100"}
		return nums[r.IntN(len(nums))]
	case n == 3:
		return []any{true, false, nil}[r.IntN(3)]
	case n == 4 || n == 5:
		var a []any
		for range r.IntN(4) {
			a = append(a, randJSON(r, depth+1))
		}
		return a
	default:
		m := map[string]any{}
		for range r.IntN(5) {
			m[randString(r)] = randJSON(r, depth+1)
		}
		return m
	}
}

// randEvent draws a client event (full fills every member).
func randEvent(r *rand.Rand, full bool) map[string]any {
	maybe := func() bool { return full || r.IntN(2) == 0 }
	str := func() string {
		if full {
			return "s" + randString(r)
		}
		return randString(r)
	}
	e := map[string]any{
		"action":   "thing.done",
		"category": []string{"data", "account", "security"}[r.IntN(3)],
		"severity": []string{"info", "high"}[r.IntN(2)],
		"outcome":  []string{"success", "failure"}[r.IntN(2)],
	}
	if maybe() {
		e["id"] = fmt.Sprintf("evt-%d", r.IntN(1e6))
	}
	for _, k := range []string{"reason", "error", "description"} {
		if maybe() {
			e[k] = str()
		}
	}
	if maybe() {
		e["tenant"] = "acme"
	}
	if maybe() {
		a := map[string]any{"type": []string{"user", "service", "api_key", "system"}[r.IntN(4)], "id": "a" + str()}
		for _, k := range []string{"name", "email"} {
			if maybe() {
				a[k] = str()
			}
		}
		if maybe() {
			a["roles"] = []string{str(), str()}
		}
		if maybe() {
			au := map[string]any{}
			for _, k := range []string{"method", "credential_id", "provider"} {
				if maybe() {
					au[k] = str()
				}
			}
			if maybe() {
				au["mfa"] = r.IntN(2) == 0
			}
			a["auth"] = au
		}
		if maybe() {
			im := map[string]any{"type": "user"}
			for _, k := range []string{"id", "name"} {
				if maybe() {
					im[k] = str()
				}
			}
			a["impersonator"] = im
		}
		e["actor"] = a
	}
	if maybe() {
		var ts []any
		for range 1 + r.IntN(3) {
			t := map[string]any{"type": []string{"user", "project", "document"}[r.IntN(3)], "id": "t" + str()}
			if maybe() {
				t["name"] = str()
			}
			ts = append(ts, t)
		}
		e["targets"] = ts
	}
	if maybe() {
		c := map[string]any{}
		for _, k := range []string{"user_agent", "session_id", "request_id", "trace_id", "method", "path", "source"} {
			if maybe() {
				c[k] = str()
			}
		}
		if maybe() {
			c["ip"] = []string{"203.0.113.7", "2001:db8::1"}[r.IntN(2)]
		}
		if maybe() {
			l := map[string]any{}
			if maybe() {
				l["country"] = []string{"DE", "FR"}[r.IntN(2)]
			}
			for _, k := range []string{"region", "city"} {
				if maybe() {
					l[k] = str()
				}
			}
			c["location"] = l
		}
		e["context"] = c
	}
	if maybe() {
		s := map[string]any{}
		for _, k := range []string{"name", "version", "environment", "host"} {
			if maybe() {
				s[k] = str()
			}
		}
		e["service"] = s
	}
	if maybe() {
		var cs []any
		for range 1 + r.IntN(3) {
			c := map[string]any{"field": []string{"email", "name", "seats", "ip", "f" + str()}[r.IntN(5)]}
			if r.IntN(4) == 0 {
				c["redacted"] = true
			} else {
				if maybe() {
					c["old"] = randJSON(r, 1)
				}
				if maybe() {
					c["new"] = randJSON(r, 1)
				}
			}
			cs = append(cs, c)
		}
		e["changes"] = cs
	}
	if maybe() {
		m := map[string]any{}
		for range r.IntN(6) {
			m[randString(r)] = randJSON(r, 1)
		}
		e["metadata"] = m
	}
	if maybe() {
		e["tags"] = []string{"t" + str(), "u" + str()}
	}
	if maybe() {
		o := map[string]any{"command": "c" + str()}
		for _, k := range []string{"stdout", "stderr"} {
			if maybe() {
				o[k] = str()
			}
		}
		if maybe() {
			o["exit_code"] = r.IntN(300) - 10
		}
		e["output"] = o
	}
	return e
}

// TestLeafJCS checks encodeLeaf and Commit against the reference for random
// events decoded as ingest decodes them, for the golden vectors' events as
// JSON decoding gives them (free JSON not canonical), and for corner cases.
func TestLeafJCS(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	accepted := 0
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		raw, err := json.Marshal(randEvent(r, r.IntN(8) == 0))
		if err != nil {
			t.Fatal(err)
		}
		e := storedFromJSON(raw, int64(i))
		if e == nil {
			continue
		}
		accepted++
		checkSameLeaf(t, e, nil)
		checkSameLeaf(t, e, []string{})
		// Free JSON as a client might have indented it: the leaf
		// canonicalizes it.
		if len(e.Metadata) > 0 {
			var ind bytes.Buffer
			json.Indent(&ind, e.Metadata, " ", "\t")
			e.Metadata = ind.Bytes()
			checkSameLeaf(t, e, nil)
		}
	}
	if accepted < n/2 {
		t.Fatalf("only %d of %d random events were accepted", accepted, n)
	}

	files, _ := filepath.Glob(filepath.Join("testdata", "leaf", "*.json"))
	for _, f := range files {
		var v struct {
			PersonalFields []string        `json:"personal_fields"`
			Event          json.RawMessage `json:"event"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var e Event
		if err := json.Unmarshal(v.Event, &e); err != nil {
			t.Fatal(err)
		}
		checkSameLeaf(t, &e, v.PersonalFields)
	}

	// Numbers at the edge of doubles, in server fields and free JSON.
	for _, seq := range []int64{0, 1 << 53, 1<<53 + 1, 1 << 60, 1<<63 - 1, 123456789012345678} {
		e := leafTestEvent()
		e.Seq = seq
		checkSameLeaf(t, e, nil)
	}
	for _, code := range []int{-1, 0, 255, 1 << 53, 1<<53 + 1, -(1 << 62)} {
		e := leafTestEvent()
		e.Output = &Output{Command: "x", ExitCode: &code}
		checkSameLeaf(t, e, nil)
	}
	for _, m := range []string{`1e400`, `-0`, `0.0`, `1E2`, `"\u0041"`, `{"b":1,"a":[1.50,"\u2028"]}`, `{"a":1,"a":2}`,
		`[1,]`, `nul`, ` `, `null`, ` null `, `"\ud800"`, "\"\xff\"", `123456789012345678901234567890`} {
		e := leafTestEvent()
		e.Metadata = json.RawMessage(m)
		e.Changes = []Change{{Field: "email", Old: json.RawMessage(m)}, {Field: "x", New: json.RawMessage(m)}}
		checkSameLeaf(t, e, nil)
	}
}

// FuzzLeafJCS checks encodeLeaf and Commit against the reference for events
// that DecodeEvent accepts (canonical free JSON, as ingest stores it) and for
// events as encoding/json decodes them (free JSON as sent).
func FuzzLeafJCS(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		raw, _ := json.Marshal(randEvent(r, r.IntN(3) == 0))
		f.Add(raw, int64(r.IntN(1000)))
	}
	f.Add([]byte(`{"action":"a.b","category":"data","metadata":{"b":[1e2,-0,"<\u2028>"],"a":{"\ud83d\ude00":1,"\ufb33":2}}}`), int64(1<<60))
	f.Fuzz(func(t *testing.T, data []byte, seq int64) {
		if seq < 0 {
			seq = -seq
		}
		if e := storedFromJSON(data, max(seq, 0)); e != nil {
			checkSameLeaf(t, e, nil)
		}
		var e Event
		if json.Unmarshal(data, &e) == nil {
			if e.Tenant == "" {
				e.Tenant = "acme"
			}
			e.Seq, e.ReceivedAt = max(seq, 0), leafJCSNow
			if e.Time.IsZero() {
				e.Time = leafJCSNow
			}
			if checkLeafEvent(&e) == nil {
				checkSameLeaf(t, &e, nil)
			}
		}
	})
}

// BenchmarkEncodeLeaf measures the leaf of a typical event with personal
// values (the one in ingest benchmarks' shape), new encoder and reference.
func BenchmarkEncodeLeaf(b *testing.B) {
	raw := []byte(`{"action":"user.login","category":"authentication","severity":"info","outcome":"success",
		"actor":{"type":"user","id":"u-1234","name":"Alice Example","email":"alice@example.com","roles":["admin"]},
		"targets":[{"type":"user","id":"99","name":"Bob"},{"type":"project","id":"7"}],
		"context":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","request_id":"req-5f2c","location":{"country":"DE","city":"Berlin"}},
		"changes":[{"field":"email","old":"a@example.com","new":"b@example.com"},{"field":"seats","old":5,"new":12}],
		"metadata":{"ticket":"SEC-1234","approvers":["carol","dave"],"risk":{"score":0.72,"manual":false}},
		"tags":["billing","sox"]}`)
	e := storedFromJSON(raw, 12345)
	if e == nil {
		b.Fatal("the benchmark event is not valid")
	}
	salts := map[string][]byte{PIIRoleActor: make([]byte, SaltSize), PIIRoleTarget(0): make([]byte, SaltSize)}
	public, roles, err := SplitPII(e, nil)
	if err != nil {
		b.Fatal(err)
	}
	commitments := map[string]string{}
	for _, r := range roles {
		commitments[r.Role] = strings.Repeat("ab", 32)
	}
	b.Run("EncodeLeaf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := EncodeLeaf(e, salts, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encodeLeaf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeLeaf(public, commitments); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encodeLeaf/reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeLeafReference(public, commitments); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("JCS(P_R)", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := commitJCS(roles[0].Values); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("JCS(P_R)/reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := commitJCSReference(roles[0].Values); err != nil {
				b.Fatal(err)
			}
		}
	})
}
