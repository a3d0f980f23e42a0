package ledger_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// hookTypes offers one destination type, "hook", whose settings need a
// url and whose "secret" is secret.
type hookTypes struct{}

func (hookTypes) CheckSink(s *hashtrail.SinkConfig) []hashtrail.FieldError {
	if s.Type != "hook" {
		return []hashtrail.FieldError{{Field: "type", Message: "must be hook"}}
	}
	var m map[string]any
	if json.Unmarshal(s.Settings, &m) != nil || m["url"] == nil {
		return []hashtrail.FieldError{{Field: "settings.url", Message: "is required"}}
	}
	return nil
}

func (hookTypes) SecretSettings(typ string) []string { return []string{"secret"} }

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSinkService(t *testing.T) {
	clk := &clock{t: time.Now().UTC()}
	changed := 0
	l, st := MustOpen(t, ledger.Config{AutoCreateTenants: true, Now: clk.now, Sinks: hookTypes{}, SinksChanged: func() { changed++ }})
	root := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(root, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	settings := json.RawMessage(`{"url":"https://siem.example.com/in","secret":"whsec_topsecret"}`)

	// Authorization.
	_, err := l.CreateSink(as(t.Context(), "acme", hashtrail.RoleRead), &hashtrail.SinkConfig{Tenant: "acme", Type: "hook", Settings: settings})
	wantCode(t, err, hashtrail.EFORBIDDEN)
	_, err = l.CreateSink(as(t.Context(), "globex", hashtrail.RoleAdmin), &hashtrail.SinkConfig{Tenant: "acme", Type: "hook", Settings: settings})
	wantCode(t, err, hashtrail.ENOTFOUND)
	_, err = l.CreateSink(admin, &hashtrail.SinkConfig{Tenant: hashtrail.AllTenants, Type: "hook", Settings: settings})
	wantCode(t, err, hashtrail.EFORBIDDEN)
	// Validation.
	_, err = l.CreateSink(admin, &hashtrail.SinkConfig{Tenant: "acme", Type: "hook", Settings: settings, Filter: "action:"})
	wantField(t, err, "filter")
	_, err = l.CreateSink(admin, &hashtrail.SinkConfig{Tenant: "acme", Type: "nope", Settings: settings})
	wantField(t, err, "type")
	_, err = l.CreateSink(admin, &hashtrail.SinkConfig{Tenant: "acme", Type: "hook", Settings: settings, BatchSize: 1 << 20})
	wantField(t, err, "batch_size")

	// Ingest some history first: a new sink starts after it.
	for range 3 {
		if _, err := ingest(t, admin, l, "acme", `{"action":"user.login","actor":{"type":"user","id":"1"}}`); err != nil {
			t.Fatal(err)
		}
		clk.add(10 * time.Second)
	}
	info, err := l.CreateSink(admin, &hashtrail.SinkConfig{Tenant: "acme", Name: "siem", Type: "hook", Settings: settings, Filter: "category:authentication"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.ID, "snk_") || info.State != hashtrail.SinkActive || changed != 1 {
		t.Errorf("created %+v (changed %d)", info.SinkConfig, changed)
	}
	if strings.Contains(string(info.Settings), "topsecret") || !strings.Contains(string(info.Settings), hashtrail.RedactedSecret) {
		t.Errorf("answer settings %s: the secret is not redacted", info.Settings)
	}
	stored, err := st.Sink(t.Context(), info.ID)
	if err != nil || !strings.Contains(string(stored.Settings), "whsec_topsecret") {
		t.Fatalf("stored settings %s (%v): the secret must be kept", stored.Settings, err)
	}
	// It starts at the end of the log; its own sink.create event follows.
	if len(info.Status) != 1 || info.Status[0].Next != 3 || info.Status[0].LogSize != 4 || info.Status[0].LagEvents != 1 {
		t.Errorf("status of a new sink: %+v", info.Status)
	}
	// The act is in acme's log, without the settings.
	list, err := l.Events(admin, &hashtrail.Query{Tenant: "acme", Actions: []string{"sink.create"}, Limit: 10})
	if err != nil || len(list.Events) != 1 {
		t.Fatalf("sink.create events: %v, %v", list, err)
	}
	ev, _ := json.Marshal(list.Events[0])
	if strings.Contains(string(ev), "topsecret") || strings.Contains(string(ev), "siem.example.com") || list.Events[0].Category != hashtrail.CategorySystem {
		t.Errorf("audit event %s", ev)
	}

	// Another tenant's admin sees nothing; the installation admin does.
	_, err = l.Sink(as(t.Context(), "globex", hashtrail.RoleAdmin), "globex", info.ID)
	wantCode(t, err, hashtrail.ENOTFOUND)
	if _, err := l.Sink(root, "acme", info.ID); err != nil {
		t.Errorf("the installation admin reading a tenant's sink: %v", err)
	}
	_, err = l.Sink(root, hashtrail.AllTenants, info.ID)
	wantCode(t, err, hashtrail.ENOTFOUND)

	// Update: the redacted secret sent back keeps the stored one.
	newSettings := json.RawMessage(`{"url":"https://siem2.example.com/in","secret":"[redacted]"}`)
	name := "siem 2"
	info, err = l.UpdateSink(admin, "acme", info.ID, &hashtrail.SinkPatch{Name: &name, Settings: &newSettings})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = st.Sink(t.Context(), info.ID)
	if !strings.Contains(string(stored.Settings), "whsec_topsecret") || !strings.Contains(string(stored.Settings), "siem2") || stored.Name != "siem 2" ||
		stored.Filter != "category:authentication" {
		t.Errorf("after update: %+v %s", stored, stored.Settings)
	}

	// Pause and resume; resume forgets failures.
	info, err = l.PauseSink(admin, "acme", info.ID, "")
	if err != nil || info.State != hashtrail.SinkPaused || !strings.Contains(info.PausedReason, "key_test_admin") {
		t.Fatalf("pause: %+v, %v", info, err)
	}
	if err := st.SetSinkCursor(t.Context(), &hashtrail.SinkCursor{Sink: info.ID, Tenant: "acme", Next: 3, Failures: 7, LastError: "x"}, 3); err != nil {
		t.Fatal(err)
	}
	info, err = l.ResumeSink(admin, "acme", info.ID)
	if err != nil || info.State != hashtrail.SinkActive || info.PausedReason != "" || info.Status[0].Failures != 0 {
		t.Fatalf("resume: %+v, %v", info, err)
	}

	// Replay by seq and by time (received_at).
	zero := int64(0)
	info, err = l.ReplaySink(admin, "acme", info.ID, &hashtrail.SinkReplay{FromSeq: &zero})
	if err != nil || info.Status[0].Next != 0 || info.Status[0].LagEvents != info.Status[0].LogSize {
		t.Fatalf("replay from 0: %+v, %v", info.Status, err)
	}
	evs, _ := st.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc, Limit: 100})
	from := evs[1].ReceivedAt
	info, err = l.ReplaySink(admin, "acme", info.ID, &hashtrail.SinkReplay{FromTime: hashtrail.NewTime(from.Add(-time.Second))})
	if err != nil || info.Status[0].Next != 1 {
		t.Fatalf("replay from a time: %+v, %v", info.Status, err)
	}
	if info.Status[0].LagSeconds <= 0 {
		t.Errorf("lag seconds %v with events waiting", info.Status[0].LagSeconds)
	}
	info, err = l.ReplaySink(admin, "acme", info.ID, &hashtrail.SinkReplay{FromTime: hashtrail.NewTime(clk.now().Add(time.Hour))})
	if err != nil || info.Status[0].Next != info.Status[0].LogSize-1 { // its sink.replay event follows
		t.Fatalf("replay from the future: %+v, %v", info.Status, err)
	}
	_, err = l.ReplaySink(admin, "acme", info.ID, &hashtrail.SinkReplay{})
	wantField(t, err, "from_seq")

	// Installation-wide sinks cover every tenant.
	wide, err := l.CreateSink(root, &hashtrail.SinkConfig{Tenant: hashtrail.AllTenants, Type: "hook", Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	if len(wide.Status) < 2 {
		t.Errorf("an installation-wide sink's status covers %d tenants", len(wide.Status))
	}
	all, err := l.Sinks(root, hashtrail.AllTenants)
	if err != nil || len(all) != 1 || all[0].ID != wide.ID {
		t.Errorf("installation-wide sinks: %v, %v", all, err)
	}

	// Delete.
	if err := l.DeleteSink(admin, "acme", info.ID); err != nil {
		t.Fatal(err)
	}
	_, err = l.Sink(admin, "acme", info.ID)
	wantCode(t, err, hashtrail.ENOTFOUND)
	list, _ = l.Events(admin, &hashtrail.Query{Tenant: "acme", Actions: []string{"sink.*"}, Limit: 100})
	var acts []string
	for _, e := range list.Events {
		acts = append(acts, e.Action)
	}
	if got := strings.Join(acts, " "); got != "sink.delete sink.replay sink.replay sink.replay sink.resume sink.pause sink.update sink.create" {
		t.Errorf("audited acts: %s", got)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := hashtrail.ErrorCode(err); got != code {
		t.Errorf("error %v (code %q), want %q", err, got, code)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := err.(*hashtrail.Error)
	if !ok || e.Code != hashtrail.EINVALID {
		t.Errorf("error %v, want EINVALID on %s", err, field)
		return
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Errorf("error %v names %v, not %s", err, e.Fields, field)
}
