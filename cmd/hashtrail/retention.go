package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/spf13/cobra"
)

var _ hashtrail.RetentionService = (*httpService)(nil)

// newRetentionCmd builds `hashtrail retention` and its subcommands.
func newRetentionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention",
		Short: "Show and set retention policies and the compliance floor",
		Long: `Manage how long each tenant keeps its events (docs/retention.md): the first
matching rule decides, "forever" or a count of days, months or years (400d,
12mo, 7y) from received_at; a tenant without a policy keeps everything
forever. The installation's compliance floor (retention floor) is the least
any rule may keep.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key).`,
	}
	cmd.AddCommand(newRetentionShowCmd(), newRetentionSetCmd(), newRetentionFloorCmd())
	return cmd
}

func retentionOf(svc service) (hashtrail.RetentionService, error) {
	rs, ok := svc.(hashtrail.RetentionService)
	if !ok {
		return nil, fmt.Errorf("this connection cannot manage retention")
	}
	return rs, nil
}

func newRetentionShowCmd() *cobra.Command {
	var tenant string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show --tenant T",
		Short:   "Print a tenant's retention policy",
		Example: "  hashtrail retention show --tenant acme --json > retention.json",
		Args:    cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the policy as JSON (the document retention set reads)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			rs, err := retentionOf(svc)
			if err != nil {
				return err
			}
			p, err := rs.Retention(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), p)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "retention of %s: version %d, default %s", tenant, p.Version, p.Default)
			if p.Floor != nil {
				fmt.Fprintf(w, ", compliance floor %s", p.Floor)
			}
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "#\tRULE\tKEEP")
			for i, r := range p.Rules {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", i, r.Label(), r.Keep)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newRetentionSetCmd() *cobra.Command {
	var tenant, file string
	var version int64
	cmd := &cobra.Command{
		Use:   "set --tenant T -f retention.json",
		Short: "Replace a tenant's retention policy with a JSON document",
		Long: `Replace a tenant's retention policy with the JSON document in a file ("-" for
stdin): {"rules": [{"name", "filter", "category", "action", "keep"}],
"default": "forever"}. The change applies only if the policy is still at the
version the document (or --version) names; a document without a version
replaces whatever is current.`,
		Example: `  echo '{"rules":[{"filter":"target:project:*","keep":"forever"},{"action":"user.*","keep":"400d"}]}' |
    hashtrail retention set --tenant acme -f -`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().StringVarP(&file, "file", "f", "", `the policy document ("-" for stdin; required)`)
	cmd.Flags().Int64Var(&version, "version", 0, "the version the change replaces (default: the document's, else the current one)")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var doc hashtrail.RetentionPolicy
		if err := readJSONFile(cmd.InOrStdin(), file, &doc); err != nil {
			return err
		}
		return rf.withService(cmd, func(svc service) error {
			rs, err := retentionOf(svc)
			if err != nil {
				return err
			}
			doc.Version, err = replacedVersion(cmd, version, doc.Version, func() (int64, error) {
				cur, err := rs.Retention(cmd.Context(), tenant)
				if err != nil {
					return 0, err
				}
				return cur.Version, nil
			})
			if err != nil {
				return err
			}
			p, err := rs.PutRetention(cmd.Context(), tenant, &doc)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "retention of %s: version %d, %d rules, default %s\n", tenant, p.Version, len(p.Rules), p.Default)
			return nil
		})
	}
	return cmd
}

func newRetentionFloorCmd() *cobra.Command {
	var keep, reason string
	var lock bool
	cmd := &cobra.Command{
		Use:   "floor [--keep 12mo [--lock] [--reason R]]",
		Short: "Show or set the installation's compliance floor",
		Long: `Without --keep, print the compliance floor. With --keep, set it: no tenant's
retention rule may then keep events for less. --lock locks it: through the
API it may then be raised, never lowered or unlocked (offline, the local
operator still can). Needs an installation-wide admin key.`,
		Example: `  hashtrail retention floor --keep 12mo --lock --reason "PCI DSS 10.5.1"`,
		Args:    cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&keep, "keep", "", "the floor, such as 12mo or 400d")
	cmd.Flags().BoolVar(&lock, "lock", false, "lock the floor")
	cmd.Flags().StringVar(&reason, "reason", "", "why (e.g. the regulation)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			rs, err := retentionOf(svc)
			if err != nil {
				return err
			}
			cur, err := rs.RetentionFloor(cmd.Context())
			if err != nil {
				return err
			}
			if keep != "" {
				k, err := hashtrail.ParseKeep(keep)
				if err != nil {
					return readable(invalidFlag("--keep", err.Error()))
				}
				if cur, err = rs.PutRetentionFloor(cmd.Context(), &hashtrail.RetentionFloor{Keep: &k, Locked: lock, Reason: reason, Version: cur.Version}); err != nil {
					return err
				}
			}
			if cur.Keep == nil {
				fmt.Fprintln(cmd.OutOrStdout(), "no compliance floor")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compliance floor %s, locked %v, version %d %s\n", cur.Keep, cur.Locked, cur.Version, cur.Reason)
			return nil
		})
	}
	return cmd
}

// newHoldsCmd builds `hashtrail holds` and its subcommands.
func newHoldsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "holds",
		Short: "List, set and lift legal holds",
		Long: `A legal hold keeps every event its filter (search syntax) matches from
retention, visible and undeleted, until it is lifted. Setting and lifting a
hold are recorded in the tenant's log.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key).`,
	}
	cmd.AddCommand(newHoldsListCmd(), newHoldsAddCmd(), newHoldsRemoveCmd())
	return cmd
}

func newHoldsListCmd() *cobra.Command {
	var tenant string
	var asJSON bool
	cmd := &cobra.Command{Use: "list --tenant T", Short: "List a tenant's legal holds", Args: cobra.NoArgs}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			rs, err := retentionOf(svc)
			if err != nil {
				return err
			}
			hs, err := rs.Holds(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), hs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tFILTER\tREASON\tBY\tSINCE")
			for _, h := range hs.Holds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", h.ID, h.Filter, h.Reason, h.CreatedBy, when(h.CreatedAt))
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newHoldsAddCmd() *cobra.Command {
	var tenant, filter, reason string
	cmd := &cobra.Command{
		Use:     "add --tenant T --filter F --reason R",
		Short:   "Set a legal hold",
		Example: `  hashtrail holds add --tenant acme --filter "actor:user:42" --reason "case 2026-17"`,
		Args:    cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().StringVar(&filter, "filter", "", "the events to hold, in the search syntax (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	for _, f := range []string{"tenant", "filter", "reason"} {
		_ = cmd.MarkFlagRequired(f)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			rs, err := retentionOf(svc)
			if err != nil {
				return err
			}
			h, err := rs.AddHold(cmd.Context(), tenant, &hashtrail.LegalHold{Filter: filter, Reason: reason})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h.ID)
			return nil
		})
	}
	return cmd
}

func newHoldsRemoveCmd() *cobra.Command {
	var tenant string
	cmd := &cobra.Command{Use: "remove --tenant T HOLD_ID", Short: "Lift a legal hold", Args: cobra.ExactArgs(1)}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			rs, err := retentionOf(svc)
			if err != nil {
				return err
			}
			if err := rs.RemoveHold(cmd.Context(), tenant, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lifted %s\n", args[0])
			return nil
		})
	}
	return cmd
}

// readJSONFile decodes the JSON document in file ("-" for stdin) into v,
// refusing unknown members.
// replacedVersion returns the version of a versioned tenant document that
// a `set` replaces: --version if given, else the document's own, else the
// one stored now (current).
func replacedVersion(cmd *cobra.Command, flag, doc int64, current func() (int64, error)) (int64, error) {
	switch {
	case cmd.Flags().Changed("version"):
		return flag, nil
	case doc != 0:
		return doc, nil
	}
	return current()
}

func readJSONFile(stdin io.Reader, file string, v any) error {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 8<<20))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	return nil
}

// Retention is GET /v1/tenants/{t}/retention.
func (c *httpService) Retention(ctx context.Context, tenant string) (*hashtrail.RetentionPolicy, error) {
	var out hashtrail.RetentionPolicy
	err := c.do(ctx, http.MethodGet, tenantPath(tenant)+"/retention", nil, &out)
	return &out, err
}

// PutRetention is PUT /v1/tenants/{t}/retention.
func (c *httpService) PutRetention(ctx context.Context, tenant string, p *hashtrail.RetentionPolicy) (*hashtrail.RetentionPolicy, error) {
	var out hashtrail.RetentionPolicy
	body := &hashtrail.RetentionPolicy{Rules: p.Rules, Default: p.Default, Version: p.Version}
	err := c.do(ctx, http.MethodPut, tenantPath(tenant)+"/retention", body, &out)
	return &out, err
}

// Holds is GET /v1/tenants/{t}/holds.
func (c *httpService) Holds(ctx context.Context, tenant string) (*hashtrail.LegalHolds, error) {
	var out hashtrail.LegalHolds
	err := c.do(ctx, http.MethodGet, tenantPath(tenant)+"/holds", nil, &out)
	return &out, err
}

// AddHold is POST /v1/tenants/{t}/holds.
func (c *httpService) AddHold(ctx context.Context, tenant string, h *hashtrail.LegalHold) (*hashtrail.LegalHold, error) {
	var out hashtrail.LegalHold
	body := map[string]string{"filter": h.Filter, "reason": h.Reason}
	err := c.do(ctx, http.MethodPost, tenantPath(tenant)+"/holds", body, &out)
	return &out, err
}

// RemoveHold is DELETE /v1/tenants/{t}/holds/{id}.
func (c *httpService) RemoveHold(ctx context.Context, tenant, id string) error {
	return c.do(ctx, http.MethodDelete, tenantPath(tenant)+"/holds/"+url.PathEscape(id), nil, nil)
}

// RetentionFloor is GET /v1/retention/floor.
func (c *httpService) RetentionFloor(ctx context.Context) (*hashtrail.RetentionFloor, error) {
	var out hashtrail.RetentionFloor
	err := c.do(ctx, http.MethodGet, "/v1/retention/floor", nil, &out)
	return &out, err
}

// PutRetentionFloor is PUT /v1/retention/floor.
func (c *httpService) PutRetentionFloor(ctx context.Context, f *hashtrail.RetentionFloor) (*hashtrail.RetentionFloor, error) {
	var out hashtrail.RetentionFloor
	err := c.do(ctx, http.MethodPut, "/v1/retention/floor", f, &out)
	return &out, err
}
