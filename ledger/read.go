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
	return l.store.Event(ctx, tenant, id)
}
