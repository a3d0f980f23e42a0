package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/export"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/query"
	"github.com/spf13/cobra"
)

// newExportCmd builds `hashtrail export`.
func newExportCmd() *cobra.Command {
	var (
		ff             filterFlags
		format         string
		output         string
		personalFields []string
	)
	cmd := &cobra.Command{
		Use:   "export --tenant T --format jsonl|csv|ocsf|cef|ecs|bundle [filters] [-o FILE]",
		Short: "Export a tenant's events (JSON Lines, CSV, OCSF, CEF, ECS), or an evidence bundle for offline verification",
		Long: `Export the events of a tenant that match the filters, oldest first,
streamed: an export of any size runs in constant memory.

  --format jsonl   one event per line, as the API answers it.
  --format csv     RFC 4180 CSV with a fixed column set; cells that a
                   spreadsheet would read as a formula get a leading '.
  --format ocsf    OCSF 1.8.0 events, one per line, each action in its
                   catalog class (docs/events.md); other actions as
                   6003 API Activity.
  --format cef     ArcSight CEF records, one per line.
  --format ecs     Elastic Common Schema 8.x documents, one per line.
  --format bundle  an evidence bundle (docs/integrity.md): the events with
                   their leaves and inclusion proofs against the latest signed
                   checkpoint, the checkpoint and the log keys, and the
                   system.subject_erased events that cover erased personal
                   values among them. 'hashtrail verify --bundle FILE
                   --log-key KEY' checks it with no access to the server.
                   Events newer than the checkpoint are left out.

The field mappings are in docs/exports.md. Reaches Hashtrail offline on the
data directory (--data) or through a running server (--url and --api-key);
through a server, every format but bundle is the server's
GET /v1/tenants/{t}/export, which records the export in the tenant's log
(data.export).`,
		Example: `  hashtrail export --data ./hashtrail-data --tenant acme --format bundle -o acme.bundle.json
  hashtrail export --url https://audit.example.com --api-key $KEY --tenant acme --format bundle --actor user:42 --since 2026-01-01 -o user42.json
  hashtrail export --tenant acme --format csv --since 30d -q 'category:authentication -outcome:success' -o failures.csv
  hashtrail export --tenant acme --format ocsf -o acme.ocsf.jsonl`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	ff.add(cmd)
	f := cmd.Flags()
	f.StringVar(&format, "format", "jsonl", "jsonl, csv, ocsf, cef, ecs or bundle")
	f.StringVarP(&output, "output", "o", "-", "write to this file instead of standard output")
	f.StringSliceVar(&personalFields, "personal-fields", nil, "the tenant's personal change fields, if not the default email,name,phone,address,ip")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q, err := ff.query(time.Now())
		if err != nil {
			return readable(err)
		}
		q.Order = hashtrail.OrderAsc
		q.Limit = hashtrail.MaxLimit
		fmtv, ferr := export.ParseFormat(format)
		if ferr != nil {
			return readable(invalidFlag("--format", ferr.Error()))
		}
		var pf []string
		if cmd.Flags().Changed("personal-fields") {
			pf = append([]string{}, personalFields...)
		}
		if fmtv != export.FormatBundle {
			t, err := rf.resolve(cmd)
			if err != nil {
				return readable(err)
			}
			if t.url != "" {
				w, closeOut, err := createOutput(cmd, output)
				if err != nil {
					return err
				}
				err = exportRemote(cmd.Context(), t.url, t.key, q, fmtv, w)
				if cerr := closeOut(); err == nil {
					err = cerr
				}
				return readable(err)
			}
		}
		src, done, err := openExportSource(cmd, rf, q.Tenant)
		if err != nil {
			return readable(err)
		}
		defer done()
		w, closeOut, err := createOutput(cmd, output)
		if err != nil {
			return err
		}
		if fmtv != export.FormatBundle {
			err = exportEncoded(cmd.Context(), src, q, fmtv, w)
		} else {
			var n, left int
			n, left, err = exportBundle(cmd.Context(), src, q, pf, describeFilters(cmd), w)
			if err == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "bundle: %d entries", n)
				if left > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "; %d newer events left out (not yet in a signed checkpoint)", left)
				}
				fmt.Fprintln(cmd.ErrOrStderr())
			}
		}
		if cerr := closeOut(); err == nil {
			err = cerr
		}
		return readable(err)
	}
	return cmd
}

// createOutput opens the output file ("-" is standard output). The file
// is written to a temporary name and renamed on success.
func createOutput(cmd *cobra.Command, path string) (io.Writer, func() error, error) {
	if path == "-" || path == "" {
		return cmd.OutOrStdout(), func() error { return nil }, nil
	}
	f, err := os.Create(path + ".partial")
	if err != nil {
		return nil, nil, err
	}
	return f, func() error {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(path+".partial", path)
		} else {
			os.Remove(path + ".partial")
		}
		return err
	}, nil
}

// describeFilters lists the filter flags given, as URL query parameters,
// for the bundle's "query" member.
func describeFilters(cmd *cobra.Command) string {
	v := url.Values{}
	for _, name := range []string{"action", "category", "severity", "outcome", "actor", "target", "ip", "since", "until", "q"} {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			v.Set(name, strings.Trim(fl.Value.String(), "[]"))
		}
	}
	return v.Encode()
}

// exportSource is what an export reads: a data directory or a server.
type exportSource interface {
	// events returns one page of q (asc order, from q.AfterSeq).
	events(ctx context.Context, q *hashtrail.Query) ([]*hashtrail.Event, error)
	// checkpoint returns the latest signed checkpoint.
	checkpoint(ctx context.Context, tenant string) ([]byte, error)
	inclusion(ctx context.Context, tenant string, seq, size int64) ([]merkle.Hash, error)
	// logKeys returns the log verifier keys the installation lists.
	logKeys(ctx context.Context) ([]string, error)
}

// openExportSource opens the data directory or reaches the server, as the
// flags and environment say (see remoteFlags.open).
func openExportSource(cmd *cobra.Command, rf *remoteFlags, tenant string) (exportSource, func(), error) {
	t, err := rf.resolve(cmd)
	if err != nil {
		return nil, nil, err
	}
	if t.url != "" {
		svc, err := newHTTPService(t.url, t.key)
		if err != nil {
			return nil, nil, err
		}
		get, err := httpGetter(t.url, t.key)
		if err != nil {
			return nil, nil, err
		}
		return &apiExport{svc: svc, api: &client.APISource{Get: get, TenantID: tenant}}, func() {}, nil
	}
	st, err := openStoreOffline(cmd.Context(), t.store, cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, err
	}
	return &storeExport{st: st, ls: st, settings: st}, func() { st.Close() }, nil
}

// storeExport reads a data directory.
type storeExport struct {
	st       offlineStore
	ls       hashtrail.LogStore
	settings hashtrail.SettingStore
}

func (s *storeExport) events(ctx context.Context, q *hashtrail.Query) ([]*hashtrail.Event, error) {
	return s.st.Events(ctx, q)
}

func (s *storeExport) checkpoint(ctx context.Context, tenant string) ([]byte, error) {
	cp, err := s.ls.LatestCheckpoint(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return cp.Note, nil
}

func (s *storeExport) inclusion(ctx context.Context, tenant string, seq, size int64) ([]merkle.Hash, error) {
	return merkle.ProveRecord(size, seq, merkle.HashReaderFunc(func(idx []int64) ([]merkle.Hash, error) {
		return s.ls.ReadHashes(ctx, tenant, idx)
	}))
}

func (s *storeExport) logKeys(ctx context.Context) ([]string, error) {
	return ledger.LogKeyList(ctx, s.settings)
}

// apiExport reads a running server.
type apiExport struct {
	svc *httpService
	api *client.APISource
}

func (a *apiExport) events(ctx context.Context, q *hashtrail.Query) ([]*hashtrail.Event, error) {
	list, err := a.svc.Events(ctx, q)
	if err != nil {
		return nil, err
	}
	return list.Events, nil
}

func (a *apiExport) checkpoint(ctx context.Context, _ string) ([]byte, error) {
	return a.api.Checkpoint(ctx)
}

func (a *apiExport) inclusion(ctx context.Context, _ string, seq, size int64) ([]merkle.Hash, error) {
	return a.api.InclusionProof(ctx, seq, size)
}

func (a *apiExport) logKeys(ctx context.Context) ([]string, error) { return a.api.LogKeys(ctx) }

// eachEvent calls fn for every event of q in seq order, page by page.
func eachEvent(ctx context.Context, src exportSource, q *hashtrail.Query, fn func(*hashtrail.Event) error) error {
	cp := *q
	q = &cp
	for {
		page, err := src.events(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < q.Limit {
			return nil
		}
		last := page[len(page)-1].Seq
		q.AfterSeq = &last
	}
}

// exportEncoded writes the events of q in format f (not bundle), page by
// page.
func exportEncoded(ctx context.Context, src exportSource, q *hashtrail.Query, f export.Format, w io.Writer) error {
	enc, err := export.New(f, w, export.Options{})
	if err != nil {
		return err
	}
	if err := enc.Begin(); err != nil {
		return err
	}
	if err := eachEvent(ctx, src, q, enc.Encode); err != nil {
		return err
	}
	return enc.End()
}

// exportRemote streams GET /v1/tenants/{t}/export in format f into w. The
// server encodes and records the export; a transfer the server aborts
// midway is an error, never a silently short file.
func exportRemote(ctx context.Context, base, key string, q *hashtrail.Query, f export.Format, w io.Writer) error {
	v, err := filterValues(q)
	if err != nil {
		return err
	}
	v.Set("format", string(f))
	base = strings.TrimRight(base, "/")
	u := base + tenantPath(q.Tenant) + "/export?" + v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	// No overall timeout: an export takes as long as it takes; ctx ends it.
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "cannot reach %s: %v", base, rootCause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return problemError(resp, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("the export was cut short: %w", err)
	}
	return nil
}

// filterValues writes q's filters as the API's query parameters, the
// same for listings, exports and stats (docs/api.md).
func filterValues(q *hashtrail.Query) (url.Values, error) {
	v := url.Values{}
	for _, a := range q.Actions {
		v.Add("action", a)
	}
	for _, x := range q.Categories {
		v.Add("category", string(x))
	}
	setIf(v, "severity", string(q.MinSeverity))
	for _, x := range q.Outcomes {
		v.Add("outcome", string(x))
	}
	setIf(v, "actor", q.Actor)
	setIf(v, "target", q.Target)
	if q.IP.IsValid() {
		if q.IP.IsSingleIP() {
			v.Set("ip", q.IP.Addr().String())
		} else {
			v.Set("ip", q.IP.String())
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.String())
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.String())
	}
	if len(q.Terms) > 0 {
		s, err := query.FromTerms(q.Terms)
		if err != nil {
			return nil, err
		}
		v.Set("q", s.String())
	}
	return v, nil
}

// exportBundle writes an evidence bundle of the events of q, proved against
// the latest checkpoint. It returns the number of entries written and of
// events left out because no checkpoint covers them yet.
func exportBundle(ctx context.Context, src exportSource, q *hashtrail.Query, personalFields []string, query string, w io.Writer) (n, left int, err error) {
	note, err := src.checkpoint(ctx, q.Tenant)
	if err != nil {
		return 0, 0, fmt.Errorf("the latest checkpoint of %s: %w", q.Tenant, err)
	}
	text, _, _ := bytes.Cut(note, []byte("\n\n"))
	cp, err := checkpoint.Parse(append(text, '\n'))
	if err != nil {
		return 0, 0, err
	}
	keys, err := src.logKeys(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("the log keys: %w", err)
	}
	// The announcements of erasures below the checkpoint, by role.
	announcers := map[client.ErasedRole]*hashtrail.Event{}
	aq := &hashtrail.Query{Tenant: q.Tenant, Actions: []string{client.ActionSubjectErased}, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit}
	err = eachEvent(ctx, src, aq, func(e *hashtrail.Event) error {
		if e.Seq >= cp.Size {
			return nil
		}
		if m, err := client.ParseSubjectErased(e); err == nil {
			for _, r := range m.Roles {
				if announcers[r] == nil {
					announcers[r] = e
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("the erasure announcements: %w", err)
	}
	bw, err := client.NewBundleWriter(w, &client.Bundle{
		CreatedAt: hashtrail.NewTime(time.Now()), Tenant: q.Tenant, Origin: cp.Origin, LogKeys: keys,
		PersonalFields: personalFields, Query: query, Checkpoint: string(note),
	})
	if err != nil {
		return 0, 0, err
	}
	var pending []*hashtrail.Event // announcements needed, not yet written
	written := map[int64]bool{}
	add := func(e *hashtrail.Event) error {
		if written[e.Seq] {
			return nil
		}
		written[e.Seq] = true
		leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, personalFields)
		if err != nil {
			return fmt.Errorf("event %s (seq %d) cannot be rebuilt into its leaf: %w", e.ID, e.Seq, err)
		}
		lh := merkle.LeafHash(leaf)
		proof, err := src.inclusion(ctx, q.Tenant, e.Seq, cp.Size)
		if err != nil {
			return fmt.Errorf("the inclusion proof of seq %d: %w", e.Seq, err)
		}
		be := &client.BundleEntry{Seq: e.Seq, Event: e, Leaf: leaf, LeafHash: hex.EncodeToString(lh[:]),
			Proof: hashtrail.InclusionProof{LeafIndex: e.Seq, TreeSize: cp.Size, Hashes: make([][]byte, len(proof))}}
		for i, h := range proof {
			be.Proof.Hashes[i] = h[:]
		}
		return bw.Add(be)
	}
	flush := func(before int64) error {
		slices.SortFunc(pending, func(a, b *hashtrail.Event) int { return int(a.Seq - b.Seq) })
		for len(pending) > 0 && pending[0].Seq < before {
			if err := add(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		return nil
	}
	err = eachEvent(ctx, src, q, func(e *hashtrail.Event) error {
		if e.Seq >= cp.Size {
			left++
			return nil
		}
		if err := flush(e.Seq); err != nil {
			return err
		}
		if err := add(e); err != nil {
			return err
		}
		for role, c := range e.PII {
			if c.Erased || c.Salt == nil {
				if a := announcers[client.ErasedRole{Seq: e.Seq, Role: role}]; a != nil && !written[a.Seq] && !slices.Contains(pending, a) {
					pending = append(pending, a)
				}
			}
		}
		return nil
	})
	if err == nil {
		err = flush(cp.Size)
	}
	if err != nil {
		return 0, 0, err
	}
	return bw.Len(), left, bw.Close()
}
