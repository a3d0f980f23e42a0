package nats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	htnats "github.com/hashtrail/hashtrail/sink/nats"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsURL returns the test server's URL, or skips the test.
func natsURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("HASHTRAIL_TEST_NATS")
	if u == "" {
		tb.Skip("HASHTRAIL_TEST_NATS is not set: set it to a NATS server with JetStream (nats://127.0.0.1:4222) to run the NATS sink tests")
	}
	return u
}

// testStream creates a stream of its own capturing <prefix>.> and deletes
// it at the end; it returns the prefix and the stream.
func testStream(tb testing.TB, url string) (string, jetstream.Stream, jetstream.JetStream) {
	tb.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	var r [6]byte
	rand.Read(r[:])
	name := "HT_TEST_" + strings.ToUpper(hex.EncodeToString(r[:]))
	prefix := "httest" + hex.EncodeToString(r[:])
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{prefix + ".>"}, Storage: jetstream.MemoryStorage,
		Duplicates: 2 * time.Minute,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { js.DeleteStream(context.Background(), name) })
	return prefix, st, js
}

func events(tenant string, from, n int) []*hashtrail.Event {
	out := make([]*hashtrail.Event, n)
	for i := range out {
		seq := int64(from + i)
		out[i] = &hashtrail.Event{
			ID: fmt.Sprintf("evt-%06d", seq), Time: hashtrail.NewTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)),
			Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
			Outcome: hashtrail.OutcomeSuccess, Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "a@example.com"},
			Tenant: tenant, Seq: seq, ReceivedAt: hashtrail.NewTime(time.Date(2026, 11, 23, 9, 0, 1, 0, time.UTC)),
			LeafHash: strings.Repeat("ab", 32),
		}
	}
	return out
}

func open(tb testing.TB, cfg htnats.Config) *htnats.Sink {
	tb.Helper()
	s, err := htnats.New(cfg, htnats.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func msgs(tb testing.TB, st jetstream.Stream) uint64 {
	tb.Helper()
	info, err := st.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}

func TestDeliverAndDedupe(t *testing.T) {
	url := natsURL(t)
	prefix, st, _ := testStream(t, url)
	info, _ := st.Info(t.Context())
	s := open(t, htnats.Config{URL: url, Stream: info.Config.Name, Subject: prefix + ".{tenant}.{action}"})

	batch := events("acme", 0, 50)
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	// Redelivery of the same batch (a retry after a lost answer) and of an
	// overlapping one: the stream keeps each event once.
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(t.Context(), events("acme", 25, 50)); err != nil {
		t.Fatal(err)
	}
	if n := msgs(t, st); n != 75 {
		t.Fatalf("stream holds %d messages, want 75 (each event once)", n)
	}

	m, err := st.GetMsg(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := prefix + ".acme.user.login"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if got := m.Header.Get("Nats-Msg-Id"); got != "acme/evt-000000" {
		t.Errorf("Nats-Msg-Id %q", got)
	}
	if m.Header.Get(htnats.HeaderTenant) != "acme" || m.Header.Get(htnats.HeaderSeq) != "0" {
		t.Errorf("headers %v", m.Header)
	}
	var got hashtrail.Event
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "evt-000000" || got.Tenant != "acme" || got.Seq != 0 || got.LeafHash != batch[0].LeafHash || got.Actor.Email != "a@example.com" {
		t.Errorf("body %s", m.Data)
	}
}

// A fanned-out event keeps its id in every tenant: both copies are kept.
func TestFanOutCopiesKept(t *testing.T) {
	url := natsURL(t)
	prefix, st, _ := testStream(t, url)
	info, _ := st.Info(t.Context())
	s := open(t, htnats.Config{URL: url, Stream: info.Config.Name, Subject: prefix + ".{tenant}.{action}"})
	for _, tenant := range []string{"acme", "globex"} {
		b := events(tenant, 7, 1)
		b[0].ID = "shared-id"
		if err := s.Deliver(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		if err := s.Deliver(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	if n := msgs(t, st); n != 2 {
		t.Fatalf("stream holds %d messages, want 2 (one per tenant)", n)
	}
}

// Values can neither add tokens nor wildcards to a subject.
func TestSubjectEscaping(t *testing.T) {
	s, err := htnats.New(htnats.Config{URL: "nats://x:4222", Stream: "S", Subject: "audit.{tenant}.{severity}.{action}"}, htnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &hashtrail.Event{Tenant: "a.b", Action: "user.*.> x", Severity: "high"}
	if got, want := s.Subject(e), "audit.a%2Eb.high.user.%2A.%3E%20x"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	e = &hashtrail.Event{Tenant: "acme", Action: "a..b%"}
	if got, want := s.Subject(e), "audit.acme._.a._.b%25"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
}

func TestMissingStreamIsPermanent(t *testing.T) {
	url := natsURL(t)
	s := open(t, htnats.Config{URL: url, Stream: "HT_TEST_NO_SUCH_STREAM", Subject: "htnostream.{tenant}.{action}"})
	err := s.Deliver(t.Context(), events("acme", 0, 3))
	if !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Deliver = %v, want a permanent error naming the missing stream", err)
	}
}

func TestUncapturedSubjectIsPermanent(t *testing.T) {
	url := natsURL(t)
	_, st, _ := testStream(t, url)
	info, _ := st.Info(t.Context())
	s := open(t, htnats.Config{URL: url, Stream: info.Config.Name, Subject: "htnobodylistens.{tenant}.{action}"})
	err := s.Deliver(t.Context(), events("acme", 0, 3))
	if !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "does not capture") {
		t.Fatalf("Deliver = %v, want a permanent error saying the stream does not capture the subject", err)
	}
}

// An event over the server's max_payload (1 MB by default) never fits.
func TestOverMaxPayloadIsPermanent(t *testing.T) {
	url := natsURL(t)
	prefix, st, _ := testStream(t, url)
	info, _ := st.Info(t.Context())
	s := open(t, htnats.Config{URL: url, Stream: info.Config.Name, Subject: prefix + ".{tenant}.{action}"})
	b := events("acme", 0, 2)
	b[1].Metadata = json.RawMessage(`{"big":"` + strings.Repeat("x", 1<<20) + `"}`)
	if err := s.Deliver(t.Context(), b); !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "max_payload") {
		t.Fatalf("Deliver = %v, want a permanent error naming max_payload", err)
	}
}

func TestServerDownIsRetryable(t *testing.T) {
	s := open(t, htnats.Config{URL: "nats://127.0.0.1:1", Stream: "S"})
	err := s.Deliver(t.Context(), events("acme", 0, 1))
	if err == nil || hashtrail.IsPermanent(err) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct{ settings, field string }{
		{`{}`, "settings.url"},
		{`{"url":"http://x"}`, "settings.url"},
		{`{"url":"nats://x:4222"}`, "settings.stream"},
		{`{"url":"nats://x:4222","stream":"a.b"}`, "settings.stream"},
		{`{"url":"nats://x:4222","stream":"S","subject":"audit.>"}`, "settings.subject"},
		{`{"url":"nats://x:4222","stream":"S","subject":"audit.{nope}"}`, "settings.subject"},
		{`{"url":"nats://x:4222","stream":"S","subject":"audit.x{tenant}"}`, "settings.subject"},
		{`{"url":"nats://x:4222","stream":"S","subject":"audit..x"}`, "settings.subject"},
		{`{"url":"nats://x:4222","stream":"S","password":"p"}`, "settings.user"},
		{`{"url":"nats://x:4222","stream":"S","ack_timeout":"soon"}`, "settings.ack_timeout"},
		{`{"url":"nats://x:4222","stream":"S","tls":{"cert_file":"c"}}`, "settings.tls.cert_file"},
		{`{"url":"nats://x:4222","stream":"S","bogus":1}`, "settings"},
	} {
		_, err := htnats.ParseConfig(json.RawMessage(tc.settings))
		var he *hashtrail.Error
		if !asError(err, &he) || len(he.Fields) != 1 || he.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want an error naming %s", tc.settings, err, tc.field)
		}
	}
	if _, err := htnats.ParseConfig(json.RawMessage(`{"url":"nats://a:4222,nats://b:4222","stream":"AUDIT","user":"u","password":"p","tls":{"ca_file":"ca.pem"}}`)); err != nil {
		t.Error(err)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func asError(err error, target **hashtrail.Error) bool {
	e, ok := err.(*hashtrail.Error)
	*target = e
	return ok
}

// BenchmarkDeliver measures delivery to the real server in batches of
// 1,000 (the dispatcher's largest batch), reporting events/s.
func BenchmarkDeliver(b *testing.B) {
	url := natsURL(b)
	prefix, st, _ := testStream(b, url)
	info, _ := st.Info(context.Background())
	s := open(b, htnats.Config{URL: url, Stream: info.Config.Name, Subject: prefix + ".{tenant}.{action}"})
	const batch = 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Deliver(context.Background(), events("acme", i*batch, batch)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkServerBaseline is the server's own pace for comparison: bare
// asynchronous JetStream publishes of the same bodies (no sink, no
// Nats-Msg-Id), 1,000 at a time, waiting for every acknowledgement.
func BenchmarkServerBaseline(b *testing.B) {
	url := natsURL(b)
	prefix, _, js := testStream(b, url)
	body, _ := json.Marshal(events("acme", 0, 1)[0])
	const batch = 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < batch; j++ {
			if _, err := js.PublishAsync(prefix+".acme.user.login", body); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(10 * time.Second):
			b.Fatal("acks did not come")
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
