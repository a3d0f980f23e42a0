package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// The alert loop: after commit, never in the ingest path. Every
// AlertInterval, for each tenant with rules, the node holding the lease
// "alerts/<tenant>" reads the events after the tenant's alert cursor,
// evaluates them (alerts_eval.go), stores the cursor, the rules' memory and
// the new firings (the outbox) in one versioned document, and only then
// records and notifies the firings. A node that dies after storing resumes
// from the outbox; one that dies before evaluates the same events again
// with the same memory and decides the same firings, whose event ids are
// stable, so the log records each firing once. A notification may be sent
// twice only if a node dies between sending it and clearing it from the
// outbox (webhooks carry a stable webhook-id for that).

// Lease names of alerts and digests, + tenant.
const (
	leaseAlerts = "alerts/"
	leaseDigest = "digest/"
)

// Limits of one round of one tenant.
const (
	alertPage         = 1000
	alertPagesPerTick = 20
	alertMaxAttempts  = 6
	alertRulesTTL     = 10 * time.Second
	alertRecordBatch  = 1000 // firings recorded in one commit
	digestRetryAfter  = time.Minute
)

// alertTenant is this node's memory of one tenant between rounds.
type alertTenant struct {
	rules   []*hashtrail.AlertRule
	fetched time.Time
	digest  *hashtrail.DigestSettings
	state   *alertState
	version int64 // of state; 0 when not loaded
	// digestRetry is when to try a digest again after a failed send;
	// digestDone the last period nothing is left to do for.
	digestRetry time.Time
	digestDone  string
}

// startAlerts starts the alert and digest loop, on servers only: a ledger
// without a Notifier (offline tools) evaluates nothing, so a command run on
// the data directory never takes the alert leases.
func (l *Ledger) startAlerts() {
	if l.cfg.Notifier == nil {
		return
	}
	if l.cfg.AlertInterval <= 0 {
		l.cfg.AlertInterval = time.Second
	}
	l.wg.Add(1)
	go l.alertLoop()
}

func (l *Ledger) alertLoop() {
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.stop
		cancel()
	}()
	known := map[string]*alertTenant{}
	tick := time.NewTicker(l.cfg.AlertInterval)
	defer tick.Stop()
	for {
		if err := l.alertRound(ctx, known); err != nil && ctx.Err() == nil {
			l.log.Warn("alerts: round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// alertRound evaluates and sends what is due in every tenant.
func (l *Ledger) alertRound(ctx context.Context, known map[string]*alertTenant) error {
	tenants, err := l.store.Tenants(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range tenants {
		seen[t.ID] = true
		at := known[t.ID]
		if at == nil {
			at = &alertTenant{}
			known[t.ID] = at
		}
		// A tenant with rules reads them every round, so a new or changed
		// rule applies from the next event on; others are looked at again
		// every alertRulesTTL.
		if len(at.rules) > 0 || at.digest != nil || time.Since(at.fetched) >= min(alertRulesTTL, 10*l.cfg.AlertInterval) {
			d, _, err := l.loadAlerts(ctx, t.ID)
			if err != nil {
				l.log.Warn("alerts: loading rules", "tenant", t.ID, "err", err)
				continue
			}
			at.rules, at.fetched = d.Rules, time.Now()
			at.digest, _ = l.loadDigest(ctx, t.ID)
		}
		if len(at.rules) > 0 || at.state != nil && len(at.state.Outbox) > 0 {
			if err := l.alertTenantRound(ctx, t, at); err != nil && ctx.Err() == nil {
				at.version, at.state = 0, nil // reload: another node may have moved on
				l.log.Warn("alerts: evaluation failed", "tenant", t.ID, "err", err)
			}
		}
		if d := at.digest; d != nil && d.Schedule != "" && d.Schedule != "off" && time.Now().After(at.digestRetry) {
			if due, _, _ := digestPeriod(d.Schedule, d.Hour, l.now()); due != at.digestDone {
				done, err := l.digestRound(ctx, t.ID, d)
				if err != nil && ctx.Err() == nil {
					at.digestRetry = time.Now().Add(digestRetryAfter)
					l.log.Warn("digest: sending failed; trying again later", "tenant", t.ID, "retry_in", digestRetryAfter, "err", err)
				}
				if done != "" {
					at.digestDone = done
				}
			}
		}
	}
	for id := range known {
		if !seen[id] {
			delete(known, id)
		}
	}
	var lag int64
	for _, t := range tenants {
		if at := known[t.ID]; at != nil && at.state != nil {
			lag += max(0, t.Size-at.state.Next)
		}
	}
	l.alertMetrics.lag.Set(float64(lag))
	return nil
}

// alertTenantRound evaluates tenant's new events and flushes its outbox,
// if this node holds the tenant's alert lease. A panic (a bug) is logged
// and turned into an error, so one tenant's rules cannot stop the server.
func (l *Ledger) alertTenantRound(ctx context.Context, t *hashtrail.Tenant, at *alertTenant) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("alerts: evaluation panicked", "tenant", t.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("alerts: evaluation panicked: %v", r)
		}
	}()
	if !l.leases.hold(ctx, leaseAlerts+t.ID) {
		at.version, at.state = 0, nil
		return nil
	}
	if at.state == nil {
		if err := l.loadAlertState(ctx, t, at); err != nil {
			return err
		}
	}
	rules := compileAlertRules(at.rules)
	for range alertPagesPerTick {
		if at.state.Next >= t.Size || len(rules) == 0 {
			break
		}
		after := at.state.Next - 1
		evs, err := l.store.Events(ctx, &hashtrail.Query{Tenant: t.ID, AfterSeq: &after, Order: hashtrail.OrderAsc, Limit: alertPage})
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		firings := evaluate(at.state, rules, evs, l.now())
		l.alertMetrics.evaluated.Add(float64(len(evs)))
		at.state.Next = evs[len(evs)-1].Seq + 1
		at.state.Outbox = append(at.state.Outbox, firings...)
		if err := l.saveAlertState(ctx, t.ID, at); err != nil {
			return err
		}
		if len(evs) < alertPage {
			break
		}
	}
	return l.flushOutbox(ctx, t.ID, at)
}

// loadAlertState reads tenant's alert state, or starts one at the first
// event received since its oldest rule was created.
func (l *Ledger) loadAlertState(ctx context.Context, t *hashtrail.Tenant, at *alertTenant) error {
	c, err := l.store.TenantConfig(ctx, t.ID, configAlertState)
	if err == nil {
		var st alertState
		if err := json.Unmarshal(c.Value, &st); err != nil {
			return fmt.Errorf("alert state of %s: %w", t.ID, err)
		}
		at.state, at.version = &st, c.Version
		return nil
	}
	if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return err
	}
	oldest := l.clock()
	for _, r := range at.rules {
		if r.CreatedAt.Before(oldest.Time) {
			oldest = r.CreatedAt
		}
	}
	next, err := l.firstReceived(ctx, t, oldest)
	if err != nil {
		return err
	}
	at.state, at.version = &alertState{Next: next}, 0
	return nil
}

// saveAlertState stores at.state over the version this node last read or
// wrote; ECONFLICT means another node moved on.
func (l *Ledger) saveAlertState(ctx context.Context, tenant string, at *alertTenant) error {
	b, err := json.Marshal(at.state)
	if err != nil {
		return err
	}
	c := &hashtrail.TenantConfig{Tenant: tenant, Kind: configAlertState, Version: at.version, Value: b, UpdatedAt: l.clock(), UpdatedBy: "alerts"}
	if err := l.store.PutTenantConfig(ctx, c); err != nil {
		return err
	}
	at.version = c.Version
	return nil
}

// flushOutbox notifies the outbox's firings that are due, then records
// them in the log in one commit per alertRecordBatch, then stores the
// outbox. A firing whose notification fails is retried with backoff
// (alertMaxAttempts in all) and then recorded with the error; one already
// notified is never notified again, even if recording it must be retried.
func (l *Ledger) flushOutbox(ctx context.Context, tenant string, at *alertTenant) error {
	if len(at.state.Outbox) == 0 {
		return nil
	}
	now := l.now()
	rules := map[string]*hashtrail.AlertRule{}
	for _, r := range at.rules {
		rules[r.ID] = r
	}
	var keep, done []*pendingFiring
	for _, p := range at.state.Outbox {
		if p.NextTry != 0 && now.UnixMicro() < p.NextTry {
			keep = append(keep, p)
			continue
		}
		r := rules[p.Firing.Rule]
		if r != nil && p.Firing.Notified && !p.Sent {
			if err := l.notifyFiring(ctx, r, p); err != nil {
				p.Attempts++
				p.Errors = err.Error()
				if errors.Is(err, hashtrail.ErrWebhookGone) {
					l.disableGoneRule(ctx, tenant, r.ID, err.Error())
				}
				if p.Attempts < alertMaxAttempts && ctx.Err() == nil && !allPermanent(err) {
					p.NextTry = now.Add(time.Duration(1<<p.Attempts) * time.Second).UnixMicro()
					keep = append(keep, p)
					continue
				}
				l.log.Error("alerts: notification failed for good", "tenant", tenant, "rule", p.Firing.Rule, "err", err)
			} else {
				p.Errors = ""
			}
			p.Sent = true
		}
		done = append(done, p)
	}
	if len(done) == 0 {
		return nil
	}
	var err error
	for len(done) > 0 && err == nil {
		n := min(len(done), alertRecordBatch)
		if err = l.recordFirings(ctx, rules, done[:n]); err == nil {
			for _, p := range done[:n] {
				l.alertMetrics.firings.WithLabelValues(fmt.Sprint(p.Firing.Notified)).Inc()
			}
			done = done[n:]
		}
	}
	at.state.Outbox = append(keep, done...) // what is left to record, if anything failed
	if serr := l.saveAlertState(ctx, tenant, at); err == nil {
		err = serr
	}
	return err
}

// recordFirings appends the firings' system.alert_fired events in one
// commit; their stable ids make a second recording a replay.
func (l *Ledger) recordFirings(ctx context.Context, rules map[string]*hashtrail.AlertRule, ps []*pendingFiring) error {
	g := &hashtrail.AppendGroup{}
	for _, p := range ps {
		ev, err := firingEvent(rules[p.Firing.Rule], p)
		if err != nil {
			return err
		}
		g.Entries = append(g.Entries, &hashtrail.Entry{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)})
	}
	return l.append(ctx, g)
}

// firingEvent is the system.alert_fired event of a firing.
func firingEvent(r *hashtrail.AlertRule, p *pendingFiring) (*hashtrail.Event, error) {
	f := p.Firing
	meta := struct {
		hashtrail.AlertFiring
		DeliveryError string `json:"delivery_error,omitempty"`
	}{f, p.Errors}
	meta.ID, meta.Tenant, meta.FiredAt = "", "", hashtrail.Time{}
	b, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	target := hashtrail.Target{Type: "alert", ID: f.Rule}
	if r != nil {
		target.Name = r.Name
	}
	sev := hashtrail.SeverityMedium
	if !f.Notified {
		sev = hashtrail.SeverityLow
	}
	ev := &hashtrail.Event{
		ID: f.ID, Tenant: f.Tenant, Time: f.FiredAt, Action: hashtrail.ActionAlertFired,
		Category: hashtrail.CategorySystem, Severity: sev, Outcome: hashtrail.OutcomeSuccess,
		Actor: &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"}, Targets: []hashtrail.Target{target},
		Context: &hashtrail.Context{Source: "hashtrail"}, Metadata: b, KeyID: "alerts",
	}
	if p.Errors != "" {
		ev.Outcome, ev.Error = hashtrail.OutcomeFailure, "notification failed: "+p.Errors
	}
	return ev, nil
}

// allPermanent reports whether err, or every error it joins, is a
// *hashtrail.PermanentError: retrying cannot help.
func allPermanent(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !allPermanent(e) {
				return false
			}
		}
		return true
	}
	return hashtrail.IsPermanent(err)
}

// disableGoneRule switches rule off because its webhook answered 410 Gone,
// and records that in the tenant's log (alert.disable, by the system), as
// the sink dispatcher's own pauses are recorded.
func (l *Ledger) disableGoneRule(ctx context.Context, tenant, id, reason string) {
	var name string
	err := l.changeAlerts(ctx, tenant, func(d *alertDoc) error {
		r, err := findAlert(d, id)
		if err != nil {
			return err
		}
		r.Disabled, r.UpdatedAt, r.UpdatedBy, name = true, l.clock(), "hashtrail", r.Name
		return nil
	})
	if err != nil {
		l.log.Error("alerts: switching off a rule whose webhook is gone", "tenant", tenant, "rule", id, "err", err)
		return
	}
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Tenant: tenant, Action: "alert.disable",
		Category: hashtrail.CategorySystem, Severity: hashtrail.SeverityHigh, Outcome: hashtrail.OutcomeSuccess,
		Reason: reason, Actor: &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
		Targets: []hashtrail.Target{{Type: "alert", ID: id, Name: name}},
		Context: &hashtrail.Context{Source: "hashtrail"}, KeyID: "alerts",
	}
	if err := l.append(ctx, &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)}}}); err != nil {
		l.log.Error("alerts: recording a rule switched off failed", "tenant", tenant, "rule", id, "err", err)
	}
	l.log.Warn("alerts: rule switched off: its webhook answered 410 Gone", "tenant", tenant, "rule", id)
}
