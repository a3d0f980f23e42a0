package ledger

// Audit of reads (issue #6, point 4): when a tenant turns it on (the tenant
// document "read_audit", {"enabled": true}), reads of its events by read
// keys and viewer tokens are recorded in its own log as data.read events
// (category data, actor = the key or token). They are coalesced so reading
// does not double the write load: every read by one key in a window of
// ReadAuditWindow becomes one event, written when the window ends, whose
// metadata counts the reads and lists up to 20 distinct filters. Admin keys
// and the local operator are not recorded (their acts are). A crash loses at
// most the open window; Close writes it.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// ReadAuditWindow is how long reads by one key are gathered into one
// data.read event.
const ReadAuditWindow = 10 * time.Second

// ActionDataRead is the action of a read record.
const ActionDataRead = "data.read"

const configReadAudit = "read_audit"

type readAuditSetting struct {
	Enabled bool `json:"enabled"`
}

type readBatch struct {
	tenant, key string
	viewer      bool
	reads       int
	events      int
	filters     []string
	first, last time.Time
}

type readAuditor struct {
	mu      sync.Mutex
	batches map[string]*readBatch // by tenant + "\x00" + key
	setting map[string]cachedReadAudit
}

type cachedReadAudit struct {
	on      bool
	fetched time.Time
}

func (l *Ledger) readAuditOn(ctx context.Context, tenant string) bool {
	now := l.now()
	a := &l.readAudit
	a.mu.Lock()
	c, ok := a.setting[tenant]
	a.mu.Unlock()
	if ok && now.Sub(c.fetched) <= l.cfg.KeyCacheTTL && !now.Before(c.fetched) {
		return c.on
	}
	var s readAuditSetting
	doc, err := l.store.TenantConfig(ctx, tenant, configReadAudit)
	if err == nil {
		_ = json.Unmarshal(doc.Value, &s)
	}
	a.mu.Lock()
	if a.setting == nil || len(a.setting) > 10000 {
		a.setting = map[string]cachedReadAudit{}
	}
	a.setting[tenant] = cachedReadAudit{s.Enabled, now}
	a.mu.Unlock()
	return s.Enabled
}

// recordRead notes a read by p of n events of tenant with q's filter.
func (l *Ledger) recordRead(ctx context.Context, p *hashtrail.Principal, tenant string, q *hashtrail.Query, n int) {
	if p == nil || (p.Role != hashtrail.RoleRead && p.Viewer == nil) || !l.readAuditOn(ctx, tenant) {
		return
	}
	filter := describeQuery(q)
	now := l.now()
	a := &l.readAudit
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.batches == nil {
		a.batches = map[string]*readBatch{}
	}
	id := tenant + "\x00" + p.KeyID
	b := a.batches[id]
	if b == nil {
		b = &readBatch{tenant: tenant, key: p.KeyID, viewer: p.Viewer != nil, first: now}
		a.batches[id] = b
		time.AfterFunc(ReadAuditWindow, func() { l.flushRead(id) })
	}
	b.reads++
	b.events += n
	b.last = now
	if len(b.filters) < 20 && !contains(b.filters, filter) {
		b.filters = append(b.filters, filter)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *Ledger) flushRead(id string) {
	a := &l.readAudit
	a.mu.Lock()
	b := a.batches[id]
	delete(a.batches, id)
	a.mu.Unlock()
	if b != nil {
		l.writeReadBatch(context.Background(), b)
	}
}

// flushReads writes every open window (on Close).
func (l *Ledger) flushReads(ctx context.Context) {
	a := &l.readAudit
	a.mu.Lock()
	batches := a.batches
	a.batches = nil
	a.mu.Unlock()
	for _, b := range batches {
		l.writeReadBatch(ctx, b)
	}
}

func (l *Ledger) writeReadBatch(ctx context.Context, b *readBatch) {
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return
	}
	actorType := hashtrail.ActorAPIKey
	kind := "api_key"
	if b.viewer {
		kind = "viewer_token"
	}
	md, _ := json.Marshal(map[string]any{
		"reads": b.reads, "events": b.events, "filters": b.filters, "credential": kind,
		"first": hashtrail.NewTime(b.first), "last": hashtrail.NewTime(b.last),
	})
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Tenant: b.tenant, Action: ActionDataRead,
		Category: hashtrail.CategoryData, Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
		Actor: &hashtrail.Actor{Type: actorType, ID: b.key}, Targets: []hashtrail.Target{{Type: "tenant", ID: b.tenant}},
		Context: &hashtrail.Context{Source: "hashtrail"}, Metadata: md, KeyID: b.key,
	}
	g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)}}}
	if err := l.append(ctx, g); err != nil {
		l.log.Error("recording reads failed", "tenant", b.tenant, "key", b.key, "err", err)
	}
}

// describeQuery writes q's conditions in the search syntax, roughly, for
// the read record.
func describeQuery(q *hashtrail.Query) string {
	var parts []string
	for _, t := range q.AllTerms() {
		name := string(t.Field)
		if t.Field == hashtrail.TermMeta {
			name = "meta." + t.Key
		}
		s := name + ":" + strings.Join(t.Values, ",")
		if t.Field == hashtrail.TermText {
			s = fmt.Sprintf("%q", strings.Join(t.Values, " "))
		}
		if t.Not {
			s = "-" + s
		}
		parts = append(parts, s)
	}
	if !q.Since.IsZero() {
		parts = append(parts, "created:>="+q.Since.Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		parts = append(parts, "created:<"+q.Until.Format(time.RFC3339))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// ReadAudit reports whether tenant records reads (data.read events).
func (l *Ledger) ReadAudit(ctx context.Context, tenant string) (bool, error) {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, hashtrail.PermManage); err != nil {
		return false, err
	}
	if _, err := l.store.Tenant(ctx, tenant); err != nil {
		return false, err
	}
	var s readAuditSetting
	doc, err := l.store.TenantConfig(ctx, tenant, configReadAudit)
	switch {
	case err == nil:
		err = json.Unmarshal(doc.Value, &s)
	case hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND:
		err = nil
	}
	return s.Enabled, err
}

// SetReadAudit turns the audit of reads on or off for tenant (an admin
// act, recorded as read_audit.update).
func (l *Ledger) SetReadAudit(ctx context.Context, tenant string, enabled bool) error {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, tenant, hashtrail.PermManage); err != nil {
		return err
	}
	value, _ := json.Marshal(readAuditSetting{Enabled: enabled})
	for attempt := 0; ; attempt++ {
		var version int64
		doc, err := l.store.TenantConfig(ctx, tenant, configReadAudit)
		switch {
		case err == nil:
			version = doc.Version
		case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
			return err
		}
		err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: tenant, Kind: configReadAudit, Version: version, Value: value, UpdatedBy: keyID(p)})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	l.readAudit.mu.Lock()
	delete(l.readAudit.setting, tenant)
	l.readAudit.mu.Unlock()
	return l.audit(ctx, tenant, "read_audit.update", hashtrail.Target{Type: "tenant", ID: tenant})
}
