package ledger

// Deleting a tenant whose log holds events (issue #6, point 8). The flow
// keeps tamper evidence and refuses to lose anything unseen:
//
//  1. an installation admin suspends the tenant (writes refused) and takes
//     a final export (the CLI does both and checks the bundle);
//  2. DeleteTenantLog(id, size) confirms it: size must be the log's size
//     now, so nothing appended after the export goes unseen; a legal hold
//     or a locked compliance floor refuses; a signed checkpoint must cover
//     the whole log;
//  3. the store moves the tenant to "deleting" (atomically with the size
//     check; appends fail from then on), and tenant.delete with the final
//     size and root hash is recorded in the installation's log;
//  4. the data is deleted in bounded batches (hashtrail.TenantEraser)
//     under the lease "tenant-delete/<id>", on whichever node holds it; a
//     crash leaves the tenant "deleting", and the next start (or purge
//     round) of any node finishes it.
//
// What remains: the tenants row (id, final size), tree hashes and signed
// checkpoints, so that receipts already handed out and the installation
// log keep verifying, and the id is never used again.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	hashtrail "github.com/hashtrail/hashtrail"
)

const (
	// leaseTenantDelete + tenant is held by the node deleting the tenant.
	leaseTenantDelete = "tenant-delete/"
	// settingTenantDelete + tenant marks that tenant.delete was recorded.
	settingTenantDelete = "tenant_delete/"
	// tenantDeleteBatch is how many events one DeleteTenantData call
	// deletes (in transactions of the store's own size) before the lease
	// is renewed.
	tenantDeleteBatch = 5000
)

// deletionRuns is the set of tenants whose deletion runs on this node.
type deletionRuns struct {
	mu      sync.Mutex
	running map[string]bool
}

// deletionMeta is the metadata of a tenant.delete event.
type deletionMeta struct {
	Size       int64  `json:"size"`
	RootHash   string `json:"root_hash"`
	Checkpoint string `json:"checkpoint,omitempty"`
}

// DeleteTenantLog deletes a suspended tenant whose log holds exactly size
// events; see hashtrail.TenantDeleteService. The deletion goes on in the
// background; the answer says "deleting".
func (l *Ledger) DeleteTenantLog(ctx context.Context, id string, size int64) (*hashtrail.TenantDeletion, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if id == hashtrail.SystemTenant {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "the tenant %q is reserved", id)
	}
	if size < 0 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "size", Message: "must be the tenant's log size, 0 or more"}})
	}
	er, ok := l.store.(hashtrail.TenantEraser)
	if !ok {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "this store cannot delete a tenant's events")
	}
	t, err := l.store.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.State == hashtrail.TenantDeleting {
		l.startTenantDeletion(id)
		return l.deletionRecord(ctx, id, t.Size)
	}
	if t.Size == 0 && size == 0 {
		if err := l.DeleteTenant(ctx, id); err != nil {
			return nil, err
		}
		return &hashtrail.TenantDeletion{Tenant: id, State: hashtrail.TenantDeleted, RootHash: hex.EncodeToString(emptyRoot[:])}, nil
	}
	l.lifecycles.mu.Lock()
	delete(l.lifecycles.m, id) // read it fresh
	l.lifecycles.mu.Unlock()
	lc, err := l.lifecycleOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if !lc.Suspended {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q is not suspended: suspend it (PATCH /v1/tenants/%s {\"suspended\": true}), take a final export (GET /v1/tenants/%s/export?format=bundle), then delete with ?events=delete&size=N", id, id, id)
	}
	if size != t.Size {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q has %d events, not %d: take a final export of all %d, then confirm size=%d", id, t.Size, size, t.Size, t.Size)
	}
	if err := l.deletionAllowed(ctx, id); err != nil {
		return nil, err
	}
	ls, err := l.readLog(ctx, id)
	if err != nil {
		return nil, err
	}
	if cp, err := ls.LatestCheckpoint(ctx, id); err != nil && hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return nil, err
	} else if err != nil || cp.Size < size {
		if l.sig == nil {
			return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "no signed checkpoint covers tenant %q's %d events yet: run the server until it signs one, then retry", id, size)
		}
		if _, err := l.waitCovering(ctx, ls, id, size-1, 10*l.cfg.CheckpointInterval+5*time.Second); err != nil {
			return nil, fmt.Errorf("ledger: waiting for a checkpoint of the whole log: %w", err)
		}
	}
	if err := er.BeginTenantDeletion(ctx, id, size); err != nil {
		return nil, err
	}
	rec, err := l.recordDeletion(ctx, id, size)
	if err != nil {
		return nil, err
	}
	l.forgetTenant(id)
	l.startTenantDeletion(id)
	return rec, nil
}

// emptyRoot is the root hash of an empty log, SHA-256 of nothing.
var emptyRoot = [32]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}

// deletionAllowed refuses while a legal hold is set on the tenant, or
// while a locked compliance floor still keeps its newest event.
func (l *Ledger) deletionAllowed(ctx context.Context, id string) error {
	holds, err := l.readHolds(ctx, id)
	if err != nil {
		return err
	}
	if len(holds.Holds) > 0 {
		h := holds.Holds[0]
		return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q is under legal hold %s (%s): lift every hold before deleting the tenant", id, h.ID, h.Reason)
	}
	floor, err := l.readFloor(ctx)
	if err != nil || !floor.Locked || floor.Keep == nil {
		return err
	}
	newest, err := l.newestOwnEvent(ctx, id)
	if err != nil || newest == nil {
		return err
	}
	until, ok := floor.Keep.Until(newest.ReceivedAt.Time)
	if !ok {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "the installation's locked compliance floor keeps events forever: tenant %q cannot be deleted", id)
	}
	if now := l.now(); now.Before(until) {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "the installation's locked compliance floor (%s) keeps tenant %q's newest event (received %s) until %s: the tenant can be deleted from %s",
			floor.Keep, id, newest.ReceivedAt.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), until.UTC().Format(time.DateOnly))
	}
	return nil
}

// newestOwnEvent returns the newest event of tenant that Hashtrail did not
// record itself (its own administrative events, such as the suspension,
// do not hold the tenant back), or nil.
func (l *Ledger) newestOwnEvent(ctx context.Context, tenant string) (*hashtrail.Event, error) {
	var before *int64
	for {
		page, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderDesc, BeforeSeq: before, Limit: hashtrail.MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if e.Context == nil || e.Context.Source != "hashtrail" {
				return e, nil
			}
			seq := e.Seq
			before = &seq
		}
		if len(page) < hashtrail.MaxLimit {
			return nil, nil
		}
	}
}

// deletionRecord is the TenantDeletion of a tenant being deleted, from its
// latest checkpoint.
func (l *Ledger) deletionRecord(ctx context.Context, id string, size int64) (*hashtrail.TenantDeletion, error) {
	rec := &hashtrail.TenantDeletion{Tenant: id, State: hashtrail.TenantDeleting, Size: size}
	ls, err := l.readLog(ctx, id)
	if err != nil {
		return nil, err
	}
	cp, err := ls.LatestCheckpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	if cp.Size != size {
		return nil, fmt.Errorf("ledger: tenant %q being deleted has size %d, its latest checkpoint %d", id, size, cp.Size)
	}
	rec.RootHash = hex.EncodeToString(cp.Root[:])
	return rec, nil
}

// recordDeletion records tenant.delete, with the final size and root hash,
// in the installation's log, once.
func (l *Ledger) recordDeletion(ctx context.Context, id string, size int64) (*hashtrail.TenantDeletion, error) {
	rec, err := l.deletionRecord(ctx, id, size)
	if err != nil {
		return nil, err
	}
	if _, err := l.store.Setting(ctx, settingTenantDelete+id); err == nil {
		return rec, nil
	} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return nil, err
	}
	ls, err := l.readLog(ctx, id)
	if err != nil {
		return nil, err
	}
	cp, err := ls.LatestCheckpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(deletionMeta{Size: size, RootHash: rec.RootHash, Checkpoint: string(cp.Note)})
	p := hashtrail.PrincipalFrom(ctx)
	actor := &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: keyID(p)}
	if p == nil {
		actor = &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "local-cli"}
	}
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Tenant: hashtrail.SystemTenant, Action: "tenant.delete",
		Category: hashtrail.CategorySystem, Actor: actor, Targets: []hashtrail.Target{{Type: "tenant", ID: id}},
		Description: fmt.Sprintf("Tenant %s deleted with its %d events (final root %s)", id, size, rec.RootHash),
		Context:     &hashtrail.Context{Source: "hashtrail"}, Metadata: meta, KeyID: keyID(p),
	}
	g := &hashtrail.AppendGroup{CreateTenants: true, Entries: []*hashtrail.Entry{{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)}}}
	if err := l.append(ctx, g); err != nil {
		return nil, err
	}
	if g.Err != nil {
		return nil, g.Err
	}
	return rec, l.store.SetSetting(ctx, settingTenantDelete+id, ev.ID)
}

// forgetTenant drops what this node caches of a tenant.
func (l *Ledger) forgetTenant(id string) {
	l.lifecycles.mu.Lock()
	delete(l.lifecycles.m, id)
	l.lifecycles.mu.Unlock()
	l.quotas.mu.Lock()
	delete(l.quotas.m, id)
	l.quotas.mu.Unlock()
}

// startTenantDeletion runs FinishTenantDeletion for id in the background
// unless it runs on this node already; it stops when the ledger does.
func (l *Ledger) startTenantDeletion(id string) {
	d := &l.deletions
	d.mu.Lock()
	if d.running[id] {
		d.mu.Unlock()
		return
	}
	if d.running == nil {
		d.running = map[string]bool{}
	}
	d.running[id] = true
	d.mu.Unlock()
	l.mu.RLock()
	closed := l.closed
	if !closed {
		l.wg.Add(1)
	}
	l.mu.RUnlock()
	if closed {
		return
	}
	go func() {
		defer l.wg.Done()
		defer func() {
			d.mu.Lock()
			delete(d.running, id)
			d.mu.Unlock()
		}()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-l.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, err := l.FinishTenantDeletion(ctx, id); err != nil && ctx.Err() == nil {
			l.log.Error("deleting a tenant; the next purge round goes on", "tenant", id, "err", err)
		}
	}()
}

// resumeTenantDeletions starts the deletions left unfinished (a crash, a
// node stopped half-way).
func (l *Ledger) resumeTenantDeletions(ctx context.Context) {
	er, ok := l.store.(hashtrail.TenantEraser)
	if !ok {
		return
	}
	ids, err := er.DeletingTenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Error("listing tenants being deleted", "err", err)
		}
		return
	}
	for _, id := range ids {
		l.startTenantDeletion(id)
	}
}

// FinishTenantDeletion deletes the data of a tenant being deleted, under
// its lease, and returns how many events it deleted now. It returns 0 and
// no error when another node holds the lease. It records tenant.delete
// first if a crash came between the start of the deletion and the record.
func (l *Ledger) FinishTenantDeletion(ctx context.Context, id string) (int64, error) {
	er, ok := l.store.(hashtrail.TenantEraser)
	if !ok {
		return 0, hashtrail.Errorf(hashtrail.ECONFLICT, "this store cannot delete a tenant's events")
	}
	lease := leaseTenantDelete + id
	if !l.leases.hold(ctx, lease) {
		return 0, nil
	}
	t, err := l.store.Tenant(ctx, id)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return 0, nil // done meanwhile
	}
	if err != nil {
		return 0, err
	}
	if t.State != hashtrail.TenantDeleting {
		return 0, nil
	}
	if _, err := l.recordDeletion(ctx, id, t.Size); err != nil {
		return 0, err
	}
	start := l.now()
	var total int64
	for {
		n, done, err := er.DeleteTenantData(ctx, id, tenantDeleteBatch)
		total += n
		l.metrics.purged.Add(float64(n))
		if err != nil {
			return total, err
		}
		if done {
			break
		}
		if !l.leases.hold(ctx, lease) {
			return total, nil // another node goes on
		}
	}
	l.forgetTenant(id)
	l.log.Info("tenant deleted", "tenant", id, "events", t.Size, "deleted_now", total, "seconds", l.now().Sub(start).Seconds())
	return total, nil
}

// storageCollector exports each tenant's stored bytes and storage quota,
// read from the store at each scrape.
type storageCollector struct{ l *Ledger }

var (
	storageBytesDesc = prometheus.NewDesc("hashtrail_tenant_storage_bytes",
		"Bytes a tenant stores: event bodies, personal values and target and tag index rows (Tenant.storage_bytes).", []string{"tenant"}, nil)
	storageLimitDesc = prometheus.NewDesc("hashtrail_tenant_storage_bytes_limit",
		"A tenant's storage quota in bytes, for tenants that have one.", []string{"tenant"}, nil)
)

// Describe implements prometheus.Collector.
func (c storageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storageBytesDesc
	ch <- storageLimitDesc
}

// Collect implements prometheus.Collector.
func (c storageCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts, err := c.l.store.Tenants(ctx)
	if err != nil {
		c.l.log.Error("reading tenants' storage for metrics", "err", err)
		return
	}
	for _, t := range ts {
		ch <- prometheus.MustNewConstMetric(storageBytesDesc, prometheus.GaugeValue, float64(t.StorageBytes), t.ID)
		if q, err := c.l.readQuota(ctx, t.ID); err == nil && q.StorageBytes > 0 {
			ch <- prometheus.MustNewConstMetric(storageLimitDesc, prometheus.GaugeValue, float64(q.StorageBytes), t.ID)
		}
	}
}
