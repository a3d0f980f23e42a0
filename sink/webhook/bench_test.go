package webhook_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDeliver measures delivery throughput to a local receiver that
// reads and discards each request: go test -run - -bench . ./sink/webhook/
func BenchmarkDeliver(b *testing.B) {
	for _, bc := range []struct {
		name     string
		batch    int
		perEvent bool
	}{
		{"batch=100", 100, false},
		{"batch=1000", 1000, false},
		{"per_event", 100, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			s := newSink(b, map[string]any{"url": srv.URL, "secrets": []string{secret('a')}, "per_event": bc.perEvent})
			batch := events("acme", 0, bc.batch)
			b.ResetTimer()
			for b.Loop() {
				if err := s.Deliver(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
