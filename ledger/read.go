package ledger

import (
	"context"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Events lists a page of a tenant's events. It fetches one more than asked
// to know whether a next page exists; the cursor is the last seq returned,
// so pages stay exact under concurrent appends (seq only grows).
func (l *Ledger) Events(ctx context.Context, q *hashtrail.Query) (*hashtrail.EventList, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, q.Tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	qq := *q // the store answers ENOTFOUND for an unknown tenant
	qq.Terms = append([]hashtrail.Term(nil), q.Terms...)
	if err := scopeQuery(p, &qq); err != nil {
		return nil, err
	}
	if qq.Order == "" {
		qq.Order = hashtrail.OrderDesc
	}
	if qq.Limit <= 0 {
		qq.Limit = hashtrail.DefaultLimit
	}
	if qq.Limit > hashtrail.MaxLimit {
		qq.Limit = hashtrail.MaxLimit
	}
	limit := qq.Limit
	qq.Limit++
	events, err := l.store.Events(ctx, &qq)
	if err != nil {
		return nil, err
	}
	list := &hashtrail.EventList{Events: events}
	if len(events) > limit {
		list.Events = events[:limit]
		last := list.Events[limit-1]
		list.NextCursor = hashtrail.Cursor{Seq: last.Seq, Order: qq.Order}.String()
	}
	// Expired events are never shown, whether or not the purge has run;
	// the page may come back shorter, and the cursor goes on from the
	// last event the store gave.
	if list.Events, err = l.unexpired(ctx, q.Tenant, list.Events); err != nil {
		return nil, err
	}
	list.Events = viewerEvents(p, list.Events)
	l.recordRead(ctx, p, q.Tenant, &qq, len(list.Events))
	if list.Events == nil {
		list.Events = []*hashtrail.Event{}
	}
	return list, nil
}

// Event returns one event of a tenant by id.
func (l *Ledger) Event(ctx context.Context, tenant, id string) (*hashtrail.Event, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	e, err := l.visibleEvent(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if e, err = viewerEvent(p, e); err != nil {
		return nil, err
	}
	l.recordRead(ctx, p, tenant, &hashtrail.Query{Terms: []hashtrail.Term{{Field: hashtrail.TermID, Values: []string{id}}}}, 1)
	return e, nil
}

// visibleEvent returns the stored event unless retention has ended for it
// (ENOTFOUND, as after the purge).
func (l *Ledger) visibleEvent(ctx context.Context, tenant, id string) (*hashtrail.Event, error) {
	e, err := l.store.Event(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	kept, err := l.unexpired(ctx, tenant, []*hashtrail.Event{e})
	if err != nil {
		return nil, err
	}
	if len(kept) == 0 {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "event %q not found", id)
	}
	return e, nil
}

// unexpired returns the events retention still keeps (held ones too).
func (l *Ledger) unexpired(ctx context.Context, tenant string, events []*hashtrail.Event) ([]*hashtrail.Event, error) {
	if len(events) == 0 {
		return events, nil
	}
	r, err := l.retentionFor(ctx, tenant)
	if err != nil || r == nil || !r.finite {
		return events, err
	}
	now := l.now()
	out := events[:0:0]
	for _, e := range events {
		if exp, _ := r.expired(e, now); !exp {
			out = append(out, e)
		}
	}
	return out, nil
}
