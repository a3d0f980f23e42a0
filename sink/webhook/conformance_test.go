package webhook_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinktest"
	"github.com/hashtrail/hashtrail/sink/webhook"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:        webhook.Type,
		Destination: webhook.Destination(),
		Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
			rec := &receiver{}
			srv := httptest.NewServer(rec)
			t.Cleanup(srv.Close)
			sec := secret('c')
			settings, _ := json.Marshal(map[string]any{"url": srv.URL, "secrets": []string{sec}})
			return settings, func(t *testing.T) []sinktest.Received {
				rec.mu.Lock()
				reqs := append([]request(nil), rec.reqs...)
				rec.mu.Unlock()
				var out []sinktest.Received
				for _, r := range reqs {
					if err := webhook.Verify(sec, r.header, r.body, time.Now(), webhook.DefaultTolerance); err != nil {
						t.Fatalf("a request that does not verify: %v", err)
					}
					var evs []sinktest.Received
					if err := json.Unmarshal(r.body, &evs); err != nil {
						t.Fatalf("body %.100s: %v", r.body, err)
					}
					out = append(out, evs...)
				}
				return out
			}
		},
	})
}
