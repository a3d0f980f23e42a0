package ledger

import (
	"context"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Ingest appends a request's events once authorized and answers one receipt
// per event and tenant once the events are durable.
func (l *Ledger) Ingest(ctx context.Context, req *hashtrail.IngestRequest) ([]hashtrail.Receipt, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, req.Tenant, hashtrail.PermWrite); err != nil {
		return nil, err
	}
	if req.Tenant == "" && p != nil && p.Tenant != hashtrail.AllTenants {
		return nil, hashtrail.Errorf(hashtrail.EFORBIDDEN, "POST /v1/events needs an installation-wide key; use /v1/tenants/%s/events", p.Tenant)
	}
	if len(req.Submissions) == 0 {
		return nil, hashtrail.Errorf(hashtrail.EINVALID, "no events")
	}
	g := &hashtrail.AppendGroup{CreateTenants: l.cfg.AutoCreateTenants && (p == nil || p.Tenant == hashtrail.AllTenants)}
	index := make([]int, 0, len(req.Submissions))
	for _, sub := range req.Submissions {
		tenants := sub.Tenants
		if len(tenants) == 0 {
			t := sub.Event.Tenant
			if t == "" {
				t = req.Tenant
			}
			tenants = []string{t}
		}
		id := sub.Event.ID
		if id == "" {
			id = hashtrail.NewEventID()
		}
		for _, t := range tenants {
			if err := l.writable(p, t); err != nil {
				return nil, err
			}
			if err := l.notSuspended(ctx, t); err != nil {
				return nil, err
			}
			if p != nil && !p.Scope.AllowsAction(sub.Event.Action) {
				return nil, hashtrail.Errorf(hashtrail.EFORBIDDEN, "this key may write only the actions %s, not %q", strings.Join(p.Scope.Actions, ", "), sub.Event.Action)
			}
			ev := *sub.Event
			ev.Tenant, ev.ID = t, id
			ev.KeyID = keyID(p)
			g.Entries = append(g.Entries, &hashtrail.Entry{Event: &ev, ContentHash: sub.ContentHash})
			index = append(index, sub.Index)
		}
	}
	index, err := l.applyCatalogs(ctx, req, g, index)
	if err != nil {
		return nil, err
	}
	if err := l.checkQuotas(ctx, g); err != nil {
		return nil, err
	}
	// Redaction comes before the leaf: the log proves the redacted event.
	if err := l.redactEvents(ctx, g); err != nil {
		return nil, err
	}
	if err := l.append(ctx, g); err != nil {
		return nil, err
	}
	out := make([]hashtrail.Receipt, len(g.Entries))
	for i, e := range g.Entries {
		out[i] = hashtrail.Receipt{
			Index:      index[i],
			Tenant:     e.Event.Tenant,
			ID:         e.Event.ID,
			Seq:        e.Event.Seq,
			ReceivedAt: e.Event.ReceivedAt,
			LeafHash:   e.Event.LeafHash,
		}
	}
	return out, nil
}

// writable checks that p may append to tenant: it must see it, and nobody
// but the server itself writes the installation's own log.
func (l *Ledger) writable(p *hashtrail.Principal, tenant string) error {
	if !hashtrail.ValidTenantID(tenant) {
		return hashtrail.Errorf(hashtrail.EINVALID, "invalid tenant id %q", tenant)
	}
	if p != nil && !p.Sees(tenant) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", tenant)
	}
	if tenant == hashtrail.SystemTenant {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "the %q log is written only by Hashtrail itself", hashtrail.SystemTenant)
	}
	return nil
}

func keyID(p *hashtrail.Principal) string {
	if p == nil {
		return "local"
	}
	return p.KeyID
}
