package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/export"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
)

// DeleteTenantLog is DELETE /v1/tenants/{t}?events=delete&size=N.
func (c *httpService) DeleteTenantLog(ctx context.Context, id string, size int64) (*hashtrail.TenantDeletion, error) {
	var out hashtrail.TenantDeletion
	v := url.Values{"events": {"delete"}, "size": {strconv.FormatInt(size, 10)}}
	err := c.do(ctx, http.MethodDelete, tenantPath(id)+"?"+v.Encode(), nil, &out)
	return &out, err
}

// SetTenantStorageQuota is PATCH /v1/tenants/{t} with storage_bytes_limit.
func (c *httpService) SetTenantStorageQuota(ctx context.Context, id string, bytes int64) (*hashtrail.Tenant, error) {
	var out hashtrail.Tenant
	err := c.do(ctx, http.MethodPatch, tenantPath(id), api.TenantPatch{StorageBytesLimit: &bytes}, &out)
	return &out, err
}

// deleteFlags are the options of `hashtrail tenants delete`.
type deleteFlags struct {
	finalExport   string
	format        string
	noFinalExport bool
	reason        string
	wait          time.Duration
	asJSON        bool
}

func newTenantsDeleteCmd() *cobra.Command {
	var df deleteFlags
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a tenant: an empty one, or one with events after a checked final export",
		Long: `Delete a tenant, its keys, sinks and settings.

A tenant whose log holds events is deleted in steps that lose nothing
unseen: the tenant is suspended (writes refused); --final-export FILE
writes every event up to a signed checkpoint of the whole log (an evidence
bundle that 'hashtrail verify --bundle' checks offline, or JSON Lines with
--format jsonl) and checks it; then the deletion is confirmed with the
exact log size the export covers, so an event appended meanwhile stops it.
The server records tenant.delete with the final size and root hash in the
installation's log and deletes the events in the background; the command
waits for it. A legal hold on the tenant, or a locked compliance floor
that still keeps its newest event, refuses (lift the hold; wait for the
date the message names).

What remains of a deleted tenant: its id (never used again), final size,
tree hashes and signed checkpoints, so receipts already handed out and the
installation log still verify. --no-final-export deletes without an export.`,
		Example: `  hashtrail tenants delete acme --final-export acme-final.bundle
  hashtrail tenants delete acme --final-export acme.jsonl --format jsonl
  hashtrail tenants delete trial-42 --no-final-export`,
		Args: cobra.ExactArgs(1),
	}
	rf := addRemoteFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&df.finalExport, "final-export", "", "write every event to this file and check it before deleting")
	f.StringVar(&df.format, "format", "bundle", "of the final export: bundle (verifiable offline) or jsonl")
	f.BoolVar(&df.noFinalExport, "no-final-export", false, "delete a tenant with events without a final export")
	f.StringVar(&df.reason, "reason", "being deleted", "the suspension reason writes are refused with")
	f.DurationVar(&df.wait, "wait", 30*time.Minute, "how long to wait for the deletion to finish (0: do not wait)")
	f.BoolVar(&df.asJSON, "json", false, `print the deletion as JSON`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if df.finalExport != "" && df.noFinalExport {
			return readable(invalidFlag("--no-final-export", "goes without --final-export"))
		}
		if df.format != "bundle" && df.format != "jsonl" {
			return readable(invalidFlag("--format", "must be bundle or jsonl"))
		}
		svc, src, done, err := openDeleteService(cmd, rf, args[0])
		if err != nil {
			return readable(err)
		}
		defer done()
		return readable(deleteTenant(cmd, svc, src, args[0], &df))
	}
	return cmd
}

// openDeleteService opens the service and export source a deletion works
// with. Offline, the ledger signs checkpoints with the installation's
// signing key, as the server would, so the whole log can be covered.
func openDeleteService(cmd *cobra.Command, rf *remoteFlags, tenant string) (service, exportSource, func(), error) {
	t, err := rf.resolve(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	if t.url != "" {
		svc, err := newHTTPService(t.url, t.key)
		if err != nil {
			return nil, nil, nil, err
		}
		src, done, err := openExportSource(cmd, rf, tenant)
		if err != nil {
			return nil, nil, nil, err
		}
		return svc, src, done, nil
	}
	ctx := cmd.Context()
	cfg, err := rf.config.load(os.Getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	logger := quietLogger(cmd.ErrOrStderr())
	st, err := openStore(ctx, t.store, logger, false)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := checkpoint.LoadKey(os.Getenv, cfg.signingKeyPath())
	if err != nil {
		// Without the key: empty tenants only; one with events needs a
		// checkpoint a server signed (DeleteTenantLog says so).
		logger.Warn("no signing key: the final checkpoint of a tenant with events must come from a server", "err", err)
		l := ledger.New(st, ledger.Config{Logger: logger, Sinks: offlineSinkTypes()})
		return l, &storeExport{st: st, ls: st, settings: st}, closeLedger(l, st, logger), nil
	}
	id, err := ledger.SetupLog(ctx, st, ledger.LogSetup{ServerName: cfg.ServerName, Signer: key})
	if err != nil {
		st.Close()
		return nil, nil, nil, fmt.Errorf("the checkpoint signing key or server name: %w", err)
	}
	l := ledger.New(st, ledger.Config{Logger: logger, Sinks: offlineSinkTypes(), Signer: key, ServerName: id.ServerName,
		Cluster: t.store.shared(), CheckpointInterval: 100 * time.Millisecond})
	return l, &storeExport{st: st, ls: st, settings: st}, closeLedger(l, st, logger), nil
}

// closeLedger returns the function that closes l and then st.
func closeLedger(l *ledger.Ledger, st hashtrail.Store, logger *slog.Logger) func() {
	return func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(cctx); err != nil {
			logger.Warn("closing the ledger", "err", err)
		}
		if err := st.Close(); err != nil {
			logger.Warn("closing the store", "err", err)
		}
	}
}

// deleteTenant runs the deletion steps; see newTenantsDeleteCmd.
func deleteTenant(cmd *cobra.Command, svc service, src exportSource, id string, df *deleteFlags) error {
	ctx := cmd.Context()
	errw := cmd.ErrOrStderr()
	t, err := svc.Tenant(ctx, id)
	if err != nil {
		return err
	}
	if t.State == hashtrail.TenantDeleting {
		fmt.Fprintf(errw, "tenant %s is being deleted already; waiting for it\n", id)
		d, err := svc.DeleteTenantLog(ctx, id, t.Size)
		if err != nil {
			return err
		}
		return finishDeletion(cmd, svc, d, df)
	}
	if t.Size == 0 {
		if err := svc.DeleteTenant(ctx, id); err != nil {
			return err
		}
		return reportDeletion(cmd, &hashtrail.TenantDeletion{Tenant: id, State: hashtrail.TenantDeleted}, df)
	}
	if df.finalExport == "" && !df.noFinalExport {
		return fmt.Errorf("tenant %s has %d events: pass --final-export FILE to write and check every event before they are deleted (or --no-final-export to delete them without)", id, t.Size)
	}
	if !t.Suspended {
		if _, err := svc.SuspendTenant(ctx, id, true, df.reason); err != nil {
			return err
		}
		fmt.Fprintf(errw, "suspended tenant %s: writes are refused\n", id)
	}
	if t, err = svc.Tenant(ctx, id); err != nil {
		return err
	}
	covered := t.Size
	if df.finalExport != "" {
		if covered, err = finalExport(ctx, src, id, t.Size, df, errw); err != nil {
			return err
		}
		if t, err = svc.Tenant(ctx, id); err != nil {
			return err
		}
		// Only Hashtrail's own records (the suspension, the export's) may
		// follow what the export covers.
		if err := onlyOwnEvents(ctx, src, id, covered, t.Size); err != nil {
			return err
		}
	}
	d, err := svc.DeleteTenantLog(ctx, id, t.Size)
	if err != nil {
		return err
	}
	fmt.Fprintf(errw, "deleting tenant %s: %d events, final root %s\n", id, d.Size, d.RootHash)
	return finishDeletion(cmd, svc, d, df)
}

// finalExport waits for a checkpoint of size events or more, writes the
// export and checks it; it returns the log size the export covers.
func finalExport(ctx context.Context, src exportSource, tenant string, size int64, df *deleteFlags, errw io.Writer) (int64, error) {
	cp, err := waitForCheckpoint(ctx, src, tenant, size)
	if err != nil {
		return 0, err
	}
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit}
	w, closeOut, err := createOutput(&cobra.Command{}, df.finalExport)
	if err != nil {
		return 0, err
	}
	if df.format == "bundle" {
		_, _, err = exportBundle(ctx, src, q, nil, "", w)
	} else {
		before := cp.Size
		q.BeforeSeq = &before
		err = exportEncoded(ctx, src, q, export.FormatJSONL, w)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("the final export: %w", err)
	}
	n, err := checkExport(ctx, src, df)
	if err != nil {
		return 0, fmt.Errorf("the final export %s does not check: %w; nothing was deleted", df.finalExport, err)
	}
	if n != cp.Size {
		return 0, fmt.Errorf("the final export %s holds %d events, the checkpoint %d; nothing was deleted", df.finalExport, n, cp.Size)
	}
	fmt.Fprintf(errw, "final export: %d events written to %s and checked\n", n, df.finalExport)
	return cp.Size, nil
}

// waitForCheckpoint waits up to a minute for a signed checkpoint of tenant
// covering size events.
func waitForCheckpoint(ctx context.Context, src exportSource, tenant string, size int64) (*checkpoint.Checkpoint, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		note, err := src.checkpoint(ctx, tenant)
		if err != nil && hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			return nil, err
		}
		if err == nil {
			cp, perr := parseNote(note)
			if perr != nil {
				return nil, perr
			}
			if cp.Size >= size {
				return cp, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no signed checkpoint covers tenant %s's %d events after a minute: is the server signing?", tenant, size)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkExport reads the final export back: a bundle is verified as
// `hashtrail verify --bundle` does, with the installation's log keys; in
// JSON Lines each event's leaf is rebuilt and compared with its leaf hash.
// It returns the number of events checked.
func checkExport(ctx context.Context, src exportSource, df *deleteFlags) (int64, error) {
	f, err := os.Open(df.finalExport)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if df.format == "bundle" {
		b, err := client.ReadBundle(f)
		if err != nil {
			return 0, err
		}
		listed, err := src.logKeys(ctx)
		if err != nil {
			return 0, err
		}
		name, keys, err := client.ParseLogKeys(listed)
		if err != nil {
			return 0, err
		}
		v := &client.Verifier{ServerName: name, Keys: keys, PersonalFields: b.PersonalFields}
		rep, err := v.Verify(ctx, client.BundleSource{B: b})
		if err != nil {
			return 0, err
		}
		if !rep.OK() {
			return 0, errors.New(rep.Summary())
		}
		return rep.Size, nil
	}
	var n int64
	err = decodeJSONLines(f, func(e *hashtrail.Event) error {
		if e.Seq != n {
			return fmt.Errorf("line %d holds seq %d", n+1, e.Seq)
		}
		leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
		if err != nil {
			return fmt.Errorf("seq %d: %w", e.Seq, err)
		}
		if h := merkle.LeafHash(leaf); fmt.Sprintf("%x", h[:]) != e.LeafHash {
			return fmt.Errorf("seq %d does not rebuild to its leaf hash", e.Seq)
		}
		n++
		return nil
	})
	return n, err
}

// parseNote parses the checkpoint of a signed note.
func parseNote(note []byte) (*checkpoint.Checkpoint, error) {
	text, _, _ := bytes.Cut(note, []byte("\n\n"))
	cp, err := checkpoint.Parse(append(text, '\n'))
	if err != nil {
		return nil, err
	}
	return &cp, nil
}

// decodeJSONLines calls fn with each event of a JSON Lines export.
func decodeJSONLines(r io.Reader, fn func(*hashtrail.Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var e hashtrail.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return sc.Err()
}

// onlyOwnEvents refuses when an event in [from, to) of tenant is not one
// Hashtrail recorded itself.
func onlyOwnEvents(ctx context.Context, src exportSource, tenant string, from, to int64) error {
	if from >= to {
		return nil
	}
	after, before := from-1, to
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, AfterSeq: &after, BeforeSeq: &before, Limit: hashtrail.MaxLimit}
	return eachEvent(ctx, src, q, func(e *hashtrail.Event) error {
		if e.Context == nil || e.Context.Source != "hashtrail" {
			return fmt.Errorf("event %s (seq %d) was written after the final export; nothing was deleted: run the command again", e.ID, e.Seq)
		}
		return nil
	})
}

// finishDeletion waits until the tenant is gone, up to df.wait.
func finishDeletion(cmd *cobra.Command, svc service, d *hashtrail.TenantDeletion, df *deleteFlags) error {
	if df.wait > 0 && d.State == hashtrail.TenantDeleting {
		ctx := cmd.Context()
		deadline := time.Now().Add(df.wait)
		for {
			_, err := svc.Tenant(ctx, d.Tenant)
			if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
				d.State = hashtrail.TenantDeleted
				break
			}
			if err != nil {
				return err
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(cmd.ErrOrStderr(), "tenant %s is still being deleted; it goes on in the background\n", d.Tenant)
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return reportDeletion(cmd, d, df)
}

func reportDeletion(cmd *cobra.Command, d *hashtrail.TenantDeletion, df *deleteFlags) error {
	if df.asJSON {
		return writeJSON(cmd.OutOrStdout(), d)
	}
	if d.State == hashtrail.TenantDeleted {
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "deleted tenant %s\n", d.Tenant)
		return err
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "deleting tenant %s\n", d.Tenant)
	return err
}

// parseByteSize reads a size such as "10GiB", "500MB", "1048576" or "0".
func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || n*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size such as 10GiB, 500MB or 0", s)
	}
	return int64(n * float64(mult)), nil
}
