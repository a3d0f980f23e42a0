package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/spf13/cobra"
)

var _ hashtrail.SubjectService = (*httpService)(nil)

// newSubjectsCmd builds `hashtrail subjects` and its subcommands.
func newSubjectsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subjects",
		Short: "Erase a data subject or export everything about them (GDPR)",
		Long: `Answer a data subject's requests (docs/security.md): erase their personal
values from a tenant's log or from every tenant (GDPR Art. 17), or export
every event in which they have a role (Art. 15). A subject is "type:id"
(user:42) or an e-mail address.

Works offline on the data directory (--data) or through a running server
(--url and --api-key, with an admin key; an installation-wide one for
--all-tenants).`,
	}
	cmd.AddCommand(newSubjectsEraseCmd(), newSubjectsEventsCmd())
	return cmd
}

func subjectsOf(svc service) (hashtrail.SubjectService, error) {
	ss, ok := svc.(hashtrail.SubjectService)
	if !ok {
		return nil, fmt.Errorf("this connection cannot answer data subject requests")
	}
	return ss, nil
}

func newSubjectsEraseCmd() *cobra.Command {
	var tenant string
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "erase SUBJECT (--tenant T | --all-tenants)",
		Short: "Erase a data subject's personal values",
		Long: `Announce the erasure in the log (system.subject_erased: the roles by seq, no
personal data), wait for a signed checkpoint over it, then delete the
subject's personal values and salts; proofs and verify still pass. A legal
hold covering one of the subject's events wins (the command fails naming
it). Running it again completes an interrupted erasure and erases nothing
new once done.`,
		Example: "  hashtrail subjects erase user:42 --tenant acme\n  hashtrail subjects erase alice@example.com --all-tenants",
		Args:    cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant")
	cmd.Flags().BoolVar(&all, "all-tenants", false, "erase from every tenant (an installation-wide admin key)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	cmd.MarkFlagsMutuallyExclusive("tenant", "all-tenants")
	cmd.MarkFlagsOneRequired("tenant", "all-tenants")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			ss, err := subjectsOf(svc)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if !all {
				n, err := ss.EraseSubject(cmd.Context(), tenant, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(w, map[string]int64{"redacted_events": n})
				}
				fmt.Fprintf(w, "erased the subject from %d events of %s\n", n, tenant)
				return nil
			}
			per, err := ss.EraseSubjectEverywhere(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var total int64
			for _, n := range per {
				total += n
			}
			if asJSON {
				return writeJSON(w, map[string]any{"redacted_events": total, "tenants": per})
			}
			for _, t := range slices.Sorted(maps.Keys(per)) {
				fmt.Fprintf(w, "%s\t%d events\n", t, per[t])
			}
			fmt.Fprintf(w, "erased the subject from %d events in %d tenants\n", total, len(per))
			return nil
		})
	}
	return cmd
}

func newSubjectsEventsCmd() *cobra.Command {
	var tenant string
	cmd := &cobra.Command{
		Use:     "events SUBJECT --tenant T",
		Short:   "Print every event in which a data subject has a role, as JSON Lines",
		Example: "  hashtrail subjects events user:42 --tenant acme > user-42.jsonl",
		Args:    cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant (required)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rf.withService(cmd, func(svc service) error {
			ss, err := subjectsOf(svc)
			if err != nil {
				return err
			}
			bw := bufio.NewWriter(cmd.OutOrStdout())
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			if err := ss.SubjectEvents(cmd.Context(), tenant, args[0], func(e *hashtrail.Event) error {
				return enc.Encode(e)
			}); err != nil {
				return err
			}
			return bw.Flush()
		})
	}
	return cmd
}

func subjectPath(subject string) string { return "/subjects/" + url.PathEscape(subject) }

// EraseSubject is POST /v1/tenants/{t}/subjects/{subject}/erase.
func (c *httpService) EraseSubject(ctx context.Context, tenant, subject string) (int64, error) {
	var out struct {
		RedactedEvents int64 `json:"redacted_events"`
	}
	err := c.do(ctx, http.MethodPost, tenantPath(tenant)+subjectPath(subject)+"/erase", nil, &out)
	return out.RedactedEvents, err
}

// EraseSubjectEverywhere is POST /v1/subjects/{subject}/erase.
func (c *httpService) EraseSubjectEverywhere(ctx context.Context, subject string) (map[string]int64, error) {
	var out struct {
		Tenants map[string]struct {
			RedactedEvents int64 `json:"redacted_events"`
		} `json:"tenants"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1"+subjectPath(subject)+"/erase", nil, &out); err != nil {
		return nil, err
	}
	per := map[string]int64{}
	for t, n := range out.Tenants {
		per[t] = n.RedactedEvents
	}
	return per, nil
}

// SubjectEvents is GET /v1/tenants/{t}/subjects/{subject}/events, read as
// JSON Lines.
func (c *httpService) SubjectEvents(ctx context.Context, tenant, subject string, fn func(*hashtrail.Event) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+tenantPath(tenant)+subjectPath(subject)+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	resp, err := c.client.Do(req)
	if err != nil {
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "cannot reach %s: %v", c.base, rootCause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data := make([]byte, 64<<10)
		n, _ := resp.Body.Read(data)
		return problemError(resp, data[:n])
	}
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var e hashtrail.Event
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("reading the subject's events: %w", err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return nil
}
