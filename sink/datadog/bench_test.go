package datadog_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashtrail/hashtrail/sink/datadog"
)

// BenchmarkDeliver measures delivery throughput to the local intake (which
// decompresses, parses and checks every entry):
// go test -run - -bench . ./sink/datadog/
func BenchmarkDeliver(b *testing.B) {
	for _, bc := range []struct {
		batch int
		gzip  bool
	}{{100, false}, {1000, false}, {1000, true}} {
		b.Run(fmt.Sprintf("batch=%d/gzip=%v", bc.batch, bc.gzip), func(b *testing.B) {
			f := &fakeIntake{key: apiKey}
			s := start(b, f, map[string]any{"gzip": bc.gzip})
			batch := events("acme", 0, bc.batch)
			b.ResetTimer()
			for b.Loop() {
				if err := s.Deliver(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
				f.mu.Lock()
				f.entries, f.payloads = f.entries[:0], f.payloads[:0]
				f.mu.Unlock()
			}
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkDeliverDiscard measures the sink alone: the receiver reads each
// request and answers 202 without parsing it.
func BenchmarkDeliverDiscard(b *testing.B) {
	for _, bc := range []struct {
		batch int
		gzip  bool
	}{{100, false}, {1000, false}, {1000, true}} {
		b.Run(fmt.Sprintf("batch=%d/gzip=%v", bc.batch, bc.gzip), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			raw, _ := json.Marshal(map[string]any{"url": srv.URL, "api_key": apiKey, "gzip": bc.gzip})
			s, err := datadog.New(raw, datadog.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := events("acme", 0, bc.batch)
			for b.Loop() {
				if err := s.Deliver(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
