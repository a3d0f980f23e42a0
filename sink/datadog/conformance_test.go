package datadog_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/datadog"
	"github.com/hashtrail/hashtrail/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:        datadog.Type,
		Destination: datadog.Destination(),
		Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
			f := &fakeIntake{key: apiKey}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			settings, _ := json.Marshal(map[string]any{"url": srv.URL, "api_key": apiKey, "gzip": true})
			return settings, func(t *testing.T) []sinktest.Received {
				entries, _ := f.received()
				out := make([]sinktest.Received, 0, len(entries))
				for _, e := range entries {
					var ev sinktest.Received
					if err := json.Unmarshal([]byte(e["message"].(string)), &ev); err != nil {
						t.Fatalf("message %.100v: %v", e["message"], err)
					}
					out = append(out, ev)
				}
				return out
			}
		},
	})
}
