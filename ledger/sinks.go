package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

// Sinks: the engine's half of streaming (package sink is the other). The
// ledger authorizes, validates (the filter with the query package, the
// type and settings with Config.Sinks), keeps sinks in the store, records
// each change in the log of the tenant it concerns (the installation's
// for installation-wide sinks; never the settings, which may hold
// secrets), and tells the dispatcher on this node (Config.SinksChanged).
// Status is computed from the store, so every node answers the same.

// sinkAuthz checks that the caller may manage the sinks of tenant
// (AllTenants: installation-wide ones).
func (l *Ledger) sinkAuthz(ctx context.Context, tenant string) (hashtrail.SinkStore, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.keyAuthz(p, tenant); err != nil {
		return nil, err
	}
	return l.store, nil
}

// authorizedSink authorizes the caller for tenant's sinks and returns the
// sink id of that scope.
func (l *Ledger) authorizedSink(ctx context.Context, tenant, id string) (hashtrail.SinkStore, *hashtrail.SinkConfig, error) {
	ss, err := l.sinkAuthz(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	s, err := loadSink(ctx, ss, tenant, id)
	return ss, s, err
}

// loadSink returns the sink id of scope tenant; ENOTFOUND for a sink of
// another scope.
func loadSink(ctx context.Context, ss hashtrail.SinkStore, tenant, id string) (*hashtrail.SinkConfig, error) {
	s, err := ss.Sink(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.Tenant != tenant {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
	}
	return s, nil
}

// checkSink validates s, filling in defaults of its settings.
func (l *Ledger) checkSink(s *hashtrail.SinkConfig) error {
	var errs []hashtrail.FieldError
	if len(s.Name) > 256 || !utf8.ValidString(s.Name) || strings.ContainsFunc(s.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs = append(errs, hashtrail.FieldError{Field: "name", Message: "must be UTF-8 text without control characters, at most 256 bytes"})
	}
	if s.Filter != "" {
		if _, err := query.ParseField("filter", s.Filter); err != nil {
			if e, ok := err.(*hashtrail.Error); ok && len(e.Fields) > 0 {
				errs = append(errs, e.Fields...)
			} else {
				errs = append(errs, hashtrail.FieldError{Field: "filter", Message: err.Error()})
			}
		}
	}
	if s.BatchSize < 0 || s.BatchSize > hashtrail.MaxSinkBatchSize {
		errs = append(errs, hashtrail.FieldError{Field: "batch_size", Message: fmt.Sprintf("must be between 0 (the destination's default) and %d", hashtrail.MaxSinkBatchSize)})
	}
	if s.MaxFailures < 0 || s.MaxFailures > hashtrail.MaxSinkMaxFailures {
		errs = append(errs, hashtrail.FieldError{Field: "max_failures", Message: fmt.Sprintf("must be between 0 (the default) and %d", hashtrail.MaxSinkMaxFailures)})
	}
	if l.cfg.Sinks == nil {
		errs = append(errs, hashtrail.FieldError{Field: "type", Message: "names no destination this server offers (none are registered)"})
	} else {
		errs = append(errs, l.cfg.Sinks.CheckSink(s)...)
	}
	if len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	return nil
}

// sinkChanged records an act on a sink in the log and wakes the dispatcher.
func (l *Ledger) sinkChanged(ctx context.Context, action string, s *hashtrail.SinkConfig) error {
	if l.cfg.SinksChanged != nil {
		l.cfg.SinksChanged()
	}
	name := s.Type
	if s.Name != "" {
		name = s.Name + " (" + s.Type + ")"
	}
	return l.audit(ctx, auditTenant(s.Tenant), action, hashtrail.Target{Type: "sink", ID: s.ID, Name: name})
}

// CreateSink adds a sink, which starts at the end of the logs it covers.
func (l *Ledger) CreateSink(ctx context.Context, s *hashtrail.SinkConfig) (*hashtrail.SinkInfo, error) {
	ss, err := l.sinkAuthz(ctx, s.Tenant)
	if err != nil {
		return nil, err
	}
	if s.Tenant != hashtrail.AllTenants {
		if _, err := l.store.Tenant(ctx, s.Tenant); err != nil {
			return nil, err
		}
	}
	n := &hashtrail.SinkConfig{
		ID: hashtrail.NewSinkID(), Tenant: s.Tenant, Name: s.Name, Type: s.Type, Filter: s.Filter,
		Settings: s.Settings, BatchSize: s.BatchSize, MaxFailures: s.MaxFailures,
		State: hashtrail.SinkActive, CreatedAt: l.clock(),
	}
	if s.State == hashtrail.SinkPaused {
		n.State, n.PausedReason = hashtrail.SinkPaused, s.PausedReason
	}
	if err := l.checkSink(n); err != nil {
		return nil, err
	}
	if err := ss.CreateSink(ctx, n); err != nil {
		return nil, err
	}
	if err := l.sinkChanged(ctx, "sink.create", n); err != nil {
		return nil, err
	}
	return l.sinkInfo(ctx, ss, n)
}

// Sinks lists the sinks of tenant (AllTenants: installation-wide ones).
func (l *Ledger) Sinks(ctx context.Context, tenant string) ([]*hashtrail.SinkInfo, error) {
	ss, err := l.sinkAuthz(ctx, tenant)
	if err != nil {
		return nil, err
	}
	list, err := ss.Sinks(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]*hashtrail.SinkInfo, 0, len(list))
	for _, s := range list {
		info, err := l.sinkInfo(ctx, ss, s)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Sink returns one sink with its status.
func (l *Ledger) Sink(ctx context.Context, tenant, id string) (*hashtrail.SinkInfo, error) {
	ss, s, err := l.authorizedSink(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return l.sinkInfo(ctx, ss, s)
}

// UpdateSink changes a sink's name, filter, settings, batch size or max
// failures. Secret settings sent back as hashtrail.RedactedSecret keep
// their stored values.
func (l *Ledger) UpdateSink(ctx context.Context, tenant, id string, p *hashtrail.SinkPatch) (*hashtrail.SinkInfo, error) {
	ss, s, err := l.authorizedSink(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if p.Name != nil {
		s.Name = *p.Name
	}
	if p.Filter != nil {
		s.Filter = *p.Filter
	}
	if p.BatchSize != nil {
		s.BatchSize = *p.BatchSize
	}
	if p.MaxFailures != nil {
		s.MaxFailures = *p.MaxFailures
	}
	if p.Settings != nil {
		merged, err := l.keepSecrets(s.Type, s.Settings, *p.Settings)
		if err != nil {
			return nil, err
		}
		s.Settings = merged
	}
	if err := l.checkSink(s); err != nil {
		return nil, err
	}
	if err := ss.UpdateSink(ctx, s); err != nil {
		return nil, err
	}
	if err := l.sinkChanged(ctx, "sink.update", s); err != nil {
		return nil, err
	}
	return l.sinkInfo(ctx, ss, s)
}

// keepSecrets returns settings next with every secret member given as
// RedactedSecret replaced by its value in old.
func (l *Ledger) keepSecrets(typ string, old, next json.RawMessage) (json.RawMessage, error) {
	var secrets []string
	if l.cfg.Sinks != nil {
		secrets = l.cfg.Sinks.SecretSettings(typ)
	}
	if len(secrets) == 0 {
		return next, nil
	}
	var n map[string]json.RawMessage
	if err := json.Unmarshal(next, &n); err != nil {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "settings", Message: "must be a JSON object"}})
	}
	var o map[string]json.RawMessage
	_ = json.Unmarshal(old, &o)
	redacted, _ := json.Marshal(hashtrail.RedactedSecret)
	for _, k := range secrets {
		if v, ok := n[k]; ok && bytes.Equal(bytes.TrimSpace(v), redacted) {
			if ov, ok := o[k]; ok {
				n[k] = ov
			} else {
				delete(n, k)
			}
		}
	}
	return json.Marshal(n)
}

// PauseSink stops a sink's delivery, keeping its position.
func (l *Ledger) PauseSink(ctx context.Context, tenant, id, reason string) (*hashtrail.SinkInfo, error) {
	ss, s, err := l.authorizedSink(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if len(reason) > 500 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "reason", Message: "is longer than 500 bytes"}})
	}
	if reason == "" {
		reason = "paused by " + keyID(hashtrail.PrincipalFrom(ctx))
	}
	s.State, s.PausedReason = hashtrail.SinkPaused, reason
	if err := ss.UpdateSink(ctx, s); err != nil {
		return nil, err
	}
	if err := l.sinkChanged(ctx, "sink.pause", s); err != nil {
		return nil, err
	}
	return l.sinkInfo(ctx, ss, s)
}

// ResumeSink restarts a paused sink from its position, forgetting its
// failures.
func (l *Ledger) ResumeSink(ctx context.Context, tenant, id string) (*hashtrail.SinkInfo, error) {
	ss, s, err := l.authorizedSink(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	cs, err := ss.SinkCursors(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.Failures == 0 {
			continue
		}
		c.Failures = 0
		if err := ss.SetSinkCursor(ctx, c, c.Next); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
			return nil, err
		}
	}
	s.State, s.PausedReason = hashtrail.SinkActive, ""
	if err := ss.UpdateSink(ctx, s); err != nil {
		return nil, err
	}
	if err := l.sinkChanged(ctx, "sink.resume", s); err != nil {
		return nil, err
	}
	return l.sinkInfo(ctx, ss, s)
}

// ReplaySink moves a sink's cursor to a seq, or to the first event
// received at or after a time, in one tenant's log or all it covers.
func (l *Ledger) ReplaySink(ctx context.Context, tenant, id string, r *hashtrail.SinkReplay) (*hashtrail.SinkInfo, error) {
	ss, s, err := l.authorizedSink(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	var errs []hashtrail.FieldError
	switch {
	case r.FromSeq == nil && r.FromTime.IsZero():
		errs = append(errs, hashtrail.FieldError{Field: "from_seq", Message: "one of from_seq and from_time is required"})
	case r.FromSeq != nil && !r.FromTime.IsZero():
		errs = append(errs, hashtrail.FieldError{Field: "from_time", Message: "give from_seq or from_time, not both"})
	case r.FromSeq != nil && *r.FromSeq < 0:
		errs = append(errs, hashtrail.FieldError{Field: "from_seq", Message: "must not be negative"})
	}
	if r.Tenant != "" && s.Tenant != hashtrail.AllTenants && r.Tenant != s.Tenant {
		errs = append(errs, hashtrail.FieldError{Field: "tenant", Message: "must be the sink's tenant"})
	}
	if len(errs) > 0 {
		return nil, hashtrail.InvalidFields(errs)
	}
	tenants, err := l.sinkTenants(ctx, s)
	if err != nil {
		return nil, err
	}
	if r.Tenant != "" {
		t, err := l.store.Tenant(ctx, r.Tenant)
		if err != nil {
			return nil, err
		}
		tenants = []*hashtrail.Tenant{t}
	}
	cursors, err := cursorMap(ctx, ss, s.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		seq := t.Size
		if r.FromSeq != nil {
			seq = min(*r.FromSeq, t.Size)
		} else if seq, err = l.firstReceived(ctx, t, r.FromTime); err != nil {
			return nil, err
		}
		c := &hashtrail.SinkCursor{Sink: s.ID, Tenant: t.ID, Next: seq}
		if old := cursors[t.ID]; old != nil {
			c.LastDelivery = old.LastDelivery
		}
		if err := ss.SetSinkCursor(ctx, c, hashtrail.AnyCursor); err != nil {
			return nil, err
		}
	}
	// Moving UpdatedAt on restarts the sink's deliveries on every node,
	// from the new cursors.
	if err := ss.UpdateSink(ctx, s); err != nil {
		return nil, err
	}
	if err := l.sinkChanged(ctx, "sink.replay", s); err != nil {
		return nil, err
	}
	return l.sinkInfo(ctx, ss, s)
}

// firstReceived returns the seq of the first event of t's log received at
// or after at (t.Size if none), by bisection: received_at grows with seq.
func (l *Ledger) firstReceived(ctx context.Context, t *hashtrail.Tenant, at hashtrail.Time) (int64, error) {
	lo, hi := int64(0), t.Size
	for lo < hi {
		mid := lo + (hi-lo)/2
		after := mid - 1
		evs, err := l.store.Events(ctx, &hashtrail.Query{Tenant: t.ID, AfterSeq: &after, Order: hashtrail.OrderAsc, Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			hi = mid
			continue
		}
		if evs[0].ReceivedAt.Before(at.Time) {
			lo = evs[0].Seq + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// DeleteSink removes a sink and its cursors.
func (l *Ledger) DeleteSink(ctx context.Context, tenant, id string) error {
	ss, err := l.sinkAuthz(ctx, tenant)
	if err != nil {
		return err
	}
	s, err := loadSink(ctx, ss, tenant, id)
	if err != nil {
		return err
	}
	if err := ss.DeleteSink(ctx, id); err != nil {
		return err
	}
	return l.sinkChanged(ctx, "sink.delete", s)
}

// sinkTenants returns the tenants a sink covers.
func (l *Ledger) sinkTenants(ctx context.Context, s *hashtrail.SinkConfig) ([]*hashtrail.Tenant, error) {
	if s.Tenant == hashtrail.AllTenants {
		return l.store.Tenants(ctx)
	}
	t, err := l.store.Tenant(ctx, s.Tenant)
	if err != nil {
		return nil, err
	}
	return []*hashtrail.Tenant{t}, nil
}

func cursorMap(ctx context.Context, ss hashtrail.SinkStore, id string) (map[string]*hashtrail.SinkCursor, error) {
	cs, err := ss.SinkCursors(ctx, id)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*hashtrail.SinkCursor, len(cs))
	for _, c := range cs {
		m[c.Tenant] = c
	}
	return m, nil
}

// sinkInfo returns s with its secrets redacted and its status.
func (l *Ledger) sinkInfo(ctx context.Context, ss hashtrail.SinkStore, s *hashtrail.SinkConfig) (*hashtrail.SinkInfo, error) {
	tenants, err := l.sinkTenants(ctx, s)
	if err != nil {
		return nil, err
	}
	cursors, err := cursorMap(ctx, ss, s.ID)
	if err != nil {
		return nil, err
	}
	now := l.now()
	status := make([]hashtrail.SinkTenantStatus, 0, len(tenants))
	for _, t := range tenants {
		st := hashtrail.SinkTenantStatus{Tenant: t.ID, LogSize: t.Size}
		if c := cursors[t.ID]; c != nil {
			st.Next, st.LastDelivery, st.LastError, st.Failures = c.Next, c.LastDelivery, c.LastError, c.Failures
		}
		st.LagEvents = max(0, t.Size-st.Next)
		if st.LagEvents > 0 {
			after := st.Next - 1
			evs, err := l.store.Events(ctx, &hashtrail.Query{Tenant: t.ID, AfterSeq: &after, Order: hashtrail.OrderAsc, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(evs) > 0 {
				st.LagSeconds = max(0, now.Sub(evs[0].ReceivedAt.Time).Seconds())
			}
		}
		status = append(status, st)
	}
	c := *s
	c.Settings = l.redact(s.Type, s.Settings)
	return &hashtrail.SinkInfo{SinkConfig: &c, Status: status}, nil
}

// redact replaces the secret members of settings with RedactedSecret.
func (l *Ledger) redact(typ string, settings json.RawMessage) json.RawMessage {
	if l.cfg.Sinks == nil {
		return settings
	}
	secrets := l.cfg.Sinks.SecretSettings(typ)
	if len(secrets) == 0 {
		return settings
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(settings, &m); err != nil {
		return json.RawMessage(`{}`)
	}
	redacted, _ := json.Marshal(hashtrail.RedactedSecret)
	for _, k := range secrets {
		if _, ok := m[k]; ok {
			m[k] = redacted
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}
