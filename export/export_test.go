package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func mustTime(s string) hashtrail.Time {
	t, err := hashtrail.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// sample returns events covering every field and the awkward values.
func sample() []*hashtrail.Event {
	mfa := true
	code := 2
	return []*hashtrail.Event{
		{
			ID: "01J9ZK8Q3Z6X4V7W8Y9A0B1C2D", Time: mustTime("2026-03-01T12:00:00.123456Z"), Action: "user.login",
			Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
			Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Name: "Alice Martin", Email: "alice@example.com",
				Auth: &hashtrail.Auth{Method: "password+totp", MFA: &mfa, Provider: "oauth:github"}},
			Context: &hashtrail.Context{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", SessionID: "s-1",
				RequestID: "r-1", Method: "POST", Path: "/login", Source: "web", Location: &hashtrail.Location{Country: "FR", City: "Lyon"}},
			Service: &hashtrail.Service{Name: "shop", Version: "1.2.3", Environment: "prod", Host: "web-1"},
			Tags:    []string{"sso"}, Tenant: "acme", Seq: 0, ReceivedAt: mustTime("2026-03-01T12:00:00.200000Z"),
			LeafHash: "9f2c0c1a55d3c9b2d7e1f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4",
		},
		{
			ID: "evt-2", Time: mustTime("2026-03-01T12:01:00Z"), Action: "user.login_failed",
			Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeFailure,
			Error:   "bad password | twice\nsecond line",
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, Email: "=HYPERLINK(\"http://evil\")@example.com"},
			Context: &hashtrail.Context{IP: "2001:db8::1", UserAgent: "curl/8.0 a=b \\ c"},
			Tenant:  "acme", Seq: 1, ReceivedAt: mustTime("2026-03-01T12:01:00.000100Z"),
		},
		{
			ID: "evt-3", Time: mustTime("2026-03-01T12:02:00Z"), Action: "role.assign",
			Category: hashtrail.CategoryAuthorization, Severity: hashtrail.SeverityHigh, Outcome: hashtrail.OutcomeSuccess,
			Reason:      "+ticket SEC-12",
			Description: "Bob gave the admin role | to Carol",
			Actor:       &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "7", Name: "-Bob", Roles: []string{"owner"}},
			Targets:     []hashtrail.Target{{Type: "user", ID: "9", Name: "@Carol"}, {Type: "role", ID: "admin"}},
			Changes:     []hashtrail.Change{{Field: "role", Old: json.RawMessage(`"viewer"`), New: json.RawMessage(`"admin"`)}},
			Metadata:    json.RawMessage(`{"ticket":"SEC-12","n":3}`),
			Tenant:      "acme", Seq: 2, ReceivedAt: mustTime("2026-03-01T12:02:00Z"),
			PII: map[string]hashtrail.PIICommitment{"/actor": {Commitment: "ab12", Erased: true}},
		},
		{
			ID: "evt-4", Time: mustTime("2026-03-01T12:03:00Z"), Action: "invoice.refund",
			Category: hashtrail.CategoryResource, Severity: hashtrail.SeverityCritical, Outcome: hashtrail.OutcomeUnknown,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: "key_1"},
			Targets: []hashtrail.Target{{Type: "invoice", ID: "INV-1", Name: "\tTab, \"quoted\"\r\nnext"}},
			Tenant:  "acme", Seq: 3, ReceivedAt: mustTime("2026-03-01T12:03:00Z"),
		},
		{
			ID: "evt-5", Time: mustTime("2026-03-01T12:04:00Z"), Action: "command.run",
			Category: hashtrail.CategorySystem, Severity: hashtrail.SeverityLow, Outcome: hashtrail.OutcomeFailure,
			Actor:   &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "cron"},
			Output:  &hashtrail.Output{Command: "rake db:migrate", ExitCode: &code, Stderr: "boom"},
			Service: &hashtrail.Service{Name: "worker", Host: "job-3"},
			Tenant:  "acme", Seq: 4, ReceivedAt: mustTime("2026-03-01T12:04:00Z"),
		},
	}
}

func encode(t testing.TB, f export.Format, events []*hashtrail.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	enc, err := export.New(f, &b, export.Options{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Begin(); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.End(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden compares each format's encoding of the sample with
// testdata/sample.<format>.golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, f := range []export.Format{export.FormatJSONL, export.FormatCSV, export.FormatOCSF, export.FormatCEF, export.FormatECS} {
		t.Run(string(f), func(t *testing.T) {
			got := encode(t, f, sample())
			path := filepath.Join("testdata", "sample."+string(f)+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err, "(go test -update writes it)")
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", f, path, got)
			}
		})
	}
}

// TestJSONLRoundTrip: a JSON Lines export reads back into the same events.
func TestJSONLRoundTrip(t *testing.T) {
	in := sample()
	lines := bytes.Split(bytes.TrimSuffix(encode(t, export.FormatJSONL, in), []byte("\n")), []byte("\n"))
	if len(lines) != len(in) {
		t.Fatalf("%d lines for %d events", len(lines), len(in))
	}
	for i, l := range lines {
		var e hashtrail.Event
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(in[i])
		b, _ := json.Marshal(&e)
		if !bytes.Equal(a, b) {
			t.Errorf("line %d: %s, want %s", i, b, a)
		}
	}
}

// TestCSV: RFC 4180 (a reader gets the same cells back, CRLF line ends),
// the fixed columns, and the formula-injection guard.
func TestCSV(t *testing.T) {
	out := encode(t, export.FormatCSV, sample())
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Error("rows do not end in CRLF")
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(export.CSVColumns, ",") || len(rows) != 6 {
		t.Fatalf("header %v, %d rows", rows[0], len(rows))
	}
	col := map[string]int{}
	for i, c := range export.CSVColumns {
		col[c] = i
	}
	cell := func(row int, c string) string { return rows[row][col[c]] }
	for _, tc := range []struct {
		row       int
		col, want string
	}{
		{1, "actor_email", "alice@example.com"},
		{1, "country", "FR"},
		{2, "actor_email", `'=HYPERLINK("http://evil")@example.com`},
		{2, "error", "bad password | twice\nsecond line"},
		{3, "actor_name", "'-Bob"},
		{3, "reason", "'+ticket SEC-12"},
		{3, "targets", "user:9 role:admin"},
		{3, "metadata", `{"ticket":"SEC-12","n":3}`},
		{4, "seq", "3"},
		{4, "time", "2026-03-01T12:03:00.000000Z"},
		{4, "actor_type", "api_key"},
	} {
		if got := cell(tc.row, tc.col); got != tc.want {
			t.Errorf("row %d %s = %q, want %q", tc.row, tc.col, got, tc.want)
		}
	}
	for _, in := range []string{"=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"} {
		e := &hashtrail.Event{ID: "x", Action: "a.b", Reason: in}
		out := encode(t, export.FormatCSV, []*hashtrail.Event{e})
		if !bytes.Contains(out, []byte(",'"+in)) && !bytes.Contains(out, []byte(",\"'"+in)) {
			t.Errorf("%q is not defused: %q", in, out)
		}
	}
}

// TestCEFEscaping: header fields escape \ and |; extension values escape \
// and = and carry line ends as \n; a record is always one line.
func TestCEFEscaping(t *testing.T) {
	e := &hashtrail.Event{
		ID: "a=b", Action: "x.y", Description: `pipe | back\slash` + "\nnew", Severity: hashtrail.SeverityHigh,
		Outcome: hashtrail.OutcomeFailure, Tenant: "t", Error: "e=1\\2\r\n3",
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "u", Name: "x act=forged"},
		Context: &hashtrail.Context{IP: "198.51.100.1"},
	}
	got := string(export.AppendCEF(nil, e, "v|1"))
	want := `CEF:0|Hashtrail|Hashtrail|v\|1|x.y|pipe \| back\\slash new|8|` +
		`rt=-62135596800000 externalId=a\=b act=x.y outcome=failure suid=u suser=x act\=forged src=198.51.100.1 ` +
		`msg=pipe | back\\slash\nnew cs1Label=tenant cs1=t cs2Label=actorType cs2=user cs5Label=error cs5=e\=1\\2\r\n3 cn1Label=seq cn1=0`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, e := range sample() {
		if line := export.AppendCEF(nil, e, "1"); bytes.ContainsAny(line, "\r\n") {
			t.Errorf("%s: a line end in %q", e.ID, line)
		}
	}
	for s, want := range map[hashtrail.Severity]int{hashtrail.SeverityInfo: 1, hashtrail.SeverityLow: 3, hashtrail.SeverityMedium: 5, hashtrail.SeverityHigh: 8, hashtrail.SeverityCritical: 10, "": 0} {
		if got := export.CEFSeverity(s); got != want {
			t.Errorf("CEFSeverity(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestCEFFields: rt is received_at and start the event's time; roles,
// the service name, the session id and the metadata are carried; an IPv6
// source goes in c6a2 (src is an IPv4 field), an IPv4-mapped one in src;
// the values are escaped like every extension.
func TestCEFFields(t *testing.T) {
	at := func(s string) hashtrail.Time {
		v, err := hashtrail.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	e := &hashtrail.Event{
		ID: "e1", Action: "user.login", Tenant: "acme", Seq: 4, Severity: hashtrail.SeverityInfo,
		Time: at("2026-11-23T09:00:00.123456Z"), ReceivedAt: at("2026-11-23T09:00:01Z"),
		Actor:    &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Roles: []string{"admin", "dev=ops"}},
		Context:  &hashtrail.Context{IP: "2001:db8::7", SessionID: "sess\\1"},
		Service:  &hashtrail.Service{Name: "billing api", Host: "web-1"},
		Metadata: json.RawMessage(`{ "plan": "pro", "note": "a=b\nc" }`),
	}
	got := string(export.AppendCEF(nil, e, "1"))
	for _, want := range []string{
		"|rt=1795424401000 start=1795424400123 ",
		" spriv=admin,dev\\=ops ",
		" c6a2=2001:db8::7 c6a2Label=Source IPv6 Address ",
		" dvchost=web-1 deviceProcessName=billing api ",
		" flexString1Label=sessionId flexString1=sess\\\\1 ",
		` flexString2Label=metadata flexString2={"plan":"pro","note":"a\=b\\nc"}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, " src=") {
		t.Errorf("an IPv6 address in src: %s", got)
	}
	e.Context.IP = "::ffff:198.51.100.4"
	e.Metadata = json.RawMessage(`null`)
	got = string(export.AppendCEF(nil, e, "1"))
	if !strings.Contains(got, " src=198.51.100.4 ") || strings.Contains(got, "c6a2") || strings.Contains(got, "flexString2") {
		t.Errorf("an IPv4-mapped source or null metadata: %s", got)
	}
	// Not yet received (an export of a submission): rt is the time, no start.
	e.ReceivedAt = hashtrail.Time{}
	if got := string(export.AppendCEF(nil, e, "1")); !strings.Contains(got, "|rt=1795424400123 externalId=") || strings.Contains(got, "start=") {
		t.Errorf("without received_at: %s", got)
	}
}

// TestECS checks the ECS fields of the first sample event.
func TestECS(t *testing.T) {
	line, _, _ := bytes.Cut(encode(t, export.FormatECS, sample()), []byte("\n"))
	var d map[string]any
	if err := json.Unmarshal(line, &d); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = d
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	for path, want := range map[string]any{
		"@timestamp": "2026-03-01T12:00:00.123456Z", "event.id": "01J9ZK8Q3Z6X4V7W8Y9A0B1C2D", "event.action": "user.login",
		"event.kind": "event", "event.outcome": "success", "event.severity": 1.0, "event.created": "2026-03-01T12:00:00.200000Z",
		"event.ingested": "2026-03-01T12:00:00.200000Z", "event.dataset": "hashtrail.audit",
		"user.id": "42", "user.name": "Alice Martin", "user.email": "alice@example.com",
		"source.ip": "203.0.113.7", "source.geo.country_iso_code": "FR", "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64)",
		"message": "a user signed in", "hashtrail.tenant": "acme", "hashtrail.seq": 0.0, "ecs.version": export.ECSVersion,
		"hashtrail.leaf_hash": "9f2c0c1a55d3c9b2d7e1f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4",
	} {
		if got := get(path); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	for path, want := range map[string]string{"event.category": "[authentication]", "event.type": "[start]", "related.user": "[42 Alice Martin alice@example.com]", "related.ip": "[203.0.113.7]", "tags": "[sso]"} {
		if got := fmt.Sprint(get(path)); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

// TestOCSFSchema maps one event of every catalog action, in several
// shapes, and tenants' own actions, and validates each produced object
// against the OCSF schema.
func TestOCSFSchema(t *testing.T) {
	s := loadSchema(t)
	var events []*hashtrail.Event
	shapes := sample()
	for _, c := range hashtrail.Catalog {
		for _, base := range shapes {
			e := *base
			e.Action, e.Category = c.Action, c.Category
			events = append(events, &e)
		}
		events = append(events, &hashtrail.Event{ID: "bare", Action: c.Action, Tenant: "t"}) // no actor, no context, no targets
	}
	for _, a := range []string{"invoice.refund", "invoice.create", "report.read", "doc.update", "doc.remove"} {
		for _, base := range shapes {
			e := *base
			e.Action = a
			events = append(events, &e)
		}
		events = append(events, &hashtrail.Event{ID: "bare", Action: a, Tenant: "t"})
	}
	for _, e := range events {
		line := encode(t, export.FormatOCSF, []*hashtrail.Event{e})
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		for _, p := range s.validateEvent(ev) {
			t.Errorf("%s (%s): %s", e.Action, e.ID, p)
		}
		c := export.OCSFClassOf(e.Action, export.Options{})
		if want, ok := hashtrail.LookupCatalog(e.Action); ok && c != want.OCSF {
			t.Errorf("%s: class %v, want the catalog's %v", e.Action, c, want.OCSF)
		}
	}
	if c := export.OCSFClassOf("invoice.refund", export.Options{}); c.ClassUID != 6003 || c.ActivityID != 99 {
		t.Errorf("fallback class %+v", c)
	}
	own := export.Options{Classify: func(a string) (hashtrail.OCSFClass, bool) {
		return hashtrail.OCSFClass{ClassUID: 3001, ClassName: "Account Change", ActivityID: 1, ActivityName: "Create"}, a == "member.invite"
	}}
	if c := export.OCSFClassOf("member.invite", own); c.ClassUID != 3001 {
		t.Errorf("a tenant's classification is ignored: %+v", c)
	}
}

// TestOCSFFields checks the mapping of the first sample event.
func TestOCSFFields(t *testing.T) {
	ev := export.OCSFEvent(sample()[0], export.Options{Version: "1.0.0"})
	b, _ := json.Marshal(ev)
	for _, want := range []string{
		`"class_uid":3002`, `"activity_id":1`, `"type_uid":300201`, `"category_uid":3`, `"severity_id":1`,
		`"status_id":1`, `"time":1772366400123`, `"uid":"01J9ZK8Q3Z6X4V7W8Y9A0B1C2D"`,
		`"product":{"name":"Hashtrail","vendor_name":"Hashtrail","version":"1.0.0"}`,
		`"email_addr":"alice@example.com"`, `"src_endpoint":{"ip":"203.0.113.7","location":{"city":"Lyon","country":"FR"}}`,
		`"user_agent":"Mozilla/5.0 (X11; Linux x86_64)"`, `"is_mfa":true`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no %s in %s", want, b)
		}
	}
}

// countingWriter counts bytes and discards them.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// BenchmarkEncode measures each encoder's pace (events/s) over the sample.
func BenchmarkEncode(b *testing.B) {
	events := sample()
	for _, f := range []export.Format{export.FormatJSONL, export.FormatCSV, export.FormatOCSF, export.FormatCEF, export.FormatECS} {
		b.Run(string(f), func(b *testing.B) {
			var w countingWriter
			enc, _ := export.New(f, &w, export.Options{Version: "1.0.0"})
			enc.Begin()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := enc.Encode(events[n%len(events)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			enc.End()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// TestErasedRoundTrip: an event whose subject was erased (values gone, the
// commitment marked erased) and the erasure announcement itself encode in
// every format; JSON Lines gives them back unchanged and OCSF stays valid.
func TestErasedRoundTrip(t *testing.T) {
	erased := []*hashtrail.Event{
		{
			ID: "gone", Time: mustTime("2026-03-02T08:00:00Z"), Action: "user.login", Category: hashtrail.CategoryAuthentication,
			Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess, Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42"},
			Tenant: "acme", Seq: 7, ReceivedAt: mustTime("2026-03-02T08:00:00Z"), LeafHash: "aa",
			PII: map[string]hashtrail.PIICommitment{"/actor": {Commitment: "c0ffee", Erased: true}},
		},
		{
			ID: "announce", Time: mustTime("2026-03-03T08:00:00Z"), Action: "system.subject_erased", Category: hashtrail.CategorySystem,
			Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess, Actor: &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
			Metadata: json.RawMessage(`{"subject_roles":[{"seq":7,"role":"/actor"}]}`), Tenant: "acme", Seq: 8,
			ReceivedAt: mustTime("2026-03-03T08:00:00Z"), LeafHash: "bb",
		},
	}
	out := encode(t, export.FormatJSONL, erased)
	for i, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var e hashtrail.Event
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(erased[i])
		got, _ := json.Marshal(&e)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s, want %s", erased[i].ID, got, want)
		}
	}
	for _, f := range []export.Format{export.FormatCSV, export.FormatCEF, export.FormatECS} {
		if out := encode(t, f, erased); bytes.Contains(out, []byte("example.com")) || len(out) == 0 {
			t.Errorf("%s: %s", f, out)
		}
	}
	if _, err := os.Stat(ocsfSchemaDir); err == nil {
		s := loadSchema(t)
		for _, e := range erased {
			var ev map[string]any
			if err := json.Unmarshal(encode(t, export.FormatOCSF, []*hashtrail.Event{e}), &ev); err != nil {
				t.Fatal(err)
			}
			for _, p := range s.validateEvent(ev) {
				t.Errorf("%s: %s", e.ID, p)
			}
		}
	}
}
