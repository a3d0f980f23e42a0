package main

// Access control commands: tenants suspend|resume and keys rotate.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/spf13/cobra"
)

// SuspendTenant is PATCH /v1/tenants/{t} with suspended.
func (c *httpService) SuspendTenant(ctx context.Context, id string, suspended bool, reason string) (*hashtrail.Tenant, error) {
	var out hashtrail.Tenant
	err := c.do(ctx, http.MethodPatch, tenantPath(id), api.TenantPatch{Suspended: &suspended, SuspendedReason: reason}, &out)
	return &out, err
}

// SetTenantQuota is PATCH /v1/tenants/{t} with events_per_day.
func (c *httpService) SetTenantQuota(ctx context.Context, id string, eventsPerDay int64) (*hashtrail.Tenant, error) {
	var out hashtrail.Tenant
	err := c.do(ctx, http.MethodPatch, tenantPath(id), api.TenantPatch{EventsPerDay: &eventsPerDay}, &out)
	return &out, err
}

// RotateKey is POST .../keys/{key}/rotate.
func (c *httpService) RotateKey(ctx context.Context, tenant, id string, grace time.Duration) (*hashtrail.NewKey, error) {
	body := map[string]string{}
	if grace > 0 {
		body["grace"] = grace.String()
	}
	var out hashtrail.NewKey
	err := c.do(ctx, http.MethodPost, keysPath(tenant)+"/"+url.PathEscape(id)+"/rotate", body, &out)
	return &out, err
}

func newTenantsSuspendCmd(suspend bool) *cobra.Command {
	var (
		asJSON bool
		reason string
	)
	use, short, example := "resume ID", "Resume a suspended tenant: writes are accepted again", `  hashtrail tenants resume acme`
	if suspend {
		use, short, example = "suspend ID", "Suspend a tenant: writes are refused (403), reads still work",
			`  hashtrail tenants suspend acme --reason "contract ended; export before 2027-01-01"`
	}
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ExactArgs(1)}
	rf := addRemoteFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tenant as JSON")
	if suspend {
		cmd.Flags().StringVar(&reason, "reason", "", "why, shown to clients whose writes are refused")
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			t, err := svc.SuspendTenant(cmd.Context(), args[0], suspend, reason)
			if err != nil {
				return err
			}
			verb := "resumed"
			if suspend {
				verb = "suspended"
			}
			return reportTenant(cmd, t, asJSON, verb)
		})
	}
	return cmd
}

func newKeysRotateCmd() *cobra.Command {
	var (
		sf     scopeFlags
		asJSON bool
		grace  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rotate --tenant T|--installation KEY_ID",
		Short: "Replace an API key: a new key like it, the old one revoked after a grace period",
		Long: `Make a new key with the old key's tenant, role, name and expiry, and revoke
the old key when the grace period ends (default 24h, at most 720h), so
clients can switch without downtime. Revoking the old key meanwhile takes
effect at once.`,
		Example: `  hashtrail keys rotate --tenant acme --grace 1h key_3q2x7vbdw1az`,
		Args:    cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new key as JSON")
	cmd.Flags().DurationVar(&grace, "grace", 0, "how long the old key keeps working (default 24h)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		tenant, err := sf.scope(false)
		if err != nil {
			return readable(err)
		}
		return rf.withService(cmd, func(svc service) error {
			k, err := svc.RotateKey(cmd.Context(), tenant, args[0], grace)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), k)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 1, ' ', 0)
			fmt.Fprintf(tw, "id:\t%s\ntenant:\t%s\nrole:\t%s\nreplaces:\t%s\nsecret:\t%s\n", k.ID, keyTenant(k.Tenant), k.Role, args[0], k.Secret)
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Store the secret now: it is shown only this once.")
			return nil
		})
	}
	return cmd
}

func newTenantsQuotaCmd() *cobra.Command {
	var asJSON bool
	var storage string
	cmd := &cobra.Command{
		Use:   "quota ID [EVENTS_PER_DAY] [--storage SIZE]",
		Short: "Set a tenant's quotas: events a UTC day, and bytes stored (0: none)",
		Long: `Cap the events a tenant's log may gain in a UTC day: past it, ingest answers
429 with Retry-After until midnight UTC.

--storage caps the bytes the tenant stores (event bodies, personal values
and index rows; tenants show prints them): once reached, writes answer 403
quota_exceeded until the quota is raised or retention frees space. Sizes
take B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (of 1024).`,
		Example: `  hashtrail tenants quota acme 1000000
  hashtrail tenants quota acme --storage 10GiB
  hashtrail tenants quota acme 0 --storage 0`,
		Args: cobra.RangeArgs(1, 2),
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tenant as JSON")
	cmd.Flags().StringVar(&storage, "storage", "", "the storage quota, such as 10GiB (0: none)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		n := int64(-1)
		if len(args) == 2 {
			var err error
			if n, err = strconv.ParseInt(args[1], 10, 64); err != nil || n < 0 {
				return fmt.Errorf("EVENTS_PER_DAY must be a whole number, 0 for no quota")
			}
		}
		bytes := int64(-1)
		if cmd.Flags().Changed("storage") {
			var err error
			if bytes, err = parseByteSize(storage); err != nil {
				return readable(invalidFlag("--storage", err.Error()))
			}
		}
		if n < 0 && bytes < 0 {
			return fmt.Errorf("give EVENTS_PER_DAY, --storage SIZE or both")
		}
		return rf.withService(cmd, func(svc service) error {
			var t *hashtrail.Tenant
			var err error
			if n >= 0 {
				if t, err = svc.SetTenantQuota(cmd.Context(), args[0], n); err != nil {
					return err
				}
			}
			if bytes >= 0 {
				if t, err = svc.SetTenantStorageQuota(cmd.Context(), args[0], bytes); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), t)
			}
			w := cmd.OutOrStdout()
			if bytes < 0 { // the events-a-day quota alone
				if n == 0 {
					_, err = fmt.Fprintf(w, "tenant %s has no quota\n", t.ID)
				} else {
					_, err = fmt.Fprintf(w, "tenant %s: %d events a day (%d today)\n", t.ID, t.EventsPerDay, t.EventsToday)
				}
				return err
			}
			if n < 0 {
				// the storage quota alone
			} else if t.EventsPerDay == 0 {
				fmt.Fprintf(w, "tenant %s: no events-a-day quota\n", t.ID)
			} else {
				fmt.Fprintf(w, "tenant %s: %d events a day (%d today)\n", t.ID, t.EventsPerDay, t.EventsToday)
			}
			if t.StorageBytesLimit == 0 {
				_, err = fmt.Fprintf(w, "tenant %s: no storage quota (%s stored)\n", t.ID, ledger.FormatBytes(t.StorageBytes))
			} else {
				_, err = fmt.Fprintf(w, "tenant %s: storage quota %s (%s stored)\n", t.ID, ledger.FormatBytes(t.StorageBytesLimit), ledger.FormatBytes(t.StorageBytes))
			}
			return err
		})
	}
	return cmd
}

// CreateViewerToken is POST /v1/tenants/{t}/viewer-tokens.
func (c *httpService) CreateViewerToken(ctx context.Context, req *hashtrail.ViewerTokenRequest) (*hashtrail.ViewerToken, error) {
	var out hashtrail.ViewerToken
	err := c.do(ctx, http.MethodPost, tenantPath(req.Tenant)+"/viewer-tokens", req, &out)
	return &out, err
}

// RevokeViewerToken is DELETE /v1/tenants/{t}/viewer-tokens/{id}.
func (c *httpService) RevokeViewerToken(ctx context.Context, tenant, id string) error {
	return c.do(ctx, http.MethodDelete, tenantPath(tenant)+"/viewer-tokens/"+url.PathEscape(id), nil, nil)
}

func newViewerTokensCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "viewer-tokens",
		Short: "Mint and revoke viewer tokens (read-only, filtered, for embedding the log in an app)",
		Long: `A viewer token reads one tenant's events within a fixed filter, without its
hidden fields (default context.ip and context.user_agent), until it expires
(default 15m). See docs/security.md.`,
	}
	cmd.AddCommand(newViewerTokensCreateCmd(), newViewerTokensRevokeCmd())
	return cmd
}

func newViewerTokensCreateCmd() *cobra.Command {
	var (
		req    hashtrail.ViewerTokenRequest
		hidden []string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:     "create TENANT",
		Short:   "Mint a viewer token and print it, once",
		Example: `  hashtrail viewer-tokens create acme --filter 'target:project:7' --origin https://app.example.com --expires-in 15m`,
		Args:    cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&req.Filter, "filter", "", "the search every read is AND-ed with (default: the whole tenant)")
	f.StringSliceVar(&hidden, "hide", nil, "fields to hide (repeatable; default context.ip,context.user_agent; \"none\" hides nothing)")
	f.StringSliceVar(&req.AllowedOrigins, "origin", nil, "an origin that gets CORS headers (repeatable)")
	f.StringVar(&req.ExpiresIn, "expires-in", "", "lifetime such as 15m (default 15m)")
	f.BoolVar(&asJSON, "json", false, "print {token, token_id, expires_at} as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		req.Tenant = args[0]
		switch {
		case len(hidden) == 1 && hidden[0] == "none":
			req.HiddenFields = []string{}
		case len(hidden) > 0:
			req.HiddenFields = hidden
		}
		return rf.withService(cmd, func(svc service) error {
			tok, err := svc.CreateViewerToken(cmd.Context(), &req)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), tok)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 1, ' ', 0)
			fmt.Fprintf(tw, "id:\t%s\nexpires:\t%s\ntoken:\t%s\n", tok.TokenID, when(tok.ExpiresAt), tok.Token)
			return tw.Flush()
		})
	}
	return cmd
}

func newViewerTokensRevokeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "revoke TENANT TOKEN_ID",
		Short:   "Revoke a viewer token (every server refuses it within 2s)",
		Example: `  hashtrail viewer-tokens revoke acme vt_3q2x7vbdw1az`,
		Args:    cobra.ExactArgs(2),
	}
	rf := addRemoteFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			if err := svc.RevokeViewerToken(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "revoked viewer token %s (tenant %s)\n", args[1], args[0])
			return err
		})
	}
	return cmd
}
