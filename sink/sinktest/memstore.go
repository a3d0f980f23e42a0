package sinktest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// MemStore is an in-memory sink.Store for tests of the dispatcher and of
// destinations: tenant logs, sinks, cursors and leases, with the contracts
// of hashtrail.SinkStore and hashtrail.LeaseStore. Events reads by tenant,
// seq bounds, order and limit only (the dispatcher asks nothing more).
type MemStore struct {
	mu      sync.Mutex
	now     func() time.Time
	logs    map[string][]*hashtrail.Event
	created map[string]hashtrail.Time
	sinks   map[string]*hashtrail.SinkConfig
	cursors map[string]map[string]*hashtrail.SinkCursor // sink -> tenant
	leases  map[string]memLease
	// EventsHook, if set, runs before every Events call (to slow reads
	// down or count them).
	EventsHook func(q *hashtrail.Query)
}

type memLease struct {
	holder  string
	expires time.Time
}

var _ sink.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		now:     time.Now,
		logs:    map[string][]*hashtrail.Event{},
		created: map[string]hashtrail.Time{},
		sinks:   map[string]*hashtrail.SinkConfig{},
		cursors: map[string]map[string]*hashtrail.SinkCursor{},
		leases:  map[string]memLease{},
	}
}

// Append adds events to tenant's log (creating it), setting their Tenant,
// Seq and ReceivedAt, and returns them.
func (m *MemStore) Append(tenant string, events ...*hashtrail.Event) []*hashtrail.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.logs[tenant]; !ok {
		m.created[tenant] = hashtrail.NewTime(m.now())
		m.logs[tenant] = nil
	}
	now := hashtrail.NewTime(m.now())
	for _, e := range events {
		e.Tenant = tenant
		e.Seq = int64(len(m.logs[tenant]))
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = now
		}
		m.logs[tenant] = append(m.logs[tenant], e)
	}
	return events
}

// Events returns events of q.Tenant within its seq bounds, in its order.
func (m *MemStore) Events(ctx context.Context, q *hashtrail.Query) ([]*hashtrail.Event, error) {
	if m.EventsHook != nil {
		m.EventsHook(q)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	log, ok := m.logs[q.Tenant]
	if !ok {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", q.Tenant)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = hashtrail.DefaultLimit
	}
	var out []*hashtrail.Event
	lo, hi := int64(0), int64(len(log))
	if q.AfterSeq != nil {
		lo = max(lo, *q.AfterSeq+1)
	}
	if q.BeforeSeq != nil {
		hi = min(hi, *q.BeforeSeq)
	}
	if q.Order == hashtrail.OrderAsc {
		for s := lo; s < hi && len(out) < limit; s++ {
			out = append(out, log[s])
		}
	} else {
		for s := hi - 1; s >= lo && len(out) < limit; s-- {
			out = append(out, log[s])
		}
	}
	return out, nil
}

// Tenant returns a tenant with its log size.
func (m *MemStore) Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	log, ok := m.logs[id]
	if !ok {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	}
	return &hashtrail.Tenant{ID: id, CreatedAt: m.created[id], Size: int64(len(log))}, nil
}

// Tenants returns every tenant by id.
func (m *MemStore) Tenants(ctx context.Context) ([]*hashtrail.Tenant, error) {
	m.mu.Lock()
	ids := make([]string, 0, len(m.logs))
	for id := range m.logs {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	sort.Strings(ids)
	out := make([]*hashtrail.Tenant, 0, len(ids))
	for _, id := range ids {
		t, err := m.Tenant(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func cloneSink(s *hashtrail.SinkConfig) *hashtrail.SinkConfig {
	c := *s
	c.Settings = slices.Clone(s.Settings)
	return &c
}

// CreateSink adds a sink; see hashtrail.SinkStore.
func (m *MemStore) CreateSink(ctx context.Context, s *hashtrail.SinkConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sinks[s.ID]; ok {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "sink %q exists", s.ID)
	}
	if _, ok := m.logs[s.Tenant]; !ok && s.Tenant != hashtrail.AllTenants {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", s.Tenant)
	}
	if len(s.Settings) == 0 {
		s.Settings = json.RawMessage(`{}`)
	}
	now := hashtrail.NewTime(m.now())
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.CreatedAt
	}
	if s.State == "" {
		s.State = hashtrail.SinkActive
	}
	m.sinks[s.ID] = cloneSink(s)
	m.cursors[s.ID] = map[string]*hashtrail.SinkCursor{}
	for t, log := range m.logs {
		if s.Tenant == hashtrail.AllTenants || s.Tenant == t {
			m.cursors[s.ID][t] = &hashtrail.SinkCursor{Sink: s.ID, Tenant: t, Next: int64(len(log))}
		}
	}
	return nil
}

// Sink returns one sink.
func (m *MemStore) Sink(ctx context.Context, id string) (*hashtrail.SinkConfig, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sinks[id]
	if !ok {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
	}
	return cloneSink(s), nil
}

// Sinks returns the sinks of tenant ("" for all), by id.
func (m *MemStore) Sinks(ctx context.Context, tenant string) ([]*hashtrail.SinkConfig, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*hashtrail.SinkConfig{}
	for _, s := range m.sinks {
		if tenant == "" || s.Tenant == tenant {
			out = append(out, cloneSink(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UpdateSink replaces a sink's changeable fields.
func (m *MemStore) UpdateSink(ctx context.Context, s *hashtrail.SinkConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.sinks[s.ID]
	if !ok {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", s.ID)
	}
	at := hashtrail.NewTime(m.now())
	if !at.After(old.UpdatedAt.Time) {
		at = hashtrail.NewTime(old.UpdatedAt.Add(time.Microsecond))
	}
	n := cloneSink(s)
	n.Tenant, n.Type, n.CreatedAt, n.UpdatedAt = old.Tenant, old.Type, old.CreatedAt, at
	m.sinks[s.ID] = n
	s.UpdatedAt = at
	return nil
}

// DeleteSink removes a sink and its cursors.
func (m *MemStore) DeleteSink(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sinks[id]; !ok {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
	}
	delete(m.sinks, id)
	delete(m.cursors, id)
	return nil
}

// SinkCursors returns a sink's stored cursors by tenant.
func (m *MemStore) SinkCursors(ctx context.Context, id string) ([]*hashtrail.SinkCursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*hashtrail.SinkCursor{}
	for _, c := range m.cursors[id] {
		cc := *c
		out = append(out, &cc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out, nil
}

// SetSinkCursor stores c if the stored Next is prev (or prev < 0).
func (m *MemStore) SetSinkCursor(ctx context.Context, c *hashtrail.SinkCursor, prev int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cs, ok := m.cursors[c.Sink]
	if !ok {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", c.Sink)
	}
	var next int64
	if old := cs[c.Tenant]; old != nil {
		next = old.Next
	}
	if prev >= 0 && next != prev {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "cursor of %s/%s is at %d, not %d", c.Sink, c.Tenant, next, prev)
	}
	cc := *c
	cs[c.Tenant] = &cc
	return nil
}

// AcquireLease takes or renews a lease; see hashtrail.LeaseStore.
func (m *MemStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, hashtrail.Errorf(hashtrail.EINVALID, "lease %q: ttl must be positive", name)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.leases[name]; ok && l.holder != holder && now.Before(l.expires) {
		return false, nil
	}
	m.leases[name] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, nil
}

// ReleaseLease gives a lease up if holder holds it.
func (m *MemStore) ReleaseLease(ctx context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder == holder {
		delete(m.leases, name)
	}
	return nil
}

// LeaseHolder returns who holds a lease now, or "".
func (m *MemStore) LeaseHolder(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && m.now().Before(l.expires) {
		return l.holder
	}
	return ""
}

// Replay moves sink's cursor in tenant to seq and marks the sink changed,
// as the engine's replay does.
func (m *MemStore) Replay(ctx context.Context, sinkID, tenant string, seq int64) error {
	if err := m.SetSinkCursor(ctx, &hashtrail.SinkCursor{Sink: sinkID, Tenant: tenant, Next: seq}, hashtrail.AnyCursor); err != nil {
		return err
	}
	s, err := m.Sink(ctx, sinkID)
	if err != nil {
		return err
	}
	return m.UpdateSink(ctx, s)
}

// SetState pauses or resumes a sink.
func (m *MemStore) SetState(ctx context.Context, sinkID string, state hashtrail.SinkState, reason string) error {
	s, err := m.Sink(ctx, sinkID)
	if err != nil {
		return err
	}
	s.State, s.PausedReason = state, reason
	if state == hashtrail.SinkActive {
		s.PausedReason = ""
	}
	return m.UpdateSink(ctx, s)
}

// Cursor returns the stored cursor of sink in tenant (zero if none).
func (m *MemStore) Cursor(sinkID, tenant string) hashtrail.SinkCursor {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.cursors[sinkID][tenant]; c != nil {
		return *c
	}
	return hashtrail.SinkCursor{Sink: sinkID, Tenant: tenant}
}

// String describes the store's logs, for failure messages.
func (m *MemStore) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := ""
	for t, l := range m.logs {
		s += fmt.Sprintf("%s:%d ", t, len(l))
	}
	return s
}
