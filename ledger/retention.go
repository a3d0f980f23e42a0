package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

var _ hashtrail.RetentionService = (*Ledger)(nil)

// retentionTTL bounds how long a change of a policy, hold or floor made on
// another node takes to apply here; a change made on this node applies at
// once.
const retentionTTL = 2 * time.Second

// retention is a tenant's retention policy, holds and the floor, compiled
// for matching events.
type retention struct {
	rules  []compiledRule
	def    hashtrail.Keep
	holds  []compiledHold
	floor  *hashtrail.Keep
	finite bool // some rule (or the default) can expire an event
}

type compiledRule struct {
	q     *hashtrail.Query
	keep  hashtrail.Keep
	label string
}

type compiledHold struct {
	id string
	q  *hashtrail.Query
}

// keepOf returns how long e is kept and the label of the rule that says
// so ("default" when none matches), the floor applied.
func (r *retention) keepOf(e *hashtrail.Event) (hashtrail.Keep, string) {
	keep, label := r.def, "default "+r.def.String()
	for _, ru := range r.rules {
		if ru.q.Match(e) {
			keep, label = ru.keep, ru.label
			break
		}
	}
	if r.floor != nil && !keep.AtLeast(*r.floor) {
		keep, label = *r.floor, "floor "+r.floor.String()
	}
	return keep, label
}

// held returns the id of the first hold that matches e, or "".
func (r *retention) held(e *hashtrail.Event) string {
	for _, h := range r.holds {
		if h.q.Match(e) {
			return h.id
		}
	}
	return ""
}

// expired reports whether retention has ended for e at now: its keep has
// passed and no hold matches it. Announcements of erasures and purges are
// never expired (they carry no personal data and prove lawful deletions).
func (r *retention) expired(e *hashtrail.Event, now time.Time) (bool, string) {
	if r == nil || !r.finite || hashtrail.ReservedAction(e.Action) {
		return false, ""
	}
	keep, label := r.keepOf(e)
	if !keep.Expired(e.ReceivedAt.Time, now) || r.held(e) != "" {
		return false, ""
	}
	return true, label
}

// mayExpire reports whether any keep of r could have ended at now for an
// event received at received; the purge scan stops at the first event for
// which none could.
func (r *retention) mayExpire(received, now time.Time) bool {
	keeps := []hashtrail.Keep{r.def}
	for _, ru := range r.rules {
		keeps = append(keeps, ru.keep)
	}
	for _, k := range keeps {
		if r.floor != nil && !k.AtLeast(*r.floor) {
			k = *r.floor
		}
		if k.Expired(received, now) {
			return true
		}
	}
	return false
}

// retentionCache keeps each tenant's compiled retention for retentionTTL.
type retentionCache struct {
	mu sync.Mutex
	m  map[string]cachedRetention
}

type cachedRetention struct {
	r       *retention
	expires time.Time
}

func (c *retentionCache) forget(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tenant == "" {
		clear(c.m)
		return
	}
	delete(c.m, tenant)
}

// retentionFor returns tenant's compiled retention; nil keeps everything.
func (l *Ledger) retentionFor(ctx context.Context, tenant string) (*retention, error) {
	now := l.now()
	c := &l.retentions
	c.mu.Lock()
	e, ok := c.m[tenant]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.r, nil
	}
	r, err := l.loadRetention(ctx, tenant)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedRetention{}
	}
	c.m[tenant] = cachedRetention{r: r, expires: now.Add(retentionTTL)}
	c.mu.Unlock()
	return r, nil
}

func (l *Ledger) loadRetention(ctx context.Context, tenant string) (*retention, error) {
	p, err := l.readRetention(ctx, tenant)
	if err != nil {
		return nil, err
	}
	holds, err := l.readHolds(ctx, tenant)
	if err != nil {
		return nil, err
	}
	floor, err := l.readFloor(ctx)
	if err != nil {
		return nil, err
	}
	r := &retention{def: p.Default, floor: floor.Keep, finite: !p.Default.IsForever()}
	for i := range p.Rules {
		q, err := ruleQuery(&p.Rules[i])
		if err != nil {
			return nil, fmt.Errorf("the stored retention policy of tenant %q: rules[%d]: %w", tenant, i, err)
		}
		r.rules = append(r.rules, compiledRule{q: q, keep: p.Rules[i].Keep, label: p.Rules[i].Label()})
		r.finite = r.finite || !p.Rules[i].Keep.IsForever()
	}
	for _, h := range holds.Holds {
		q, err := filterQuery(h.Filter)
		if err != nil {
			return nil, fmt.Errorf("the stored legal hold %s of tenant %q: %w", h.ID, tenant, err)
		}
		r.holds = append(r.holds, compiledHold{id: h.ID, q: q})
	}
	return r, nil
}

// filterQuery reads a filter in the search syntax.
func filterQuery(f string) (*hashtrail.Query, error) {
	q := &hashtrail.Query{}
	if f == "" {
		return q, nil
	}
	s, err := query.ParseField("filter", f)
	if err != nil {
		return nil, err
	}
	s.Apply(q)
	return q, nil
}

// ruleQuery returns the conditions of r as a Query.
func ruleQuery(r *hashtrail.RetentionRule) (*hashtrail.Query, error) {
	q, err := filterQuery(r.Filter)
	if err != nil {
		return nil, err
	}
	if r.Category != "" {
		q.Categories = []hashtrail.Category{r.Category}
	}
	if r.Action != "" {
		q.Actions = []string{r.Action}
	}
	return q, nil
}

// readConfig reads tenant's document of kind into v and returns its
// version, 0 when there is none.
func (l *Ledger) readConfig(ctx context.Context, tenant, kind string, v any) (*hashtrail.TenantConfig, error) {
	tc, err := l.store.TenantConfig(ctx, tenant, kind)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return &hashtrail.TenantConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(tc.Value, v); err != nil {
		return nil, fmt.Errorf("the stored %s document of tenant %q: %w", kind, tenant, err)
	}
	return tc, nil
}

func (l *Ledger) readRetention(ctx context.Context, tenant string) (*hashtrail.RetentionPolicy, error) {
	var p hashtrail.RetentionPolicy
	tc, err := l.readConfig(ctx, tenant, hashtrail.ConfigRetention, &p)
	if err != nil {
		return nil, err
	}
	p.Version, p.UpdatedAt, p.UpdatedBy = tc.Version, tc.UpdatedAt, tc.UpdatedBy
	if p.Rules == nil {
		p.Rules = []hashtrail.RetentionRule{}
	}
	return &p, nil
}

func (l *Ledger) readHolds(ctx context.Context, tenant string) (*hashtrail.LegalHolds, error) {
	var h hashtrail.LegalHolds
	tc, err := l.readConfig(ctx, tenant, hashtrail.ConfigHolds, &h)
	if err != nil {
		return nil, err
	}
	h.Version, h.UpdatedAt, h.UpdatedBy = tc.Version, tc.UpdatedAt, tc.UpdatedBy
	if h.Holds == nil {
		h.Holds = []hashtrail.LegalHold{}
	}
	return &h, nil
}

func (l *Ledger) readFloor(ctx context.Context) (*hashtrail.RetentionFloor, error) {
	var f hashtrail.RetentionFloor
	tc, err := l.readConfig(ctx, hashtrail.SystemTenant, hashtrail.ConfigRetentionFloor, &f)
	if err != nil {
		return nil, err
	}
	f.Version, f.UpdatedAt, f.UpdatedBy = tc.Version, tc.UpdatedAt, tc.UpdatedBy
	return &f, nil
}

// writeConfig stores v as tenant's document of kind replacing version.
func (l *Ledger) writeConfig(ctx context.Context, tenant, kind string, version int64, v any) (*hashtrail.TenantConfig, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	tc := &hashtrail.TenantConfig{Tenant: tenant, Kind: kind, Version: version, Value: b,
		UpdatedAt: l.clock(), UpdatedBy: keyID(hashtrail.PrincipalFrom(ctx))}
	if err := l.store.PutTenantConfig(ctx, tc); err != nil {
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT {
			return nil, hashtrail.Errorf(hashtrail.ECONFLICT, "the %s document changed since version %d: read it again and apply your change to it", kind, version)
		}
		return nil, err
	}
	l.retentions.forget(tenant)
	if tenant == hashtrail.SystemTenant {
		l.retentions.forget("")
	}
	return tc, nil
}

func (l *Ledger) retentionAuthz(ctx context.Context, tenant string, perm hashtrail.Permission) error {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, perm); err != nil {
		return err
	}
	if tenant == hashtrail.SystemTenant {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "the %q log is the installation's own audit log; it is kept forever", tenant)
	}
	_, err := l.store.Tenant(ctx, tenant)
	return err
}

// Retention returns the tenant's retention policy (admin role).
func (l *Ledger) Retention(ctx context.Context, tenant string) (*hashtrail.RetentionPolicy, error) {
	if err := l.retentionAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	p, err := l.readRetention(ctx, tenant)
	if err != nil {
		return nil, err
	}
	f, err := l.readFloor(ctx)
	if err != nil {
		return nil, err
	}
	p.Floor = f.Keep
	return p, nil
}

// PutRetention replaces the tenant's retention policy (admin role).
func (l *Ledger) PutRetention(ctx context.Context, tenant string, p *hashtrail.RetentionPolicy) (*hashtrail.RetentionPolicy, error) {
	if err := l.retentionAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	floor, err := l.readFloor(ctx)
	if err != nil {
		return nil, err
	}
	if fields := checkPolicy(p, floor.Keep); len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	doc := hashtrail.RetentionPolicy{Rules: p.Rules, Default: p.Default}
	if doc.Rules == nil {
		doc.Rules = []hashtrail.RetentionRule{}
	}
	tc, err := l.writeConfig(ctx, tenant, hashtrail.ConfigRetention, p.Version, struct {
		Rules   []hashtrail.RetentionRule `json:"rules"`
		Default hashtrail.Keep            `json:"default"`
	}{doc.Rules, doc.Default})
	if err != nil {
		return nil, err
	}
	doc.Version, doc.UpdatedAt, doc.UpdatedBy, doc.Floor = tc.Version, tc.UpdatedAt, tc.UpdatedBy, floor.Keep
	return &doc, l.audit(ctx, tenant, "retention.update", hashtrail.Target{Type: "retention_policy", ID: tenant,
		Name: fmt.Sprintf("version %d, %d rules, default %s", doc.Version, len(doc.Rules), doc.Default)})
}

// checkPolicy checks p's rules against the floor; field errors name the
// rule.
func checkPolicy(p *hashtrail.RetentionPolicy, floor *hashtrail.Keep) []hashtrail.FieldError {
	var fields []hashtrail.FieldError
	if len(p.Rules) > hashtrail.MaxRetentionRules {
		return []hashtrail.FieldError{{Field: "rules", Message: fmt.Sprintf("at most %d rules", hashtrail.MaxRetentionRules)}}
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		at := fmt.Sprintf("rules[%d]", i)
		if len(r.Filter) > hashtrail.MaxFilterLength {
			fields = append(fields, hashtrail.FieldError{Field: at + ".filter", Message: fmt.Sprintf("is longer than %d bytes", hashtrail.MaxFilterLength)})
		} else if _, err := filterQuery(r.Filter); err != nil {
			fields = append(fields, hashtrail.FieldError{Field: at + ".filter", Message: err.Error()})
		}
		if r.Category != "" && !r.Category.Valid() {
			fields = append(fields, hashtrail.FieldError{Field: at + ".category", Message: "is not a category"})
		}
		if r.Action != "" {
			a, prefix := r.Action, false
			if s, ok := cutSuffix(a, ".*"); ok {
				a, prefix = s+".x", true
			}
			if !hashtrail.ValidAction(a) && !(prefix && hashtrail.ValidAction(a+".y")) {
				fields = append(fields, hashtrail.FieldError{Field: at + ".action", Message: "must be an action such as user.login, or a prefix such as user.*"})
			}
		}
		if len(r.Name) > 200 {
			fields = append(fields, hashtrail.FieldError{Field: at + ".name", Message: "is longer than 200 bytes"})
		}
		if floor != nil && !r.Keep.AtLeast(*floor) {
			fields = append(fields, hashtrail.FieldError{Field: at + ".keep",
				Message: fmt.Sprintf("rule %q keeps events for %s, less than the installation's compliance floor of %s", r.Label(), r.Keep, *floor)})
		}
	}
	if floor != nil && !p.Default.AtLeast(*floor) {
		fields = append(fields, hashtrail.FieldError{Field: "default",
			Message: fmt.Sprintf("the default keeps events for %s, less than the installation's compliance floor of %s", p.Default, *floor)})
	}
	return fields
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// Holds returns the tenant's legal holds (admin role).
func (l *Ledger) Holds(ctx context.Context, tenant string) (*hashtrail.LegalHolds, error) {
	if err := l.retentionAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	return l.readHolds(ctx, tenant)
}

// AddHold sets a legal hold (admin role).
func (l *Ledger) AddHold(ctx context.Context, tenant string, h *hashtrail.LegalHold) (*hashtrail.LegalHold, error) {
	if err := l.retentionAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	var fields []hashtrail.FieldError
	switch {
	case h.Filter == "":
		fields = append(fields, hashtrail.FieldError{Field: "filter", Message: "is required: a search such as actor:user:42 (a hold on everything would be target:* or action:*)"})
	case len(h.Filter) > hashtrail.MaxFilterLength:
		fields = append(fields, hashtrail.FieldError{Field: "filter", Message: fmt.Sprintf("is longer than %d bytes", hashtrail.MaxFilterLength)})
	default:
		if _, err := filterQuery(h.Filter); err != nil {
			fields = append(fields, hashtrail.FieldError{Field: "filter", Message: err.Error()})
		}
	}
	if h.Reason == "" || len(h.Reason) > 1000 {
		fields = append(fields, hashtrail.FieldError{Field: "reason", Message: "is required, up to 1000 bytes"})
	}
	if len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	nh := hashtrail.LegalHold{ID: "hold_" + hex.EncodeToString(b[:]), Filter: h.Filter, Reason: h.Reason,
		CreatedBy: keyID(hashtrail.PrincipalFrom(ctx)), CreatedAt: l.clock()}
	if err := l.editHolds(ctx, tenant, func(hs *hashtrail.LegalHolds) error {
		if len(hs.Holds) >= hashtrail.MaxLegalHolds {
			return hashtrail.Errorf(hashtrail.EINVALID, "a tenant has at most %d legal holds", hashtrail.MaxLegalHolds)
		}
		hs.Holds = append(hs.Holds, nh)
		return nil
	}); err != nil {
		return nil, err
	}
	return &nh, l.audit(ctx, tenant, "legal_hold.create", hashtrail.Target{Type: "legal_hold", ID: nh.ID, Name: nh.Reason})
}

// RemoveHold lifts a legal hold (admin role).
func (l *Ledger) RemoveHold(ctx context.Context, tenant, id string) error {
	if err := l.retentionAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return err
	}
	var gone hashtrail.LegalHold
	if err := l.editHolds(ctx, tenant, func(hs *hashtrail.LegalHolds) error {
		i := slices.IndexFunc(hs.Holds, func(h hashtrail.LegalHold) bool { return h.ID == id })
		if i < 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "legal hold %q not found", id)
		}
		gone = hs.Holds[i]
		hs.Holds = slices.Delete(hs.Holds, i, i+1)
		return nil
	}); err != nil {
		return err
	}
	return l.audit(ctx, tenant, "legal_hold.remove", hashtrail.Target{Type: "legal_hold", ID: gone.ID, Name: gone.Reason})
}

// editHolds applies edit to the current holds and stores them, retrying
// when another change came first.
func (l *Ledger) editHolds(ctx context.Context, tenant string, edit func(*hashtrail.LegalHolds) error) error {
	for attempt := 0; ; attempt++ {
		hs, err := l.readHolds(ctx, tenant)
		if err != nil {
			return err
		}
		if err := edit(hs); err != nil {
			return err
		}
		_, err = l.writeConfig(ctx, tenant, hashtrail.ConfigHolds, hs.Version, struct {
			Holds []hashtrail.LegalHold `json:"holds"`
		}{hs.Holds})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		return err
	}
}

// RetentionFloor returns the installation's compliance floor (any admin).
func (l *Ledger) RetentionFloor(ctx context.Context) (*hashtrail.RetentionFloor, error) {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), "", hashtrail.PermManage); err != nil {
		return nil, err
	}
	return l.readFloor(ctx)
}

// PutRetentionFloor replaces the installation's compliance floor
// (installation-wide admin keys). A locked floor may only be raised; only
// the local operator may lower or unlock it.
func (l *Ledger) PutRetentionFloor(ctx context.Context, f *hashtrail.RetentionFloor) (*hashtrail.RetentionFloor, error) {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorizeInstallation(p, hashtrail.PermManage); err != nil {
		return nil, err
	}
	cur, err := l.readFloor(ctx)
	if err != nil {
		return nil, err
	}
	if cur.Locked && p != nil {
		switch {
		case !f.Locked:
			return nil, hashtrail.Errorf(hashtrail.EFORBIDDEN, "the compliance floor is locked; it cannot be unlocked through the API")
		case f.Keep == nil || !f.Keep.AtLeast(*cur.Keep):
			return nil, hashtrail.Errorf(hashtrail.EFORBIDDEN, "the compliance floor is locked at %s; it may be raised, never lowered", *cur.Keep)
		}
	}
	if f.Locked && f.Keep == nil {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "keep", Message: "a locked floor needs a keep, such as 12mo"}})
	}
	if len(f.Reason) > 1000 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "reason", Message: "is longer than 1000 bytes"}})
	}
	doc := hashtrail.RetentionFloor{Keep: f.Keep, Locked: f.Locked, Reason: f.Reason}
	tc, err := l.writeConfig(ctx, hashtrail.SystemTenant, hashtrail.ConfigRetentionFloor, f.Version, struct {
		Keep   *hashtrail.Keep `json:"keep"`
		Locked bool            `json:"locked"`
		Reason string          `json:"reason,omitempty"`
	}{doc.Keep, doc.Locked, doc.Reason})
	if err != nil {
		return nil, err
	}
	doc.Version, doc.UpdatedAt, doc.UpdatedBy = tc.Version, tc.UpdatedAt, tc.UpdatedBy
	name := "none"
	if doc.Keep != nil {
		name = doc.Keep.String()
	}
	if doc.Locked {
		name += ", locked"
	}
	return &doc, l.audit(ctx, hashtrail.SystemTenant, "retention.floor_update", hashtrail.Target{Type: "retention_floor", ID: "installation", Name: name})
}
