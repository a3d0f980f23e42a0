package ledger

import (
	"context"
	"encoding/json"

	hashtrail "github.com/hashtrail/hashtrail"
)

var _ hashtrail.ExportService = (*Ledger)(nil)

// StartExport authorizes an export of q and records it as data.export in
// the tenant's log (see hashtrail.ExportService). The record is written
// like an administrative act (actor = the key), with category data and
// the format and filter in its metadata.
func (l *Ledger) StartExport(ctx context.Context, q *hashtrail.Query, format, filter string) (int64, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, q.Tenant, hashtrail.PermRead); err != nil {
		return 0, err
	}
	if err := notViewer(p); err != nil {
		return 0, err
	}
	if _, err := l.store.Tenant(ctx, q.Tenant); err != nil {
		return 0, err
	}
	md, err := json.Marshal(struct {
		Format string `json:"format"`
		Filter string `json:"filter"`
	}{format, filter})
	if err != nil {
		return 0, err
	}
	actor := &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: keyID(p)}
	if p == nil {
		actor = &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "local-cli"}
	}
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Tenant: q.Tenant, Action: hashtrail.ActionDataExport,
		Category: hashtrail.CategoryData, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeSuccess,
		Actor: actor, Targets: []hashtrail.Target{{Type: "tenant", ID: q.Tenant}},
		Context: &hashtrail.Context{Source: "hashtrail"}, Metadata: md, KeyID: keyID(p),
	}
	g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)}}}
	if err := l.append(ctx, g); err != nil {
		l.log.Error("recording an export failed", "tenant", q.Tenant, "err", err)
		return 0, err
	}
	return ev.Seq, nil
}
