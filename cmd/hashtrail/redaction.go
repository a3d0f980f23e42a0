package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/spf13/cobra"
)

var (
	_ hashtrail.RedactionService = (*httpService)(nil)
	_ hashtrail.ReadAuditService = (*httpService)(nil)
)

// newRedactionCmd builds `hashtrail redaction`: a tenant's redaction rules,
// applied at ingest so that a secret sent by mistake is stored as
// "[redacted]" (docs/security.md).
func newRedactionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "redaction",
		Short: "Show and set a tenant's redaction rules (secrets removed at ingest)",
		Long: `Redaction rules decide which values Hashtrail replaces with "[redacted]"
before an event is stored: metadata members and changes with secret-looking
names, named fields, built-in value patterns (tokens, keys, card numbers) and
custom regular expressions. A tenant without rules gets the defaults (secret
names and every built-in pattern). Changing the rules is recorded in the
tenant's log; events already stored are not rewritten.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key).`,
	}
	cmd.AddCommand(newRedactionShowCmd(), newRedactionSetCmd())
	return cmd
}

func redactionOf(svc service) (hashtrail.RedactionService, error) {
	rs, ok := svc.(hashtrail.RedactionService)
	if !ok {
		return nil, fmt.Errorf("this connection cannot manage redaction rules")
	}
	return rs, nil
}

func newRedactionShowCmd() *cobra.Command {
	var tenant string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show --tenant T",
		Short:   "Print a tenant's redaction rules",
		Example: "  hashtrail redaction show --tenant acme --json > redaction.json",
		Args:    cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the rules as JSON (the document redaction set reads)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			rs, err := redactionOf(svc)
			if err != nil {
				return err
			}
			rules, version, err := rs.RedactionRules(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), &hashtrail.RedactionDocument{Version: version, Rules: *rules})
			}
			printRedaction(cmd, tenant, rules, version)
			return nil
		})
	}
	return cmd
}

func printRedaction(cmd *cobra.Command, tenant string, r *hashtrail.RedactionRules, version int64) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "redaction rules of %s, version %d\n", tenant, version)
	fmt.Fprintf(w, "  secret names:      %v\n", r.SecretNames == nil || *r.SecretNames)
	patterns := r.Patterns
	if patterns == nil {
		patterns = hashtrail.BuiltinPatterns
	}
	fmt.Fprintf(w, "  built-in patterns: %s\n", listOrNone(patterns))
	fmt.Fprintf(w, "  fields:            %s\n", listOrNone(r.Fields))
	fmt.Fprintf(w, "  custom patterns:   %s\n", listOrNone(r.Custom))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func newRedactionSetCmd() *cobra.Command {
	var tenant, file string
	cmd := &cobra.Command{
		Use:   "set --tenant T --file rules.json",
		Short: "Replace a tenant's redaction rules",
		Long: `Replace a tenant's redaction rules with a document such as redaction show
--json prints: {"version": N, "rules": {...}}. The version must be the one
the rules replace (0 when the tenant has none), so two admins cannot
overwrite each other's change unseen. --file - reads standard input.`,
		Example: `  hashtrail redaction show --tenant acme --json > r.json
  # edit r.json: add "metadata.card" to rules.fields
  hashtrail redaction set --tenant acme --file r.json`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().StringVar(&file, "file", "", "the rules document, or - for standard input (required)")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var doc hashtrail.RedactionDocument
		if err := readJSONFile(cmd.InOrStdin(), file, &doc); err != nil {
			return err
		}
		return rf.withService(cmd, func(svc service) error {
			rs, err := redactionOf(svc)
			if err != nil {
				return err
			}
			v, err := rs.SetRedactionRules(cmd.Context(), tenant, &doc.Rules, doc.Version)
			if err != nil {
				return err
			}
			printRedaction(cmd, tenant, &doc.Rules, v)
			return nil
		})
	}
	return cmd
}

// newReadAuditCmd builds `hashtrail read-audit show|on|off`.
func newReadAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "read-audit show|on|off --tenant T",
		Short: "Show or switch the audit of reads (data.read events) for a tenant",
		Long: `With read audit on, every read of a tenant's events by a read key (listings,
single events, exports) is recorded in the tenant's own log as a data.read
event naming the key, the filter and the number of events, so the log shows
who looked. Switching it is itself recorded.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key).`,
		Example:   "  hashtrail read-audit on --tenant acme",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"show", "on", "off"},
	}
	rf := addRemoteFlags(cmd)
	var tenant string
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		verb := args[0]
		if verb != "show" && verb != "on" && verb != "off" {
			return readable(fmt.Errorf("read-audit %q: want show, on or off", verb))
		}
		return rf.withService(cmd, func(svc service) error {
			ra, ok := svc.(hashtrail.ReadAuditService)
			if !ok {
				return fmt.Errorf("this connection cannot manage read audit")
			}
			if verb != "show" {
				if err := ra.SetReadAudit(cmd.Context(), tenant, verb == "on"); err != nil {
					return err
				}
			}
			on, err := ra.ReadAudit(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "read audit of %s: %s\n", tenant, map[bool]string{true: "on", false: "off"}[on])
			return nil
		})
	}
	return cmd
}

// RedactionRules is GET /v1/tenants/{t}/redaction.
func (c *httpService) RedactionRules(ctx context.Context, tenant string) (*hashtrail.RedactionRules, int64, error) {
	var out hashtrail.RedactionDocument
	if err := c.do(ctx, http.MethodGet, tenantPath(tenant)+"/redaction", nil, &out); err != nil {
		return nil, 0, err
	}
	return &out.Rules, out.Version, nil
}

// SetRedactionRules is PUT /v1/tenants/{t}/redaction.
func (c *httpService) SetRedactionRules(ctx context.Context, tenant string, rules *hashtrail.RedactionRules, version int64) (int64, error) {
	var out hashtrail.RedactionDocument
	err := c.do(ctx, http.MethodPut, tenantPath(tenant)+"/redaction", &hashtrail.RedactionDocument{Version: version, Rules: *rules}, &out)
	return out.Version, err
}

// ReadAudit is GET /v1/tenants/{t}/read-audit.
func (c *httpService) ReadAudit(ctx context.Context, tenant string) (bool, error) {
	var out hashtrail.ReadAuditSetting
	err := c.do(ctx, http.MethodGet, tenantPath(tenant)+"/read-audit", nil, &out)
	return out.Enabled, err
}

// SetReadAudit is PUT /v1/tenants/{t}/read-audit.
func (c *httpService) SetReadAudit(ctx context.Context, tenant string, enabled bool) error {
	return c.do(ctx, http.MethodPut, tenantPath(tenant)+"/read-audit", &hashtrail.ReadAuditSetting{Enabled: enabled}, nil)
}
