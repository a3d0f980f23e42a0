package main

import (
	"fmt"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/spf13/cobra"
)

// newDigestsCmd builds `hashtrail digests`.
func newDigestsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "digests",
		Short: "Daily or weekly digest emails of security-relevant events: set, show, send",
		Long: `Manage a tenant's digest: an email (text and HTML) summarising the
period's authentication failures, password and two-factor changes, role and
permission changes, key changes, high-severity events and alerts, with
counts by category and links to the events. The server sends each period's
digest once, after --hour (UTC) of the day after the period (a week runs
Monday to Monday). The server needs --smtp-url and --smtp-from, and
--public-url for the links. See docs/alerts.md.`,
	}
	cmd.AddCommand(newDigestsSetCmd(), newDigestsShowCmd(), newDigestsSendCmd())
	return cmd
}

func newDigestsSetCmd() *cobra.Command {
	var (
		tenant             string
		daily, weekly, off bool
		to                 []string
		hour               int
		asJSON             bool
	)
	cmd := &cobra.Command{
		Use:     "set --tenant T --daily|--weekly|--off --to ADDR... [--hour H]",
		Short:   "Set a tenant's digest schedule and recipients",
		Example: "  hashtrail digests set --tenant acme --weekly --to security@acme.example --to cto@acme.example --hour 7",
		Args:    cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&tenant, "tenant", "", "the tenant (required)")
	f.BoolVar(&daily, "daily", false, "one digest a day")
	f.BoolVar(&weekly, "weekly", false, "one digest a week, Monday to Monday")
	f.BoolVar(&off, "off", false, "no digest")
	f.StringArrayVar(&to, "to", nil, "a recipient (repeatable)")
	f.IntVar(&hour, "hour", 7, "the UTC hour after which a period's digest is sent")
	f.BoolVar(&asJSON, "json", false, "print the settings as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.MarkFlagsMutuallyExclusive("daily", "weekly", "off")
	cmd.MarkFlagsOneRequired("daily", "weekly", "off")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		d := &hashtrail.DigestSettings{Schedule: "off", To: to, Hour: hour}
		switch {
		case daily:
			d.Schedule = "daily"
		case weekly:
			d.Schedule = "weekly"
		}
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			got, err := svc.SetDigest(cmd.Context(), tenant, d)
			if err != nil {
				return err
			}
			return printDigest(cmd, got, asJSON)
		})
	}
	return cmd
}

func newDigestsShowCmd() *cobra.Command {
	var (
		tenant string
		asJSON bool
	)
	cmd := &cobra.Command{Use: "show --tenant T", Short: "Show a tenant's digest settings", Args: cobra.NoArgs}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the settings as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			d, err := svc.Digest(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			return printDigest(cmd, d, asJSON)
		})
	}
	return cmd
}

func newDigestsSendCmd() *cobra.Command {
	var (
		tenant string
		now    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "send --tenant T --now",
		Short: "Send the digest of the period ending now at once (to test the settings)",
		Long: `Send the tenant's digest of the last day (or week, when weekly) at once
to its recipients. The scheduled digests are not affected. Through a running
server (--url): an offline ledger has no mail server.`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&now, "now", false, "send now (required: the only way to send by hand)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was sent as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("now")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			rep, err := svc.SendDigest(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent %q to %s: %d events from %s to %s\n", rep.Subject, strings.Join(rep.To, ", "), rep.Events, rep.From, rep.Until)
			return nil
		})
	}
	return cmd
}

func printDigest(cmd *cobra.Command, d *hashtrail.DigestSettings, asJSON bool) error {
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), d)
	}
	w := cmd.OutOrStdout()
	if d.Schedule == "off" || d.Schedule == "" {
		_, err := fmt.Fprintln(w, "digest: off")
		return err
	}
	_, err := fmt.Fprintf(w, "digest: %s, after %02d:00 UTC, to %s\n", d.Schedule, d.Hour, strings.Join(d.To, ", "))
	return err
}
