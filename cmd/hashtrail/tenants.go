package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/spf13/cobra"
)

// newTenantsCmd builds `hashtrail tenants` and its subcommands.
func newTenantsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenants",
		Short: "Create, list, show, rename, suspend, resume, delete tenants and set their quotas",
		Long: `Manage tenants, the isolation units: each has its own log and keys.
Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an installation-wide admin key for changes).`,
	}
	cmd.AddCommand(newTenantsCreateCmd(), newTenantsListCmd(), newTenantsShowCmd(),
		newTenantsRenameCmd(), newTenantsDeleteCmd(), newTenantsSuspendCmd(true), newTenantsSuspendCmd(false), newTenantsQuotaCmd())
	return cmd
}

func newTenantsCreateCmd() *cobra.Command {
	var name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "create ID",
		Short:   "Create a tenant",
		Example: `  hashtrail tenants create acme --name "Acme Inc."`,
		Args:    cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&name, "name", "", "a display name")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tenant as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			t, err := svc.CreateTenant(cmd.Context(), &hashtrail.Tenant{ID: args[0], Name: name})
			if err != nil {
				return err
			}
			return reportTenant(cmd, t, asJSON, "created")
		})
	}
	return cmd
}

func newTenantsListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tenants",
		Args:  cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"tenants": [...]} as JSON`)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return rf.withService(cmd, func(svc service) error {
			ts, err := svc.Tenants(cmd.Context())
			if err != nil {
				return err
			}
			if ts == nil {
				ts = []*hashtrail.Tenant{}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"tenants": ts})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tEVENTS\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", t.ID, dash(t.Name), t.Size, when(t.CreatedAt))
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newTenantsShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one tenant",
		Args:  cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tenant as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			t, err := svc.Tenant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), t)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 1, ' ', 0)
			fmt.Fprintf(tw, "id:\t%s\nname:\t%s\nevents:\t%d\ncreated:\t%s\n", t.ID, dash(t.Name), t.Size, when(t.CreatedAt))
			if t.State != "" {
				fmt.Fprintf(tw, "state:\t%s\n", t.State)
			}
			stored := ledger.FormatBytes(t.StorageBytes)
			if t.StorageBytesLimit > 0 {
				stored += " of a " + ledger.FormatBytes(t.StorageBytesLimit) + " quota"
			}
			fmt.Fprintf(tw, "stored:\t%s\n", stored)
			return tw.Flush()
		})
	}
	return cmd
}

func newTenantsRenameCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "rename ID NAME",
		Short:   "Change a tenant's display name",
		Example: `  hashtrail tenants rename acme "Acme Corporation"`,
		Args:    cobra.ExactArgs(2),
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tenant as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			t, err := svc.UpdateTenant(cmd.Context(), &hashtrail.Tenant{ID: args[0], Name: args[1]})
			if err != nil {
				return err
			}
			return reportTenant(cmd, t, asJSON, "renamed")
		})
	}
	return cmd
}

// tenantLabel is "id" or "id (name)".
// reportTenant prints a tenant a command changed: as JSON, or as one line
// "<verb> tenant id (name)".
func reportTenant(cmd *cobra.Command, t *hashtrail.Tenant, asJSON bool, verb string) error {
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), t)
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s tenant %s\n", verb, tenantLabel(t))
	return err
}

func tenantLabel(t *hashtrail.Tenant) string {
	if t.Name == "" {
		return t.ID
	}
	return fmt.Sprintf("%s (%s)", t.ID, t.Name)
}

// when formats a time for a table, to the second in UTC, or "-" if absent.
func when(t hashtrail.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
