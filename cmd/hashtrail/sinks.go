package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/spf13/cobra"
)

// newSinksCmd builds `hashtrail sinks` and its subcommands.
func newSinksCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sinks",
		Short: "Stream events to other systems: add, list, show, pause, resume, replay, remove sinks",
		Long: `Manage sinks. A sink delivers every committed event of one tenant
(--tenant) or of every tenant (--installation) that its filter selects to a
destination (file, and whichever others this server offers), at least once
and in seq order per tenant. A new sink starts with the events committed
after it; replay sends history. See docs/streaming.md.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key).`,
	}
	cmd.AddCommand(newSinksAddCmd(), newSinksListCmd(), newSinksShowCmd(), newSinksPauseCmd(),
		newSinksResumeCmd(), newSinksReplayCmd(), newSinksRemoveCmd())
	return cmd
}

// sinkScopeFlags choose a sink's scope: one tenant or the installation.
type sinkScopeFlags struct {
	tenant       string
	installation bool
}

func (s *sinkScopeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.tenant, "tenant", "", "the tenant whose sink it is")
	cmd.Flags().BoolVar(&s.installation, "installation", false, "an installation-wide sink, delivering every tenant's log")
	cmd.MarkFlagsMutuallyExclusive("tenant", "installation")
}

func (s *sinkScopeFlags) scope() (string, error) {
	switch {
	case s.installation:
		return hashtrail.AllTenants, nil
	case s.tenant != "":
		return s.tenant, nil
	}
	return "", invalidFlag("--tenant", "name the sink's tenant with --tenant T, or pass --installation")
}

// withSinks runs fn with the sink service the flags select.
func withSinks(rf *remoteFlags, cmd *cobra.Command, fn func(svc hashtrail.SinkService) error) error {
	return rf.withService(cmd, func(svc service) error {
		ss, ok := svc.(hashtrail.SinkService)
		if !ok {
			return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "this connection cannot manage sinks")
		}
		return fn(ss)
	})
}

// parseSettings builds a sink's settings from --settings (a JSON object)
// and --setting key=value pairs (a value that is JSON, such as 100 or
// true, is taken as such; anything else is a string).
func parseSettings(raw string, pairs []string) (json.RawMessage, error) {
	m := map[string]any{}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, invalidFlag("--settings", "must be a JSON object: "+err.Error())
		}
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, invalidFlag("--setting", fmt.Sprintf("%q must be key=value", p))
		}
		var j any
		if err := json.Unmarshal([]byte(v), &j); err == nil {
			m[k] = j
		} else {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// parseFrom reads --from: a seq (a whole number) or an RFC 3339 time.
func parseFrom(s string) (*hashtrail.SinkReplay, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return &hashtrail.SinkReplay{FromSeq: &n}, nil
	}
	t, err := hashtrail.ParseTime(s)
	if err != nil {
		return nil, invalidFlag("--from", "must be a seq (0 for the whole log) or an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return &hashtrail.SinkReplay{FromTime: t}, nil
}

func newSinksAddCmd() *cobra.Command {
	var (
		sf                    sinkScopeFlags
		typ, name, filter     string
		settings, from        string
		pairs                 []string
		batchSize, maxFailure int
		paused, asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "add --tenant T|--installation --type TYPE [--setting key=value...]",
		Short: "Add a sink",
		Example: `  hashtrail sinks add --tenant acme --type file --name archive --setting dir=acme-archive
  hashtrail sinks add --installation --type file --setting dir=all --filter 'category:authentication' --from 0`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "the destination type, such as file (required)")
	f.StringVar(&name, "name", "", "what the sink is for")
	f.StringVar(&filter, "filter", "", "send only the events this search selects, e.g. 'category:authentication -action:page.*'")
	f.StringVar(&settings, "settings", "", "the destination's settings as a JSON object")
	f.StringArrayVar(&pairs, "setting", nil, "one destination setting, key=value (repeatable)")
	f.IntVar(&batchSize, "batch-size", 0, "events per delivery (default: the destination's)")
	f.IntVar(&maxFailure, "max-failures", 0, "failed deliveries in a row that pause the sink (default 10)")
	f.BoolVar(&paused, "paused", false, "create the sink paused")
	f.StringVar(&from, "from", "", "also send history: from this seq (0: the whole log) or RFC 3339 time")
	f.BoolVar(&asJSON, "json", false, "print the sink as JSON")
	_ = cmd.MarkFlagRequired("type")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		tenant, err := sf.scope()
		if err != nil {
			return readable(err)
		}
		set, err := parseSettings(settings, pairs)
		if err != nil {
			return readable(err)
		}
		var replay *hashtrail.SinkReplay
		if from != "" {
			if replay, err = parseFrom(from); err != nil {
				return readable(err)
			}
		}
		cfg := &hashtrail.SinkConfig{Tenant: tenant, Name: name, Type: typ, Filter: filter, Settings: set,
			BatchSize: batchSize, MaxFailures: maxFailure, State: hashtrail.SinkActive}
		if paused {
			cfg.State = hashtrail.SinkPaused
		}
		return withSinks(rf, cmd, func(svc hashtrail.SinkService) error {
			info, err := svc.CreateSink(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if replay != nil {
				if info, err = svc.ReplaySink(cmd.Context(), tenant, info.ID, replay); err != nil {
					return err
				}
			}
			return printSink(cmd.OutOrStdout(), info, asJSON)
		})
	}
	return cmd
}

func newSinksListCmd() *cobra.Command {
	var (
		sf     sinkScopeFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list --tenant T|--installation",
		Short: "List sinks with their state and lag",
		Args:  cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"sinks": [...]} as JSON`)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		tenant, err := sf.scope()
		if err != nil {
			return readable(err)
		}
		return withSinks(rf, cmd, func(svc hashtrail.SinkService) error {
			list, err := svc.Sinks(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if list == nil {
				list = []*hashtrail.SinkInfo{}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), api.SinkList{Sinks: list})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTYPE\tSTATE\tLAG EVENTS\tLAG SECONDS\tLAST DELIVERY\tFILTER")
			for _, s := range list {
				events, secs, last := lagOf(s)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.0f\t%s\t%s\n", s.ID, dash(s.Name), s.Type, s.State, events, secs, when(last), dash(s.Filter))
			}
			return tw.Flush()
		})
	}
	return cmd
}

// lagOf sums a sink's lag over its tenants: events, the oldest's age, and
// the last delivery.
func lagOf(s *hashtrail.SinkInfo) (events int64, secs float64, last hashtrail.Time) {
	for _, st := range s.Status {
		events += st.LagEvents
		secs = max(secs, st.LagSeconds)
		if st.LastDelivery.After(last.Time) {
			last = st.LastDelivery
		}
	}
	return events, secs, last
}

// printSink shows one sink.
func printSink(w io.Writer, s *hashtrail.SinkInfo, asJSON bool) error {
	if asJSON {
		return writeJSON(w, s)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\ntenant:\t%s\ntype:\t%s\n", s.ID, keyTenant(s.Tenant), s.Type)
	if s.Name != "" {
		fmt.Fprintf(tw, "name:\t%s\n", s.Name)
	}
	fmt.Fprintf(tw, "state:\t%s\n", s.State)
	if s.PausedReason != "" {
		fmt.Fprintf(tw, "paused because:\t%s\n", s.PausedReason)
	}
	fmt.Fprintf(tw, "filter:\t%s\nsettings:\t%s\n", dash(s.Filter), s.Settings)
	if s.BatchSize > 0 {
		fmt.Fprintf(tw, "batch size:\t%d\n", s.BatchSize)
	}
	if s.MaxFailures > 0 {
		fmt.Fprintf(tw, "max failures:\t%d\n", s.MaxFailures)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTENANT\tNEXT SEQ\tLOG SIZE\tLAG EVENTS\tLAG SECONDS\tLAST DELIVERY\tFAILURES\tLAST ERROR")
	for _, st := range s.Status {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%s\t%d\t%s\n", st.Tenant, st.Next, st.LogSize, st.LagEvents, st.LagSeconds,
			when(st.LastDelivery), st.Failures, dash(st.LastError))
	}
	return tw.Flush()
}

// sinkCmd builds a subcommand that acts on one sink by id.
func sinkCmd(use, short, example string, extra func(cmd *cobra.Command), run func(ctx context.Context, svc hashtrail.SinkService, tenant, id string) (*hashtrail.SinkInfo, error)) *cobra.Command {
	var (
		sf     sinkScopeFlags
		asJSON bool
	)
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ExactArgs(1)}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	if extra != nil {
		extra(cmd)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		tenant, err := sf.scope()
		if err != nil {
			return readable(err)
		}
		return withSinks(rf, cmd, func(svc hashtrail.SinkService) error {
			info, err := run(cmd.Context(), svc, tenant, args[0])
			if err != nil {
				return err
			}
			if info == nil {
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), map[string]string{"removed": args[0]})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed sink %s\n", args[0])
				return nil
			}
			return printSink(cmd.OutOrStdout(), info, asJSON)
		})
	}
	return cmd
}

func newSinksShowCmd() *cobra.Command {
	return sinkCmd("show --tenant T|--installation SINK_ID", "Show a sink with its status per tenant", "  hashtrail sinks show --tenant acme snk_3q2x7vbdw1az", nil,
		func(ctx context.Context, svc hashtrail.SinkService, tenant, id string) (*hashtrail.SinkInfo, error) {
			return svc.Sink(ctx, tenant, id)
		})
}

func newSinksPauseCmd() *cobra.Command {
	var reason string
	return sinkCmd("pause --tenant T|--installation SINK_ID", "Pause a sink, keeping its position", `  hashtrail sinks pause --tenant acme snk_3q2x7vbdw1az --reason "SIEM upgrade"`,
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&reason, "reason", "", "why, shown in the sink's status")
		},
		func(ctx context.Context, svc hashtrail.SinkService, tenant, id string) (*hashtrail.SinkInfo, error) {
			return svc.PauseSink(ctx, tenant, id, reason)
		})
}

func newSinksResumeCmd() *cobra.Command {
	return sinkCmd("resume --tenant T|--installation SINK_ID", "Resume a paused sink from its position", "", nil,
		func(ctx context.Context, svc hashtrail.SinkService, tenant, id string) (*hashtrail.SinkInfo, error) {
			return svc.ResumeSink(ctx, tenant, id)
		})
}

func newSinksReplayCmd() *cobra.Command {
	var from, logOf string
	return sinkCmd("replay --tenant T|--installation SINK_ID --from SEQ|TIME", "Re-send history from a seq or a time",
		`  hashtrail sinks replay --tenant acme snk_3q2x7vbdw1az --from 0
  hashtrail sinks replay --installation snk_3q2x7vbdw1az --from 2026-01-01T00:00:00Z --log-of acme`,
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&from, "from", "", "a seq (0: the whole log) or an RFC 3339 time (received_at) (required)")
			cmd.Flags().StringVar(&logOf, "log-of", "", "installation-wide sinks: replay this tenant's log only")
			_ = cmd.MarkFlagRequired("from")
		},
		func(ctx context.Context, svc hashtrail.SinkService, tenant, id string) (*hashtrail.SinkInfo, error) {
			r, err := parseFrom(from)
			if err != nil {
				return nil, err
			}
			r.Tenant = logOf
			return svc.ReplaySink(ctx, tenant, id, r)
		})
}

func newSinksRemoveCmd() *cobra.Command {
	return sinkCmd("remove --tenant T|--installation SINK_ID", "Delete a sink and its cursors", "", nil,
		func(ctx context.Context, svc hashtrail.SinkService, tenant, id string) (*hashtrail.SinkInfo, error) {
			return nil, svc.DeleteSink(ctx, tenant, id)
		})
}

// The sink methods of httpService, over /v1/tenants/{t}/sinks and /v1/sinks.

var _ hashtrail.SinkService = (*httpService)(nil)

func sinksPath(tenant string) string {
	if tenant == hashtrail.AllTenants {
		return "/v1/sinks"
	}
	return tenantPath(tenant) + "/sinks"
}

func sinkPathOf(tenant, id string) string { return sinksPath(tenant) + "/" + url.PathEscape(id) }

// CreateSink is POST .../sinks.
func (c *httpService) CreateSink(ctx context.Context, s *hashtrail.SinkConfig) (*hashtrail.SinkInfo, error) {
	body := api.SinkRequest{Name: s.Name, Type: s.Type, Filter: s.Filter, Settings: s.Settings,
		BatchSize: s.BatchSize, MaxFailures: s.MaxFailures, Paused: s.State == hashtrail.SinkPaused}
	var out hashtrail.SinkInfo
	err := c.do(ctx, http.MethodPost, sinksPath(s.Tenant), body, &out)
	return &out, err
}

// Sinks is GET .../sinks.
func (c *httpService) Sinks(ctx context.Context, tenant string) ([]*hashtrail.SinkInfo, error) {
	var out api.SinkList
	err := c.do(ctx, http.MethodGet, sinksPath(tenant), nil, &out)
	return out.Sinks, err
}

// Sink is GET .../sinks/{id}.
func (c *httpService) Sink(ctx context.Context, tenant, id string) (*hashtrail.SinkInfo, error) {
	var out hashtrail.SinkInfo
	err := c.do(ctx, http.MethodGet, sinkPathOf(tenant, id), nil, &out)
	return &out, err
}

// UpdateSink is PATCH .../sinks/{id}.
func (c *httpService) UpdateSink(ctx context.Context, tenant, id string, p *hashtrail.SinkPatch) (*hashtrail.SinkInfo, error) {
	var out hashtrail.SinkInfo
	err := c.do(ctx, http.MethodPatch, sinkPathOf(tenant, id), p, &out)
	return &out, err
}

// PauseSink is POST .../sinks/{id}/pause.
func (c *httpService) PauseSink(ctx context.Context, tenant, id, reason string) (*hashtrail.SinkInfo, error) {
	var out hashtrail.SinkInfo
	err := c.do(ctx, http.MethodPost, sinkPathOf(tenant, id)+"/pause", api.SinkPause{Reason: reason}, &out)
	return &out, err
}

// ResumeSink is POST .../sinks/{id}/resume.
func (c *httpService) ResumeSink(ctx context.Context, tenant, id string) (*hashtrail.SinkInfo, error) {
	var out hashtrail.SinkInfo
	err := c.do(ctx, http.MethodPost, sinkPathOf(tenant, id)+"/resume", nil, &out)
	return &out, err
}

// ReplaySink is POST .../sinks/{id}/replay.
func (c *httpService) ReplaySink(ctx context.Context, tenant, id string, r *hashtrail.SinkReplay) (*hashtrail.SinkInfo, error) {
	var out hashtrail.SinkInfo
	err := c.do(ctx, http.MethodPost, sinkPathOf(tenant, id)+"/replay", r, &out)
	return &out, err
}

// DeleteSink is DELETE .../sinks/{id}.
func (c *httpService) DeleteSink(ctx context.Context, tenant, id string) error {
	return c.do(ctx, http.MethodDelete, sinkPathOf(tenant, id), nil, nil)
}
