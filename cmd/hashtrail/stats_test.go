package main

import (
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestStatsCommand(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, ing := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)
			ing(sampleEvents...)

			var st hashtrail.Stats
			decode(t, cli(t, with("stats", "--tenant", "acme", "--group-by", "actor", "--bucket", "minute", "--json",
				"--since", "2026-01-02T10:00:00Z", "--until", "2026-01-02T10:06:00Z")...), &st)
			if st.Total != 5 || len(st.Groups) != 3 || st.Groups[0].Key != "user:42" || st.Groups[0].Count != 3 || len(st.Buckets) != 6 || st.Buckets[5].Count != 0 {
				t.Errorf("stats --json = %+v", st)
			}
			decode(t, cli(t, with("stats", "--tenant", "acme", "--group-by", "target", "-q", "-outcome:failure", "--limit", "1", "--json")...), &st)
			if st.Total != 4 || len(st.Groups) != 1 || st.Groups[0].Key != "project:7" || st.Groups[0].Count != 2 || st.OtherGroups != 2 {
				t.Errorf("stats by target, top 1 = %+v", st)
			}

			table := cli(t, with("stats", "--tenant", "acme", "--group-by", "action", "--bucket", "day")...)
			mustContain(t, table, "total", "5", "ACTION", "user.login", "DAY", "2026-01-02 Fri", "█")

			_, _, err := cliErr(t, with("stats", "--tenant", "acme", "--group-by", "ip")...)
			if err == nil || !strings.Contains(err.Error(), "--group-by") {
				t.Errorf("bad --group-by: %v", err)
			}
			_, _, err = cliErr(t, with("stats", "--tenant", "nope")...)
			if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
				t.Errorf("unknown tenant: %v", err)
			}
		})
	}
}
