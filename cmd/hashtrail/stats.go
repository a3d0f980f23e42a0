package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/spf13/cobra"
)

var _ hashtrail.StatsService = (*httpService)(nil)

// newStatsCmd builds `hashtrail stats`: counts of a tenant's events over
// the filters of `events`, grouped by a field and per time bucket.
func newStatsCmd() *cobra.Command {
	var (
		ff      filterFlags
		groupBy string
		bucket  string
		limit   int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "stats --tenant T [--group-by FIELD] [--bucket WIDTH] [filters]",
		Short: "Count a tenant's events, grouped by a field and per time bucket",
		Long: `Count the events that "hashtrail events" with the same filters would list,
as GET /v1/tenants/{t}/stats does: the total, the top --limit groups of
--group-by (action, category, actor, target, outcome, country, severity), and
with --bucket (minute, hour, day, week, month; UTC, weeks from Monday) the
count of each bucket from --since to --until. Events past their retention are
never counted.

Reaches Hashtrail offline on the data directory (--data) or through a running
server (--url and --api-key).`,
		Example: `  hashtrail stats --tenant acme --group-by category --bucket day --since 30d
  hashtrail stats --tenant acme --group-by actor --limit 20 -q 'action:user.login -outcome:success'
  hashtrail stats --tenant acme --group-by country --since 7d --json`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	ff.add(cmd)
	f := cmd.Flags()
	f.StringVar(&groupBy, "group-by", "", "the field to group by: action, category, actor, target, outcome, country, severity")
	f.StringVar(&bucket, "bucket", "", "time buckets: minute, hour, day, week or month")
	f.IntVar(&limit, "limit", 0, fmt.Sprintf("how many top groups (default %d, at most %d)", hashtrail.DefaultStatsLimit, hashtrail.MaxStatsLimit))
	f.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q, err := ff.query(time.Now())
		if err != nil {
			return readable(err)
		}
		q.Order, q.Limit = "", 0
		sq := &hashtrail.StatsQuery{Query: *q, GroupBy: hashtrail.StatsField(groupBy), Bucket: hashtrail.StatsBucket(bucket), Limit: limit}
		if err := sq.Check(); err != nil {
			return readable(flagNames(err))
		}
		return rf.withService(cmd, func(svc service) error {
			ss, ok := svc.(hashtrail.StatsService)
			if !ok {
				return fmt.Errorf("this connection cannot count events")
			}
			st, err := ss.Stats(cmd.Context(), sq)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return printStats(cmd.OutOrStdout(), sq, st)
		})
	}
	return cmd
}

// flagNames renames the parameters of a StatsQuery error to the flags.
func flagNames(err error) error {
	e, ok := err.(*hashtrail.Error)
	if !ok {
		return err
	}
	c := *e
	c.Fields = nil
	for _, f := range e.Fields {
		f.Field = "--" + strings.ReplaceAll(f.Field, "_", "-")
		c.Fields = append(c.Fields, f)
	}
	return &c
}

// printStats writes st as readable tables: the total, the groups with a
// bar, and the buckets.
func printStats(w io.Writer, sq *hashtrail.StatsQuery, st *hashtrail.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "total\t%d\n", st.Total)
	if sq.GroupBy != "" {
		fmt.Fprintf(tw, "\n%s\tcount\t\n", strings.ToUpper(string(sq.GroupBy)))
		var top int64
		for _, g := range st.Groups {
			top = max(top, g.Count)
		}
		for _, g := range st.Groups {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", g.Key, g.Count, bar(g.Count, top, 30))
		}
		if st.OtherGroups > 0 {
			fmt.Fprintf(tw, "(other)\t%d\t\n", st.OtherGroups)
		}
	}
	if sq.Bucket != "" {
		fmt.Fprintf(tw, "\n%s\tcount\t\n", strings.ToUpper(string(sq.Bucket)))
		var top int64
		for _, b := range st.Buckets {
			top = max(top, b.Count)
		}
		layout := map[hashtrail.StatsBucket]string{hashtrail.BucketMinute: "2006-01-02 15:04", hashtrail.BucketHour: "2006-01-02 15:04",
			hashtrail.BucketDay: "2006-01-02 Mon", hashtrail.BucketWeek: "2006-01-02 Mon", hashtrail.BucketMonth: "2006-01"}[sq.Bucket]
		for _, b := range st.Buckets {
			var parts []string
			for _, g := range b.Groups {
				parts = append(parts, fmt.Sprintf("%s=%d", g.Key, g.Count))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s %s\n", b.Start.UTC().Format(layout), b.Count, bar(b.Count, top, 30), strings.Join(parts, " "))
		}
	}
	return tw.Flush()
}

// bar draws n of top as up to width blocks.
func bar(n, top int64, width int) string {
	if top <= 0 || n <= 0 {
		return ""
	}
	return strings.Repeat("█", max(1, int(n*int64(width)/top)))
}

// Stats is GET /v1/tenants/{t}/stats.
func (c *httpService) Stats(ctx context.Context, sq *hashtrail.StatsQuery) (*hashtrail.Stats, error) {
	q := &sq.Query
	v, err := filterValues(q)
	if err != nil {
		return nil, err
	}
	setIf(v, "group_by", string(sq.GroupBy))
	setIf(v, "bucket", string(sq.Bucket))
	if sq.Limit > 0 {
		v.Set("limit", strconv.Itoa(sq.Limit))
	}
	var st hashtrail.Stats
	if err := c.do(ctx, http.MethodGet, tenantPath(q.Tenant)+"/stats?"+v.Encode(), nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
