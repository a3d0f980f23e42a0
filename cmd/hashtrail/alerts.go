package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/spf13/cobra"
)

// newAlertsCmd builds `hashtrail alerts` and its subcommands.
func newAlertsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Alert rules: add, list, show, remove rules and list their firings",
		Long: `Manage a tenant's alert rules. A rule watches the tenant's log after
commit: every event its filter selects, or N of them per group within a
window (--threshold 5/10m --group-by actor), or a value its group has not
shown before (--novelty country --per actor). Firings are recorded in the
tenant's log (system.alert_fired) and notified by webhook (Standard Webhooks
signed) and/or email, at most once per rule and group per cooldown.
See docs/alerts.md.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key). Rules are evaluated by the server.`,
	}
	cmd.AddCommand(newAlertsAddCmd(), newAlertsListCmd(), newAlertsShowCmd(), newAlertsUpdateCmd(), newAlertsRemoveCmd(), newAlertsFiringsCmd())
	return cmd
}

// withAlerts runs fn with the alert service the flags select.
func withAlerts(rf *remoteFlags, cmd *cobra.Command, fn func(svc hashtrail.AlertService) error) error {
	return rf.withService(cmd, func(svc service) error {
		as, ok := svc.(hashtrail.AlertService)
		if !ok {
			return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "this connection cannot manage alerts")
		}
		return fn(as)
	})
}

// parseThreshold reads --threshold N/WINDOW ("5/10m").
func parseThreshold(s, groupBy string) (*hashtrail.AlertThreshold, error) {
	n, window, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || window == "" {
		return nil, invalidFlag("--threshold", "must be COUNT/WINDOW, such as 5/10m (5 events in 10 minutes)")
	}
	return &hashtrail.AlertThreshold{Count: count, Window: window, GroupBy: groupBy}, nil
}

func newAlertsAddCmd() *cobra.Command {
	var (
		tenant, name, filter, threshold, groupBy string
		novelty, per, cooldown, hook             string
		secrets, emails                          []string
		firstSeen, disabled, asJSON              bool
	)
	cmd := &cobra.Command{
		Use:   "add --tenant T [--filter SEARCH] [--threshold N/WINDOW --group-by F | --novelty F --per F] (--webhook URL --secret whsec_... | --email ADDR)",
		Short: "Add an alert rule",
		Example: `  hashtrail alerts add --tenant acme --name "brute force" --filter 'action:user.login outcome:failure' \
      --threshold 5/10m --group-by actor --email sec@example.com
  hashtrail alerts add --tenant acme --name "new country" --filter 'action:user.login outcome:success' \
      --novelty country --per actor --webhook https://hooks.example.com/audit --secret whsec_...
  hashtrail alerts add --tenant acme --name "new API key used" --novelty api_key --email ops@example.com`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&tenant, "tenant", "", "the tenant whose log the rule watches (required)")
	f.StringVar(&name, "name", "", "what the rule is for")
	f.StringVar(&filter, "filter", "", "the events the rule looks at, in the search syntax")
	f.StringVar(&threshold, "threshold", "", "fire on COUNT/WINDOW matching events, e.g. 5/10m")
	f.StringVar(&groupBy, "group-by", "", "count --threshold per "+strings.Join(hashtrail.AlertGroupFields, ", "))
	f.StringVar(&novelty, "novelty", "", "fire on a value not seen before: "+strings.Join(hashtrail.AlertNoveltyFields, ", "))
	f.StringVar(&per, "per", "", "remember --novelty values per "+strings.Join(hashtrail.AlertGroupFields, ", ")+" (default: tenant-wide)")
	f.BoolVar(&firstSeen, "first-seen", false, "with --novelty --per: also fire on a group's first value")
	f.StringVar(&cooldown, "cooldown", "", "least time between two notifications of one group (default 15m)")
	f.StringVar(&hook, "webhook", "", "notify this URL (Standard Webhooks signed)")
	f.StringArrayVar(&secrets, "secret", nil, "a whsec_ secret of the webhook (repeatable, for rotation)")
	f.StringArrayVar(&emails, "email", nil, "notify this address (repeatable)")
	f.BoolVar(&disabled, "disabled", false, "create the rule switched off")
	f.BoolVar(&asJSON, "json", false, "print the rule as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.MarkFlagsMutuallyExclusive("threshold", "novelty")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		r := &hashtrail.AlertRule{Tenant: tenant, Name: name, Filter: filter, Cooldown: cooldown, Email: emails, Disabled: disabled}
		var err error
		switch {
		case threshold != "":
			if r.Threshold, err = parseThreshold(threshold, groupBy); err != nil {
				return readable(err)
			}
		case groupBy != "":
			return readable(invalidFlag("--group-by", "goes with --threshold"))
		}
		if novelty != "" {
			r.Novelty = &hashtrail.AlertNovelty{Field: novelty, Per: per, FirstSeen: firstSeen}
		} else if per != "" || firstSeen {
			return readable(invalidFlag("--per", "goes with --novelty"))
		}
		if hook != "" {
			r.Webhook = &hashtrail.AlertWebhook{URL: hook, Secrets: secrets}
		} else if len(secrets) > 0 {
			return readable(invalidFlag("--secret", "goes with --webhook"))
		}
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			got, err := svc.CreateAlert(cmd.Context(), r)
			if err != nil {
				return err
			}
			return printAlert(cmd.OutOrStdout(), got, asJSON)
		})
	}
	return cmd
}

func newAlertsListCmd() *cobra.Command {
	var (
		tenant string
		asJSON bool
	)
	cmd := &cobra.Command{Use: "list --tenant T", Short: "List a tenant's alert rules", Args: cobra.NoArgs}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"alerts": [...]} as JSON`)
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			list, err := svc.Alerts(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			if list == nil {
				list = []*hashtrail.AlertRule{}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), api.AlertList{Alerts: list})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCONDITION\tNOTIFY\tSTATE")
			for _, r := range list {
				state := "on"
				if r.Disabled {
					state = "off"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Name, alertCondition(r), alertChannels(r), state)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newAlertsShowCmd() *cobra.Command {
	var (
		tenant string
		asJSON bool
	)
	cmd := &cobra.Command{Use: "show --tenant T ID", Short: "Show an alert rule", Args: cobra.ExactArgs(1)}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the rule as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			r, err := svc.Alert(cmd.Context(), tenant, args[0])
			if err != nil {
				return err
			}
			return printAlert(cmd.OutOrStdout(), r, asJSON)
		})
	}
	return cmd
}

func newAlertsUpdateCmd() *cobra.Command {
	var (
		tenant, name, filter, cooldown, threshold, groupBy, novelty, per, hook string
		secrets, emails                                                        []string
		disabled, asJSON, noThreshold, noNovelty, noWebhook, firstSeen         bool
	)
	cmd := &cobra.Command{
		Use:   "update --tenant T ID [flags]",
		Short: "Change an alert rule: only the flags given change",
		Example: `  hashtrail alerts update --tenant acme alr_3q2x7vbdw1az --disabled
  hashtrail alerts update --tenant acme alr_3q2x7vbdw1az --disabled=false --cooldown 1h --email a@example.com --email b@example.com
  hashtrail alerts update --tenant acme alr_3q2x7vbdw1az --threshold 10/5m --group-by ip
  hashtrail alerts update --tenant acme alr_3q2x7vbdw1az --no-webhook`,
		Args: cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&tenant, "tenant", "", "the tenant (required)")
	f.StringVar(&name, "name", "", "what the rule is for")
	f.StringVar(&filter, "filter", "", "the events the rule looks at, in the search syntax")
	f.StringVar(&threshold, "threshold", "", "COUNT/WINDOW, e.g. 5/10m (replaces a novelty)")
	f.StringVar(&groupBy, "group-by", "", "with --threshold: count per this field")
	f.BoolVar(&noThreshold, "no-threshold", false, "remove the threshold")
	f.StringVar(&novelty, "novelty", "", "a value not seen before (replaces a threshold)")
	f.StringVar(&per, "per", "", "with --novelty: remember values per this field")
	f.BoolVar(&firstSeen, "first-seen", false, "with --novelty --per: also fire on a group's first value")
	f.BoolVar(&noNovelty, "no-novelty", false, "remove the novelty condition")
	f.StringVar(&cooldown, "cooldown", "", "least time between two notifications of one group")
	f.StringVar(&hook, "webhook", "", "notify this URL; with no --secret the stored secrets are kept")
	f.StringArrayVar(&secrets, "secret", nil, "the webhook's whsec_ secrets (repeatable; replaces them)")
	f.BoolVar(&noWebhook, "no-webhook", false, "remove the webhook")
	f.StringArrayVar(&emails, "email", nil, "the addresses to notify (repeatable; replaces them; --email '' for none)")
	f.BoolVar(&disabled, "disabled", false, "switch the rule off (--disabled=false: on)")
	f.BoolVar(&asJSON, "json", false, "print the rule as JSON")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.MarkFlagsMutuallyExclusive("threshold", "novelty", "no-threshold")
	cmd.MarkFlagsMutuallyExclusive("webhook", "no-webhook")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		p := &hashtrail.AlertPatch{}
		ch := cmd.Flags().Changed
		if ch("name") {
			p.Name = &name
		}
		if ch("filter") {
			p.Filter = &filter
		}
		if ch("cooldown") {
			p.Cooldown = &cooldown
		}
		if ch("disabled") {
			p.Disabled = &disabled
		}
		if ch("email") {
			list := slices.DeleteFunc(slices.Clone(emails), func(e string) bool { return e == "" })
			p.Email = &list
		}
		var none *hashtrail.AlertThreshold
		var noneN *hashtrail.AlertNovelty
		switch {
		case threshold != "":
			t, err := parseThreshold(threshold, groupBy)
			if err != nil {
				return readable(err)
			}
			p.Threshold, p.Novelty = &t, &noneN
		case noThreshold:
			p.Threshold = &none
		}
		switch {
		case novelty != "":
			n := &hashtrail.AlertNovelty{Field: novelty, Per: per, FirstSeen: firstSeen}
			p.Novelty, p.Threshold = &n, &none
		case noNovelty:
			p.Novelty = &noneN
		}
		if hook != "" || len(secrets) > 0 {
			w := &hashtrail.AlertWebhook{URL: hook, Secrets: secrets}
			p.Webhook = &w
		} else if noWebhook {
			var nw *hashtrail.AlertWebhook
			p.Webhook = &nw
		}
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			if w := p.Webhook; w != nil && *w != nil && ((*w).URL == "" || len((*w).Secrets) == 0) {
				// Fill in what was not given from the stored webhook: its
				// URL, or its secrets (sent back redacted, which keeps them).
				cur, err := svc.Alert(cmd.Context(), tenant, args[0])
				if err != nil {
					return err
				}
				if cur.Webhook == nil {
					return readable(invalidFlag("--webhook", "the rule has no webhook yet: give both --webhook and --secret"))
				}
				if (*w).URL == "" {
					(*w).URL = cur.Webhook.URL
				}
				if len((*w).Secrets) == 0 {
					(*w).Secrets = cur.Webhook.Secrets
				}
			}
			r, err := svc.UpdateAlert(cmd.Context(), tenant, args[0], p)
			if err != nil {
				return err
			}
			return printAlert(cmd.OutOrStdout(), r, asJSON)
		})
	}
	return cmd
}

func newAlertsRemoveCmd() *cobra.Command {
	var tenant string
	cmd := &cobra.Command{Use: "remove --tenant T ID", Short: "Remove an alert rule (its firings stay in the log)", Args: cobra.ExactArgs(1)}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			if err := svc.DeleteAlert(cmd.Context(), tenant, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed alert rule %s\n", args[0])
			return nil
		})
	}
	return cmd
}

func newAlertsFiringsCmd() *cobra.Command {
	var (
		tenant string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{Use: "firings --tenant T ID", Short: "List a rule's firings, newest first", Args: cobra.ExactArgs(1)}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"firings": [...]} as JSON`)
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return withAlerts(rf, cmd, func(svc hashtrail.AlertService) error {
			fs, err := svc.AlertFirings(cmd.Context(), tenant, args[0], limit)
			if err != nil {
				return err
			}
			if fs == nil {
				fs = []*hashtrail.AlertFiring{}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), api.FiringList{Firings: fs})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "FIRED\tREASON\tGROUP\tCOUNT\tEVENTS\tNOTIFIED")
			for _, f := range fs {
				group := f.Group
				if group == "" && f.GroupHash != "" {
					group = "#" + f.GroupHash
				}
				notified := "yes"
				if !f.Notified {
					notified = "suppressed"
				} else if f.Suppressed > 0 {
					notified = fmt.Sprintf("yes (+%d suppressed)", f.Suppressed)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d..%d\t%s\n", f.FiredAt, f.Reason, group, f.Count, f.FirstSeq, f.LastSeq, notified)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func alertCondition(r *hashtrail.AlertRule) string {
	var c string
	switch {
	case r.Threshold != nil:
		c = fmt.Sprintf("%d in %s", r.Threshold.Count, r.Threshold.Window)
		if r.Threshold.GroupBy != "" {
			c += " per " + r.Threshold.GroupBy
		}
	case r.Novelty != nil:
		c = "new " + r.Novelty.Field
		if r.Novelty.Per != "" {
			c += " per " + r.Novelty.Per
		}
	default:
		c = "every event"
	}
	if r.Filter != "" {
		c += " of " + r.Filter
	}
	return c
}

func alertChannels(r *hashtrail.AlertRule) string {
	var out []string
	if r.Webhook != nil {
		out = append(out, "webhook "+hostOf(r.Webhook.URL))
	}
	out = append(out, r.Email...)
	return strings.Join(out, ", ")
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

func printAlert(w io.Writer, r *hashtrail.AlertRule, asJSON bool) error {
	if asJSON {
		return writeJSON(w, r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\ntenant:\t%s\n", r.ID, r.Tenant)
	if r.Name != "" {
		fmt.Fprintf(tw, "name:\t%s\n", r.Name)
	}
	fmt.Fprintf(tw, "condition:\t%s\n", alertCondition(r))
	cd := r.Cooldown
	if cd == "" {
		cd = "15m (default)"
	}
	fmt.Fprintf(tw, "cooldown:\t%s\nnotify:\t%s\n", cd, alertChannels(r))
	if r.Disabled {
		fmt.Fprintf(tw, "state:\toff\n")
	}
	fmt.Fprintf(tw, "created:\t%s\nupdated:\t%s\n", r.CreatedAt, r.UpdatedAt)
	return tw.Flush()
}

func alertPath(tenant string, rest ...string) string {
	p := "/v1/tenants/" + url.PathEscape(tenant) + "/alerts"
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

var _ hashtrail.AlertService = (*httpService)(nil)

// CreateAlert is POST .../alerts.
func (c *httpService) CreateAlert(ctx context.Context, r *hashtrail.AlertRule) (*hashtrail.AlertRule, error) {
	body := api.AlertRequest{Name: r.Name, Filter: r.Filter, Threshold: r.Threshold, Novelty: r.Novelty,
		Cooldown: r.Cooldown, Webhook: r.Webhook, Email: r.Email, Disabled: r.Disabled}
	var out hashtrail.AlertRule
	err := c.do(ctx, http.MethodPost, alertPath(r.Tenant), body, &out)
	return &out, err
}

// Alerts is GET .../alerts.
func (c *httpService) Alerts(ctx context.Context, tenant string) ([]*hashtrail.AlertRule, error) {
	var out api.AlertList
	err := c.do(ctx, http.MethodGet, alertPath(tenant), nil, &out)
	return out.Alerts, err
}

// Alert is GET .../alerts/{id}.
func (c *httpService) Alert(ctx context.Context, tenant, id string) (*hashtrail.AlertRule, error) {
	var out hashtrail.AlertRule
	err := c.do(ctx, http.MethodGet, alertPath(tenant, id), nil, &out)
	return &out, err
}

// UpdateAlert is PATCH .../alerts/{id}.
func (c *httpService) UpdateAlert(ctx context.Context, tenant, id string, p *hashtrail.AlertPatch) (*hashtrail.AlertRule, error) {
	var out hashtrail.AlertRule
	err := c.do(ctx, http.MethodPatch, alertPath(tenant, id), p, &out)
	return &out, err
}

// DeleteAlert is DELETE .../alerts/{id}.
func (c *httpService) DeleteAlert(ctx context.Context, tenant, id string) error {
	return c.do(ctx, http.MethodDelete, alertPath(tenant, id), nil, nil)
}

// AlertFirings is GET .../alerts/{id}/firings.
func (c *httpService) AlertFirings(ctx context.Context, tenant, id string, limit int) ([]*hashtrail.AlertFiring, error) {
	var out api.FiringList
	err := c.do(ctx, http.MethodGet, alertPath(tenant, id, "firings")+"?limit="+strconv.Itoa(limit), nil, &out)
	return out.Firings, err
}

// Digest is GET .../digest.
func (c *httpService) Digest(ctx context.Context, tenant string) (*hashtrail.DigestSettings, error) {
	var out hashtrail.DigestSettings
	err := c.do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/digest", nil, &out)
	return &out, err
}

// SetDigest is PUT .../digest.
func (c *httpService) SetDigest(ctx context.Context, tenant string, d *hashtrail.DigestSettings) (*hashtrail.DigestSettings, error) {
	var out hashtrail.DigestSettings
	body := api.DigestRequest{Schedule: d.Schedule, To: d.To, Hour: d.Hour}
	err := c.do(ctx, http.MethodPut, "/v1/tenants/"+url.PathEscape(tenant)+"/digest", body, &out)
	return &out, err
}

// SendDigest is POST .../digest/send.
func (c *httpService) SendDigest(ctx context.Context, tenant string) (*hashtrail.DigestReport, error) {
	var out hashtrail.DigestReport
	err := c.do(ctx, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenant)+"/digest/send", nil, &out)
	return &out, err
}
