package webhook_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinktest"
	"github.com/hashtrail/hashtrail/sink/webhook"
)

// BenchmarkDispatch measures end-to-end throughput: 100,000 events
// appended to an in-memory log at once, delivered by a real dispatcher in
// batches of 1,000 to a local receiver that reads every request (and
// learns the last seq from webhook-id). go test -run - -bench Dispatch ./sink/webhook/
func BenchmarkDispatch(b *testing.B) {
	const n = 100_000
	var last atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := r.Header.Get("webhook-id")
		if i := strings.LastIndexByte(id, '-'); i >= 0 {
			s, _ := strconv.ParseInt(id[i+1:], 10, 64)
			last.Store(s)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	settings, _ := json.Marshal(map[string]any{"url": srv.URL, "secrets": []string{secret('a')}})
	for b.Loop() {
		b.StopTimer()
		store := sinktest.NewMemStore()
		store.Append("acme")
		if err := store.CreateSink(b.Context(), &hashtrail.SinkConfig{ID: "w", Tenant: "acme", Type: webhook.Type, Settings: settings, BatchSize: 1000}); err != nil {
			b.Fatal(err)
		}
		d := sink.New(sink.Config{
			Store: store, Registry: sink.Registry{webhook.Type: webhook.Destination()},
			Env:    sink.Env{Guard: &sink.Guard{AllowPrivate: true}, Logger: slog.New(slog.DiscardHandler)},
			Logger: slog.New(slog.DiscardHandler), PollInterval: 10 * time.Millisecond,
		})
		evs := make([]*hashtrail.Event, n)
		for i := range evs {
			evs[i] = sinktest.NewEvent("acme", i)
		}
		last.Store(-1)
		b.StartTimer()
		store.Append("acme", evs...)
		d.Notify("acme")
		for last.Load() != n-1 {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		d.Close(b.Context())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}
