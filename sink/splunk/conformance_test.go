package splunk_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinktest"
	"github.com/hashtrail/hashtrail/sink/splunk"
)

func TestConformance(t *testing.T) {
	for _, ack := range []bool{false, true} {
		name := "NoAck"
		if ack {
			name = "Ack"
		}
		t.Run(name, func(t *testing.T) {
			sinktest.Run(t, sinktest.Harness{
				Type:        splunk.Type,
				Destination: splunk.Destination(),
				Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
					h := &fakeHEC{token: token, ack: ack, ackAfter: 2, indexes: map[string]bool{"audit": true}}
					srv := httptest.NewServer(h)
					t.Cleanup(srv.Close)
					settings, _ := json.Marshal(map[string]any{"url": srv.URL, "token": token, "index": "audit", "ack": ack, "ack_poll_interval": "10ms"})
					return settings, func(t *testing.T) []sinktest.Received {
						var out []sinktest.Received
						for _, e := range h.indexed() {
							out = append(out, sinktest.Received{Tenant: e.Event.Tenant, ID: e.Event.ID, Seq: e.Event.Seq})
						}
						return out
					}
				},
			})
		})
	}
}
