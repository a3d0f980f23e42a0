package syslog_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinktest"
	"github.com/hashtrail/hashtrail/sink/syslog"
)

var metaRE = regexp.MustCompile(`^<\d+>1 \S+ \S+ \S+ \S+ \S+ \[hashtrail@32473 tenant="([^"]*)" id="([^"]*)" seq="(\d+)"\] \{`)

// TestConformance runs the dispatcher's suite against a real rsyslog over
// TCP, reading what it wrote, one message a line.
func TestConformance(t *testing.T) {
	rsyslogd(t)
	sinktest.Run(t, sinktest.Harness{
		Type:        syslog.Type,
		Destination: syslog.Destination(),
		Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
			r := startRsyslog(t, "")
			settings, _ := json.Marshal(map[string]any{"address": r.addr})
			return settings, func(t *testing.T) []sinktest.Received {
				var out []sinktest.Received
				for _, line := range r.current(t, "raw.log") {
					m := metaRE.FindStringSubmatch(line)
					if m == nil {
						t.Fatalf("rsyslog received %q", line)
					}
					seq, _ := strconv.ParseInt(m[3], 10, 64)
					out = append(out, sinktest.Received{Tenant: m[1], ID: m[2], Seq: seq})
				}
				return out
			}
		},
	})
}
