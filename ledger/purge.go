package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// actionRetentionPurge announces a purge (DESIGN §2; client.RetentionPurge
// is its metadata as verifiers read it).
const actionRetentionPurge = "system.retention_purge"

// maxPurgeRanges caps the ranges of one announcement, so its metadata
// stays well within an event's 32 KiB.
const maxPurgeRanges = 1000

// settingPurgeDone + tenant holds the seq of the tenant's latest
// announcement whose deletion is complete.
const settingPurgeDone = "purge_done/"

// purgeMeta is the metadata of a system.retention_purge event.
type purgeMeta struct {
	Ranges [][2]int64 `json:"ranges"`
	Policy string     `json:"policy"`
}

// purgeLoop runs each tenant's purge every PurgeInterval, on the node
// holding the tenant's purge lease, until the ledger stops.
func (l *Ledger) purgeLoop() {
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.stop
		cancel()
	}()
	t := time.NewTicker(l.cfg.PurgeInterval)
	defer t.Stop()
	l.resumeTenantDeletions(ctx) // left unfinished by a crash
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.resumeTenantDeletions(ctx)
		tenants, err := l.store.Tenants(ctx)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Error("listing tenants to purge", "err", err)
			}
			continue
		}
		failed := false
		for _, tn := range tenants {
			if tn.ID == hashtrail.SystemTenant || !l.leases.hold(ctx, hashtrail.LeasePurge+tn.ID) {
				continue
			}
			start := l.now()
			n, err := l.purgeHeld(ctx, tn.ID)
			l.metrics.purgeSeconds.Observe(l.now().Sub(start).Seconds())
			l.metrics.purged.Add(float64(n))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failed = true
				l.metrics.purgeRuns.WithLabelValues("error").Inc()
				l.log.Error("retention purge", "tenant", tn.ID, "err", err)
			} else {
				l.metrics.purgeRuns.WithLabelValues("ok").Inc()
				if n > 0 {
					l.log.Info("retention purge", "tenant", tn.ID, "purged", n)
				}
			}
			if l.sig == nil {
				continue
			}
			if n, err := l.CompleteErasures(ctx, tn.ID); err != nil {
				if ctx.Err() != nil {
					return
				}
				l.log.Error("completing announced erasures", "tenant", tn.ID, "err", err)
			} else if n > 0 {
				l.log.Info("completed announced erasures", "tenant", tn.ID, "roles", n)
			}
		}
		if !failed {
			l.metrics.purgeLast.Set(float64(l.now().Unix()))
		}
	}
}

// purgeHeld runs Purge while renewing the tenant's purge lease, and stops
// it if the lease is lost (another node then holds it; a purge stopped
// half-way is completed by the next run, wherever it runs).
func (l *Ledger) purgeHeld(ctx context.Context, tenant string) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(l.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if !l.leases.hold(ctx, hashtrail.LeasePurge+tenant) {
					cancel()
					return
				}
			}
		}
	}()
	return l.Purge(ctx, tenant)
}

// Purge runs the retention purge of one tenant now and returns how many
// event bodies it deleted. First it completes announcements whose
// deletion did not finish (a crash between announcing and deleting);
// then, round after round of at most PurgeBatch events, it finds the
// expired, unheld events (oldest first), announces them with
// system.retention_purge events through the normal commit path, waits
// until a signed checkpoint covers the announcements, and only then
// deletes the bodies (hashtrail.EventPurger). Running it again, or on two
// nodes at once, deletes nothing twice. It needs a checkpoint signer.
func (l *Ledger) Purge(ctx context.Context, tenant string) (int64, error) {
	if l.sig == nil {
		return 0, errNoSigning
	}
	total, err := l.completePurges(ctx, tenant)
	if err != nil {
		return total, err
	}
	for {
		r, err := l.loadRetention(ctx, tenant)
		if err != nil || !r.finite {
			return total, err
		}
		announced, err := l.announcePurge(ctx, tenant, r)
		if err != nil || announced == 0 {
			return total, err
		}
		n, err := l.completePurges(ctx, tenant)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// announcePurge finds up to PurgeBatch expired, unheld events and appends
// their announcements; it returns how many events they cover.
func (l *Ledger) announcePurge(ctx context.Context, tenant string, r *retention) (int, error) {
	now := l.now()
	type run struct {
		first, last int64
		label       string
	}
	var runs []run
	found := 0
	after := int64(-1)
scan:
	for found < l.cfg.PurgeBatch {
		page, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: hashtrail.MaxLimit})
		if err != nil {
			return 0, err
		}
		for _, e := range page {
			after = e.Seq
			if !r.mayExpire(e.ReceivedAt.Time, now) {
				break scan // later events were received later still
			}
			exp, label := r.expired(e, now)
			if !exp {
				continue
			}
			if n := len(runs); n > 0 && runs[n-1].last == e.Seq-1 && runs[n-1].label == label {
				runs[n-1].last = e.Seq
			} else {
				runs = append(runs, run{e.Seq, e.Seq, label})
			}
			if found++; found >= l.cfg.PurgeBatch {
				break scan
			}
		}
		if len(page) < hashtrail.MaxLimit {
			break
		}
	}
	if found == 0 {
		return 0, nil
	}
	// One announcement per policy and up to maxPurgeRanges ranges.
	byLabel := map[string][][2]int64{}
	var labels []string
	for _, ru := range runs {
		if _, ok := byLabel[ru.label]; !ok {
			labels = append(labels, ru.label)
		}
		byLabel[ru.label] = append(byLabel[ru.label], [2]int64{ru.first, ru.last})
	}
	g := &hashtrail.AppendGroup{}
	for _, label := range labels {
		rs := byLabel[label]
		for len(rs) > 0 {
			chunk := rs[:min(len(rs), maxPurgeRanges)]
			rs = rs[len(chunk):]
			meta, err := json.Marshal(purgeMeta{Ranges: chunk, Policy: label})
			if err != nil {
				return 0, err
			}
			ev := &hashtrail.Event{
				ID: hashtrail.NewEventID(), Tenant: tenant, Action: actionRetentionPurge,
				Category: hashtrail.CategorySystem, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
				Actor:       &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
				Description: fmt.Sprintf("Retention purge of %d ranges of expired events (%s)", len(chunk), label),
				Context:     &hashtrail.Context{Source: "hashtrail"}, Metadata: meta, KeyID: "system",
			}
			g.Entries = append(g.Entries, &hashtrail.Entry{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)})
		}
	}
	if err := l.append(ctx, g); err != nil {
		return 0, err
	}
	if g.Err != nil {
		return 0, g.Err
	}
	return found, nil
}

// completePurges deletes what the tenant's announcements after the last
// completed one announced, each once a signed checkpoint covers it, and
// records each as completed. It stops (with an error) at the first
// announcement no checkpoint covers within a few signing rounds; the next
// run completes it.
func (l *Ledger) completePurges(ctx context.Context, tenant string) (int64, error) {
	done := int64(-1)
	if v, err := l.store.Setting(ctx, settingPurgeDone+tenant); err == nil {
		if done, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, fmt.Errorf("ledger: setting %s%s: %w", settingPurgeDone, tenant, err)
		}
	} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return 0, err
	}
	var total int64
	for {
		after := done
		page, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Actions: []string{actionRetentionPurge},
			Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: 100})
		if err != nil || len(page) == 0 {
			return total, err
		}
		for _, a := range page {
			n, err := l.completePurge(ctx, tenant, a)
			total += n
			if err != nil {
				return total, err
			}
			if err := l.store.SetSetting(ctx, settingPurgeDone+tenant, strconv.FormatInt(a.Seq, 10)); err != nil {
				return total, err
			}
			done = a.Seq
		}
	}
}

// completePurge waits until a signed checkpoint covers announcement a,
// then deletes the bodies of the events in its ranges that retention
// still lets go (a hold set since the announcement wins; a body kept
// though announced never fails verification).
func (l *Ledger) completePurge(ctx context.Context, tenant string, a *hashtrail.Event) (int64, error) {
	var m purgeMeta
	if err := json.Unmarshal(a.Metadata, &m); err != nil {
		l.log.Error("a malformed retention purge announcement; skipped", "tenant", tenant, "seq", a.Seq, "err", err)
		return 0, nil
	}
	ls, err := l.readLog(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if _, err := l.waitCovering(ctx, ls, tenant, a.Seq, 10*l.cfg.CheckpointInterval+5*time.Second); err != nil {
		return 0, fmt.Errorf("ledger: waiting for a checkpoint over the purge announcement at seq %d: %w", a.Seq, err)
	}
	r, err := l.loadRetention(ctx, tenant)
	if err != nil {
		return 0, err
	}
	now := l.now()
	var del [][2]int64
	for _, rg := range m.Ranges {
		if rg[0] < 0 || rg[0] > rg[1] || rg[1] >= a.Seq {
			continue
		}
		after := rg[0] - 1
		before := rg[1] + 1
		for {
			page, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc,
				AfterSeq: &after, BeforeSeq: &before, Limit: hashtrail.MaxLimit})
			if err != nil {
				return 0, err
			}
			for _, e := range page {
				after = e.Seq
				if exp, _ := r.expired(e, now); !exp {
					continue
				}
				if n := len(del); n > 0 && del[n-1][1] == e.Seq-1 {
					del[n-1][1] = e.Seq
				} else {
					del = append(del, [2]int64{e.Seq, e.Seq})
				}
			}
			if len(page) < hashtrail.MaxLimit {
				break
			}
		}
	}
	if len(del) == 0 {
		return 0, nil
	}
	return l.store.PurgeEvents(ctx, tenant, del)
}
