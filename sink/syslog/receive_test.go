package syslog_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/syslog"
)

func openSink(tb testing.TB, cfg syslog.Config) *syslog.Sink {
	tb.Helper()
	if cfg.Hostname == "" {
		cfg.Hostname, cfg.ProcID = "web-1", "4242"
	}
	s, err := syslog.New(cfg, syslog.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// deliverAndCheck delivers batch and checks that rsyslog received exactly
// one message per event, each exactly as formatted, with the header
// fields parsed as sent; it returns the fields lines of the batch.
func deliverAndCheck(t *testing.T, r *rsyslog, s *syslog.Sink, before int, batch []*hashtrail.Event) [][]string {
	t.Helper()
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	raw := r.lines(t, "raw.log", before+len(batch))[before:]
	fields := r.lines(t, "fields.log", before+len(batch))[before:]
	var out [][]string
	for i, e := range batch {
		want, err := s.Formatter().Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if raw[i] != string(want) {
			t.Errorf("event %d: rsyslog received\n%s\nwant\n%s", i, raw[i], want)
		}
		f := strings.Split(fields[i], "\t")
		if len(f) != 8 {
			t.Fatalf("event %d: fields line %q", i, fields[i])
		}
		wantMsgID := strings.Map(func(r rune) rune {
			if r < 33 || r > 126 {
				return '_'
			}
			return r
		}, e.Action)
		if len(wantMsgID) > 32 {
			wantMsgID = wantMsgID[:32]
		}
		if f[0] != "83" || f[1] != "2026-11-23T09:00:00.123456Z" || f[2] != "web-1" || f[3] != "hashtrail" || f[4] != "4242" || f[5] != wantMsgID {
			t.Errorf("event %d: parsed header %q", i, f[:6])
		}
		out = append(out, f)
	}
	return out
}

func TestRsyslogFormats(t *testing.T) {
	r := startRsyslog(t, "")
	n := 0
	for _, format := range []string{"json", "sd", "cef"} {
		s := openSink(t, syslog.Config{Address: r.addr, Format: format})
		batch := []*hashtrail.Event{event(1), hostile(2), event(3)}
		f := deliverAndCheck(t, r, s, n, batch)
		n += len(batch)
		switch format {
		case "json":
			for i, e := range batch {
				if f[i][6] != `[hashtrail@32473 tenant="acme" id="`+e.ID+`" seq="`+itoa(e.Seq)+`"]` {
					t.Errorf("json: structured data %q", f[i][6])
				}
				var got hashtrail.Event
				if err := json.Unmarshal([]byte(strings.TrimPrefix(f[i][7], " ")), &got); err != nil {
					t.Fatalf("json: MSG %q: %v", f[i][7], err)
				}
				if got.Description != e.Description || got.Action != e.Action || got.Reason != e.Reason {
					t.Errorf("json: MSG does not round-trip: %+v", got)
				}
			}
		case "sd":
			if !strings.HasPrefix(f[1][6], `[hashtrail@32473 tenant="acme" id="evt-2" seq="2" time=`) || !strings.HasSuffix(f[1][6], `"]`) {
				t.Errorf("sd: structured data %q", f[1][6])
			}
			if !strings.Contains(f[1][6], `reason="x\"\] [forged@1 a=\"b\"\] \\"`) {
				t.Errorf("sd: reason not escaped in %q", f[1][6])
			}
			if got := strings.TrimPrefix(f[1][7], " "); got != `a\r\nb\n<13>1 2026-01-01T00:00:00Z forged evil - - - pwned ] " \\ | = end\u2028x\u0000` {
				t.Errorf("sd: MSG %q", got)
			}
		case "cef":
			if !strings.HasPrefix(strings.TrimPrefix(f[0][7], " "), "CEF:0|Hashtrail|Hashtrail|dev|user.login|a user signed in|8|rt=") {
				t.Errorf("cef: MSG %q", f[0][7])
			}
		}
	}
	// Nothing forged: every message came from our host and app.
	for _, line := range r.lines(t, "fields.log", n) {
		if strings.Contains(strings.SplitN(line, "\t", 4)[2], "forged") {
			t.Errorf("a forged message: %q", line)
		}
	}
}

func TestRsyslogTLS(t *testing.T) {
	r := startRsyslog(t, "tls")
	s := openSink(t, syslog.Config{Address: r.addr, TLS: &syslog.TLSConfig{CAFile: r.ca}})
	var batch []*hashtrail.Event
	for i := range 100 {
		batch = append(batch, event(int64(i)))
	}
	batch[50] = hostile(50)
	deliverAndCheck(t, r, s, 0, batch)
	deliverAndCheck(t, r, s, 100, batch[:10])

	// A receiver whose certificate the configured roots do not trust is a
	// permanent failure.
	bad := openSink(t, syslog.Config{Address: r.addr, TLS: &syslog.TLSConfig{}})
	if err := bad.Deliver(t.Context(), batch[:1]); !hashtrail.IsPermanent(err) {
		t.Errorf("untrusted certificate: %v, want a permanent error", err)
	}
}

// A receiver that authenticates senders (RFC 5425 §4.2) takes the sink's
// client certificate and refuses a sink without one.
func TestRsyslogMutualTLS(t *testing.T) {
	r := startRsyslog(t, "mtls")
	s := openSink(t, syslog.Config{Address: r.addr, TLS: &syslog.TLSConfig{CAFile: r.ca,
		CertFile: filepath.Join(r.dir, "client.pem"), KeyFile: filepath.Join(r.dir, "client.key")}})
	deliverAndCheck(t, r, s, 0, []*hashtrail.Event{event(1), hostile(2)})

	// Under TLS 1.3 the receiver refuses the missing certificate only
	// after the client's handshake is done: the sink must notice, not
	// write the batch into a closing connection and report it delivered.
	anonymous := openSink(t, syslog.Config{Address: r.addr, TLS: &syslog.TLSConfig{CAFile: r.ca}})
	if err := anonymous.Deliver(t.Context(), []*hashtrail.Event{event(3)}); err == nil || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("Deliver without a client certificate = %v, want an error pointing at the client certificate", err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := r.current(t, "raw.log"); len(got) != 2 {
		t.Errorf("rsyslog took %d messages, want only the 2 of the authenticated sink", len(got))
	}
}

// A receiver restarted between batches: the sink notices the closed
// connection and reconnects, and nothing is lost.
func TestRsyslogReconnect(t *testing.T) {
	r := startRsyslog(t, "")
	s := openSink(t, syslog.Config{Address: r.addr})
	deliverAndCheck(t, r, s, 0, []*hashtrail.Event{event(1)})
	r.stop()
	if err := s.Deliver(t.Context(), []*hashtrail.Event{event(2)}); err == nil {
		t.Error("Deliver with the receiver down = nil")
	}
	r.start(t)
	deliverAndCheck(t, r, s, 1, []*hashtrail.Event{event(3), event(4)})
	r.stop()
	r.start(t)
	deliverAndCheck(t, r, s, 3, []*hashtrail.Event{event(5)})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// BenchmarkDeliver measures delivery to a real rsyslog over TCP in
// batches of 1,000, JSON format, reporting events/s (written to the
// socket; rsyslog's own pace is not waited for).
func BenchmarkDeliver(b *testing.B) {
	for _, format := range []string{"json", "cef"} {
		b.Run(format, func(b *testing.B) {
			r := startRsyslog(b, "")
			s := openSink(b, syslog.Config{Address: r.addr, Format: format})
			batch := make([]*hashtrail.Event, 1000)
			for i := range batch {
				batch[i] = event(int64(i))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Deliver(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
		})
	}
	// Until rsyslog has written every message to its files.
	b.Run("json-stored", func(b *testing.B) {
		r := startRsyslog(b, "")
		s := openSink(b, syslog.Config{Address: r.addr})
		batch := make([]*hashtrail.Event, 1000)
		for i := range batch {
			batch[i] = event(int64(i))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.Deliver(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		r.lines(b, "raw.log", b.N*len(batch))
		b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
	})
}
