package splunk_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashtrail/hashtrail/sink/splunk"
)

// BenchmarkDeliver measures delivery throughput to the local HEC (which
// parses and checks every event, and with ack answers each poll at once):
// go test -run - -bench . ./sink/splunk/
func BenchmarkDeliver(b *testing.B) {
	for _, bc := range []struct {
		batch int
		ack   bool
	}{{100, false}, {1000, false}, {1000, true}} {
		b.Run(fmt.Sprintf("batch=%d/ack=%v", bc.batch, bc.ack), func(b *testing.B) {
			h := &fakeHEC{token: token, ack: bc.ack, ackAfter: 1}
			s := start(b, h, map[string]any{"ack": bc.ack})
			batch := events("acme", 0, bc.batch)
			b.ResetTimer()
			for b.Loop() {
				if err := s.Deliver(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
				h.mu.Lock()
				h.events, h.raw = h.events[:0], h.raw[:0]
				h.mu.Unlock()
			}
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkDeliverDiscard measures the sink alone: the receiver reads each
// request and answers success without parsing it.
func BenchmarkDeliverDiscard(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				io.WriteString(w, `{"text":"Success","code":0}`)
			}))
			defer srv.Close()
			raw, _ := json.Marshal(map[string]any{"url": srv.URL, "token": token})
			s, err := splunk.New(raw, splunk.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := events("acme", 0, n)
			for b.Loop() {
				if err := s.Deliver(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
