package nats_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/hashtrail/hashtrail/sink"
	htnats "github.com/hashtrail/hashtrail/sink/nats"
	"github.com/hashtrail/hashtrail/sink/sinktest"
	natsgo "github.com/nats-io/nats.go"
)

// TestConformance runs the dispatcher's suite against the real server: the
// receiver is a core NATS subscription on the test stream's subjects, so
// it sees every message published, duplicates included (the stream itself
// keeps each once; TestDeliverAndDedupe checks that).
func TestConformance(t *testing.T) {
	url := natsURL(t)
	sinktest.Run(t, sinktest.Harness{
		Type:        htnats.Type,
		Destination: htnats.Destination(),
		Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
			prefix, st, _ := testStream(t, url)
			info, err := st.Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			nc, err := natsgo.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(nc.Close)
			var mu sync.Mutex
			var got []sinktest.Received
			var bad error
			_, err = nc.Subscribe(prefix+".>", func(m *natsgo.Msg) {
				var r sinktest.Received
				err := json.Unmarshal(m.Data, &r)
				mu.Lock()
				defer mu.Unlock()
				if err != nil || m.Header.Get("Nats-Msg-Id") != r.Tenant+"/"+r.ID {
					bad = err
					if bad == nil {
						bad = errorf("message %s with Nats-Msg-Id %q", m.Data, m.Header.Get("Nats-Msg-Id"))
					}
				}
				got = append(got, r)
			})
			if err != nil {
				t.Fatal(err)
			}
			nc.Flush()
			settings, _ := json.Marshal(map[string]any{"url": url, "stream": info.Config.Name, "subject": prefix + ".{tenant}.{action}"})
			return settings, func(t *testing.T) []sinktest.Received {
				mu.Lock()
				defer mu.Unlock()
				if bad != nil {
					t.Fatal(bad)
				}
				return append([]sinktest.Received(nil), got...)
			}
		},
	})
}
