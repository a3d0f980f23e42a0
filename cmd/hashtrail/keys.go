package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/spf13/cobra"
)

// newKeysCmd builds `hashtrail keys` and its subcommands.
func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke API keys",
		Long: `Manage API keys. A key belongs to one tenant (--tenant) or to the whole
installation (--installation) and has a role: ingest (write events), read
(read events) or admin (everything). Only a new key's secret is ever shown,
once, when it is created; Hashtrail stores just its hash.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key).`,
	}
	cmd.AddCommand(newKeysCreateCmd(), newKeysListCmd(), newKeysRevokeCmd(), newKeysRotateCmd())
	return cmd
}

// scopeFlags choose a key's owner: one tenant or the installation.
type scopeFlags struct {
	tenant       string
	installation bool
}

func (s *scopeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.tenant, "tenant", "", "the tenant the key belongs to")
	cmd.Flags().BoolVar(&s.installation, "installation", false, "an installation-wide key, valid for every tenant")
	cmd.MarkFlagsMutuallyExclusive("tenant", "installation")
}

// scope returns the tenant id, AllTenants, or "" when neither flag is set
// and optional; otherwise it asks for one.
func (s *scopeFlags) scope(optional bool) (string, error) {
	switch {
	case s.installation:
		return hashtrail.AllTenants, nil
	case s.tenant != "":
		return s.tenant, nil
	case optional:
		return "", nil
	}
	return "", invalidFlag("--tenant", "name the key's tenant with --tenant T, or pass --installation")
}

func newKeysCreateCmd() *cobra.Command {
	var (
		sf        scopeFlags
		role      string
		name      string
		expiresIn string
		asJSON    bool
		actions   []string
		filter    string
		rateLimit string
	)
	cmd := &cobra.Command{
		Use:   "create --tenant T|--installation --role ingest|read|admin",
		Short: "Create an API key and print its secret, once",
		Example: `  hashtrail keys create --tenant acme --role ingest --name "web app"
  hashtrail keys create --installation --role admin --expires-in 720h
  hashtrail keys create --tenant acme --role read --json | jq -r .secret
  hashtrail keys create --tenant acme --role ingest --actions 'user.*' --actions billing.charge
  hashtrail keys create --tenant acme --role read --filter 'target:project:7'
  hashtrail keys create --tenant acme --role ingest --rate-limit 500:2000`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "ingest, read or admin (required)")
	f.StringVar(&name, "name", "", "what the key is for")
	f.StringVar(&expiresIn, "expires-in", "", "lifetime such as 720h or 90d (default: never expires)")
	f.BoolVar(&asJSON, "json", false, "print the key, with its secret, as JSON")
	f.StringSliceVar(&actions, "actions", nil, "scope: the only actions the key may write (user.* is a prefix; repeatable or comma-separated)")
	f.StringVar(&filter, "filter", "", "scope: a search every read with the key is AND-ed with (no proofs or exports then)")
	f.StringVar(&rateLimit, "rate-limit", "", "the key's own limit, RATE[:BURST] requests a second (0: none), in place of the server's --rate-limits for its role")
	_ = cmd.MarkFlagRequired("role")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		tenant, err := sf.scope(false)
		if err != nil {
			return readable(err)
		}
		req := &hashtrail.KeyRequest{Tenant: tenant, Role: hashtrail.Role(role), Name: name}
		if len(actions) > 0 || filter != "" || rateLimit != "" {
			req.Scope = &hashtrail.KeyScope{Actions: actions, Filter: filter}
		}
		if rateLimit != "" {
			rl, err := ledger.ParseRateLimits("ingest=" + rateLimit)
			if err != nil {
				return readable(invalidFlag("--rate-limit", "must be RATE or RATE:BURST requests a second, such as 500 or 500:2000"))
			}
			req.Scope.RateLimit = &hashtrail.KeyRateLimit{Rate: rl.Ingest.Rate, Burst: rl.Ingest.Burst}
		}
		if !req.Role.Valid() {
			return readable(invalidFlag("--role", "must be ingest, read or admin"))
		}
		if expiresIn != "" {
			d, err := parseDuration(expiresIn)
			if err != nil || d <= 0 {
				return readable(invalidFlag("--expires-in", "must be a positive duration such as 720h or 90d"))
			}
			req.ExpiresAt = hashtrail.NewTime(time.Now().Add(d))
		}
		return rf.withService(cmd, func(svc service) error {
			k, err := svc.CreateKey(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), k)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 1, ' ', 0)
			fmt.Fprintf(tw, "id:\t%s\ntenant:\t%s\nrole:\t%s\n", k.ID, keyTenant(k.Tenant), k.Role)
			if k.Name != "" {
				fmt.Fprintf(tw, "name:\t%s\n", k.Name)
			}
			fmt.Fprintf(tw, "expires:\t%s\nsecret:\t%s\n", neverIfZero(k.ExpiresAt), k.Secret)
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Store the secret now: it is shown only this once.")
			return nil
		})
	}
	return cmd
}

func newKeysListCmd() *cobra.Command {
	var (
		sf     scopeFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--tenant T|--installation]",
		Short: "List API keys (never their secrets)",
		Long: `List API keys: a tenant's (--tenant), the installation-wide ones
(--installation), or, with neither, every key the caller may see.`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"keys": [...]} as JSON`)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		tenant, _ := sf.scope(true)
		return rf.withService(cmd, func(svc service) error {
			keys, err := svc.Keys(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if keys == nil {
				keys = []*hashtrail.APIKey{}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"keys": keys})
			}
			now := time.Now()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tROLE\tNAME\tHINT\tCREATED\tEXPIRES\tREVOKED\tLAST USED")
			for _, k := range keys {
				expires := neverIfZero(k.ExpiresAt)
				if !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt.Time) {
					expires += " (expired)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, keyTenant(k.Tenant), k.Role,
					dash(k.Name), k.Hint, when(k.CreatedAt), expires, when(k.RevokedAt), when(k.LastUsedAt))
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newKeysRevokeCmd() *cobra.Command {
	var (
		sf     scopeFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:     "revoke --tenant T|--installation KEY_ID",
		Short:   "Revoke an API key",
		Example: `  hashtrail keys revoke --tenant acme key_3q2x7vbdw1az`,
		Args:    cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	sf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"revoked": KEY_ID} as JSON`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		tenant, err := sf.scope(false)
		if err != nil {
			return readable(err)
		}
		return rf.withService(cmd, func(svc service) error {
			if err := svc.RevokeKey(cmd.Context(), tenant, args[0]); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"revoked": args[0]})
			}
			scope := "installation-wide"
			if tenant != hashtrail.AllTenants {
				scope = "tenant " + tenant
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked key %s (%s)\n", args[0], scope)
			return nil
		})
	}
	return cmd
}

// keyTenant names a key's owner for people: the tenant, or "installation".
func keyTenant(t string) string {
	if t == hashtrail.AllTenants {
		return "installation"
	}
	return t
}

// neverIfZero formats an expiry, "never" when there is none.
func neverIfZero(t hashtrail.Time) string {
	if t.IsZero() {
		return "never"
	}
	return when(t)
}
