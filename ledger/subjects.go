package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// actionSubjectErased announces an erasure (DESIGN §2;
// client.SubjectErased describes its metadata).
const actionSubjectErased = "system.subject_erased"

// maxErasedRoles caps the roles of one announcement, so that its metadata
// stays well under the 32 KiB limit of event metadata (client.SubjectErased).
const maxErasedRoles = 1000

// erasedMeta is the metadata of an announcement: roles by seq, nothing else.
type erasedMeta struct {
	Roles []erasedRole `json:"roles"`
}

type erasedRole struct {
	Seq  int64  `json:"seq"`
	Role string `json:"role"`
}

// HoldError is the conflict of an erasure with a legal hold (GDPR Art.
// 17(3)(e)): a hold whose filter matches one of the subject's events wins.
type HoldError struct {
	Tenant, Hold string
}

func (e *HoldError) Error() string {
	return fmt.Sprintf("legal hold %s of tenant %q covers events of this subject; lift it before erasing", e.Hold, e.Tenant)
}

// erasure is the plan of one tenant's erasure: the roles not yet erased.
type erasure struct {
	tenant string
	roles  []hashtrail.SubjectRole
}

// planErasure finds the subject's roles in tenant not yet erased and checks
// that no legal hold covers their events.
func (l *Ledger) planErasure(ctx context.Context, ss hashtrail.SubjectStore, tenant, subject string) (*erasure, error) {
	all, err := l.subjectRoles(ctx, ss, tenant, subject)
	if err != nil {
		return nil, err
	}
	pl := &erasure{tenant: tenant}
	for _, r := range all {
		if !r.Erased {
			pl.roles = append(pl.roles, r)
		}
	}
	if len(pl.roles) == 0 {
		return pl, nil
	}
	r, err := l.loadRetention(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if len(r.holds) == 0 {
		return pl, nil
	}
	err = l.eventsAt(ctx, tenant, seqsOf(pl.roles), func(e *hashtrail.Event) error {
		if id := r.held(e); id != "" {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "%s", (&HoldError{Tenant: tenant, Hold: id}).Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pl, nil
}

// seqsOf returns the distinct seqs of roles (sorted by seq).
func seqsOf(roles []hashtrail.SubjectRole) []int64 {
	var seqs []int64
	for _, r := range roles {
		if n := len(seqs); n == 0 || seqs[n-1] != r.Seq {
			seqs = append(seqs, r.Seq)
		}
	}
	return seqs
}

// eventsAt calls fn with the events of tenant at seqs (ascending), as the
// store holds them (personal values included), reading runs of nearby
// seqs in one page.
func (l *Ledger) eventsAt(ctx context.Context, tenant string, seqs []int64, fn func(*hashtrail.Event) error) error {
	for i := 0; i < len(seqs); {
		after, before := seqs[i]-1, seqs[i]+1
		j := i + 1
		for j < len(seqs) && seqs[j]-seqs[i] < hashtrail.MaxLimit {
			before = seqs[j] + 1
			j++
		}
		want := seqs[i:j]
		for {
			page, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc,
				AfterSeq: &after, BeforeSeq: &before, Limit: hashtrail.MaxLimit})
			if err != nil {
				return err
			}
			for _, e := range page {
				after = e.Seq
				if _, ok := slices.BinarySearch(want, e.Seq); ok {
					if err := fn(e); err != nil {
						return err
					}
				}
			}
			if len(page) < hashtrail.MaxLimit {
				break
			}
		}
		i = j
	}
	return nil
}

// EraseSubject erases a data subject's personal values from tenant's log
// (GDPR Art. 17; admin role) and returns how many events it redacted now.
// subject is "type:id" or an e-mail address. It finds every role of the
// subject (actor, targets, impersonator), refuses with ECONFLICT when a
// legal hold matches one of their events, appends system.subject_erased
// events naming the roles by seq (no personal data: they are the record
// of this admin act, with the key as actor), waits until a signed
// checkpoint covers them, and only then deletes the roles' personal
// values and salts (the commitments stay, so proofs verify). Running it
// again completes an erasure interrupted after its announcement (the roles
// are announced again, which a verifier accepts) and erases nothing new
// once done (0).
func (l *Ledger) EraseSubject(ctx context.Context, tenant, subject string) (int64, error) {
	if err := l.subjectAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return 0, err
	}
	if _, _, err := hashtrail.ParseSubject(subject); err != nil {
		return 0, err
	}
	ss := l.store
	pl, err := l.planErasure(ctx, ss, tenant, subject)
	if err != nil {
		return 0, err
	}
	n, err := l.erase(ctx, ss, pl)
	if err == nil {
		l.forgetAlertSubject(ctx, tenant, subject) // alerts_erase.go
	}
	return n, err
}

// EraseSubjectEverywhere erases a data subject from every tenant's log
// (installation-wide admin key). It checks the legal holds of every tenant
// before erasing anything. The answer maps each tenant where events were
// redacted to how many.
func (l *Ledger) EraseSubjectEverywhere(ctx context.Context, subject string) (map[string]int64, error) {
	if err := l.authorizeInstallation(hashtrail.PrincipalFrom(ctx), hashtrail.PermManage); err != nil {
		return nil, err
	}
	if _, _, err := hashtrail.ParseSubject(subject); err != nil {
		return nil, err
	}
	ss := l.store
	tenants, err := l.store.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var plans []*erasure
	for _, t := range tenants {
		if t.ID == hashtrail.SystemTenant {
			continue
		}
		pl, err := l.planErasure(ctx, ss, t.ID, subject)
		if err != nil {
			return nil, err
		}
		if len(pl.roles) > 0 {
			plans = append(plans, pl)
		}
	}
	out := map[string]int64{}
	for _, pl := range plans {
		n, err := l.erase(ctx, ss, pl)
		if err != nil {
			return out, err
		}
		l.forgetAlertSubject(ctx, pl.tenant, subject) // alerts_erase.go
		if n > 0 {
			out[pl.tenant] = n
		}
	}
	return out, nil
}

// erase announces pl's roles, waits for a signed checkpoint over the
// announcements and deletes the roles' personal values.
func (l *Ledger) erase(ctx context.Context, ss hashtrail.SubjectStore, pl *erasure) (int64, error) {
	if len(pl.roles) == 0 {
		return 0, nil
	}
	if l.sig == nil {
		// Nothing announced: the deletion must wait for a signed checkpoint.
		return 0, errNoSigning
	}
	p := hashtrail.PrincipalFrom(ctx)
	actor := &hashtrail.Actor{Type: hashtrail.ActorAPIKey, ID: keyID(p)}
	if p == nil {
		actor = &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "local-cli"}
	}
	g := &hashtrail.AppendGroup{}
	for rs := pl.roles; len(rs) > 0; {
		chunk := rs[:min(len(rs), maxErasedRoles)]
		rs = rs[len(chunk):]
		m := erasedMeta{Roles: make([]erasedRole, len(chunk))}
		for i, r := range chunk {
			m.Roles[i] = erasedRole{Seq: r.Seq, Role: r.Role}
		}
		meta, err := json.Marshal(m)
		if err != nil {
			return 0, err
		}
		ev := &hashtrail.Event{
			ID: hashtrail.NewEventID(), Tenant: pl.tenant, Action: actionSubjectErased,
			Category: hashtrail.CategorySystem, Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeSuccess,
			Actor:       actor,
			Description: fmt.Sprintf("Erasure of a data subject's personal values in %d roles of %d events", len(chunk), len(seqsOf(chunk))),
			Context:     &hashtrail.Context{Source: "hashtrail"}, Metadata: meta, KeyID: keyID(p),
		}
		g.Entries = append(g.Entries, &hashtrail.Entry{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)})
	}
	if err := l.append(ctx, g); err != nil {
		return 0, err
	}
	if g.Err != nil {
		return 0, g.Err
	}
	last := g.Entries[len(g.Entries)-1].Event.Seq
	ls, err := l.readLog(ctx, pl.tenant)
	if err != nil {
		return 0, err
	}
	if _, err := l.waitCovering(ctx, ls, pl.tenant, last, 10*l.cfg.CheckpointInterval+5*time.Second); err != nil {
		return 0, fmt.Errorf("ledger: waiting for a checkpoint over the erasure announcement at seq %d (run the erasure again to complete it): %w", last, err)
	}
	n, err := ss.ErasePersonal(ctx, pl.tenant, pl.roles)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return int64(len(seqsOf(pl.roles))), nil
}

// subjectAuthz checks perm on tenant, which must exist and not be the
// installation's own log.
func (l *Ledger) subjectAuthz(ctx context.Context, tenant string, perm hashtrail.Permission) error {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, perm); err != nil {
		return err
	}
	if tenant == hashtrail.SystemTenant {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "the %q log is the installation's own audit log; it has no data subjects", tenant)
	}
	_, err := l.store.Tenant(ctx, tenant)
	return err
}

// SubjectEvents calls fn with every event of tenant in which subject has a
// role (GDPR Art. 15 access request; admin role), in seq order, with the
// personal values the store still holds. The request is recorded in the
// tenant's log (subject.access_export; the subject is not named).
func (l *Ledger) SubjectEvents(ctx context.Context, tenant, subject string, fn func(*hashtrail.Event) error) error {
	if err := l.subjectAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return err
	}
	if _, _, err := hashtrail.ParseSubject(subject); err != nil {
		return err
	}
	ss := l.store
	roles, err := l.subjectRoles(ctx, ss, tenant, subject)
	if err != nil {
		return err
	}
	if err := l.audit(ctx, tenant, "subject.access_export", hashtrail.Target{Type: "tenant", ID: tenant}); err != nil {
		return err
	}
	return l.eventsAt(ctx, tenant, seqsOf(roles), fn)
}

// settingErasureDone + tenant is the seq of the last system.subject_erased
// announcement whose deletion CompleteErasures made sure of.
const settingErasureDone = "erasure_done/"

// CompleteErasures completes the erasures of tenant that were announced
// but whose deletion did not happen (a crash, a lost connection between
// the announcement and the deletion): for each announcement after the last
// one completed, once a signed checkpoint covers it, it erases the roles
// it names that still hold values, except those of events a legal hold
// set since then covers (logged; re-running the erasure after the hold is
// lifted erases them). It returns how many roles it erased. The purge loop
// runs it for every tenant; deletions already made are skipped.
func (l *Ledger) CompleteErasures(ctx context.Context, tenant string) (int64, error) {
	if l.sig == nil {
		return 0, errNoSigning
	}
	done := int64(-1)
	if v, err := l.store.Setting(ctx, settingErasureDone+tenant); err == nil {
		if done, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, fmt.Errorf("ledger: setting %s%s: %w", settingErasureDone, tenant, err)
		}
	} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return 0, err
	}
	var total int64
	for {
		after := done
		page, err := l.store.Events(ctx, &hashtrail.Query{Tenant: tenant, Actions: []string{actionSubjectErased},
			Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: 100})
		if err != nil || len(page) == 0 {
			return total, err
		}
		for _, a := range page {
			n, err := l.completeErasure(ctx, tenant, a)
			total += n
			if err != nil {
				return total, err
			}
			if err := l.store.SetSetting(ctx, settingErasureDone+tenant, strconv.FormatInt(a.Seq, 10)); err != nil {
				return total, err
			}
			done = a.Seq
		}
	}
}

// completeErasure erases what announcement a names and still holds values.
func (l *Ledger) completeErasure(ctx context.Context, tenant string, a *hashtrail.Event) (int64, error) {
	var m erasedMeta
	if err := json.Unmarshal(a.Metadata, &m); err != nil {
		l.log.Error("a malformed erasure announcement; skipped", "tenant", tenant, "seq", a.Seq, "err", err)
		return 0, nil
	}
	var roles []hashtrail.SubjectRole
	for _, r := range m.Roles {
		if r.Seq >= 0 && r.Seq < a.Seq {
			roles = append(roles, hashtrail.SubjectRole{Seq: r.Seq, Role: r.Role})
		}
	}
	if len(roles) == 0 {
		return 0, nil
	}
	ls, err := l.readLog(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if _, err := l.waitCovering(ctx, ls, tenant, a.Seq, 10*l.cfg.CheckpointInterval+5*time.Second); err != nil {
		return 0, fmt.Errorf("ledger: waiting for a checkpoint over the erasure announcement at seq %d: %w", a.Seq, err)
	}
	r, err := l.loadRetention(ctx, tenant)
	if err != nil {
		return 0, err
	}
	if len(r.holds) > 0 {
		held := map[int64]bool{}
		if err := l.eventsAt(ctx, tenant, seqsOf(roles), func(e *hashtrail.Event) error {
			if r.held(e) != "" {
				held[e.Seq] = true
			}
			return nil
		}); err != nil {
			return 0, err
		}
		if len(held) > 0 {
			l.log.Warn("an announced erasure left events a legal hold covers", "tenant", tenant, "announcement", a.Seq, "events", len(held))
			roles = slices.DeleteFunc(roles, func(r hashtrail.SubjectRole) bool { return held[r.Seq] })
		}
	}
	return l.store.ErasePersonal(ctx, tenant, roles)
}

// maxAliases bounds how many identifiers of one person subjectRoles
// follows.
const maxAliases = 16

// subjectRoles returns the roles of subject and of the other identifiers
// the log knows for the same person: an actor "user:42" that the log also
// shows with an e-mail address is looked up by that address too (where it
// acted known only by the address), and an address by the user id of the
// actors that had it (where the user is a target or an impersonator).
// Sorted by seq and role, without duplicates.
func (l *Ledger) subjectRoles(ctx context.Context, ss hashtrail.SubjectStore, tenant, subject string) ([]hashtrail.SubjectRole, error) {
	first, email, err := hashtrail.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	if email {
		first = "email:" + first
	}
	seen := map[string]bool{first: true}
	queue := []string{first}
	got := map[hashtrail.SubjectRole]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		roles, err := ss.SubjectRoles(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		var actorSeqs []int64
		for _, r := range roles {
			got[r] = true
			if r.Role == hashtrail.PIIRoleActor && !r.Erased {
				actorSeqs = append(actorSeqs, r.Seq)
			}
		}
		addr, isEmail := strings.CutPrefix(id, "email:")
		err = l.eventsAt(ctx, tenant, actorSeqs, func(e *hashtrail.Event) error {
			a := e.Actor
			if a == nil {
				return nil
			}
			// Only the actor's own identifiers (not an impersonator's).
			mine := (isEmail && strings.EqualFold(a.Email, addr)) || (!isEmail && e.ActorKey() == id)
			if !mine {
				return nil
			}
			var aliases []string
			if a.Type == hashtrail.ActorUser && a.ID != "" {
				aliases = append(aliases, e.ActorKey())
			}
			if a.Email != "" {
				aliases = append(aliases, "email:"+strings.ToLower(a.Email))
			}
			for _, x := range aliases {
				if !seen[x] && len(seen) < maxAliases {
					seen[x] = true
					queue = append(queue, x)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]hashtrail.SubjectRole, 0, len(got))
	for r := range got {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b hashtrail.SubjectRole) int {
		if a.Seq != b.Seq {
			return int(min(max(a.Seq-b.Seq, -1), 1))
		}
		if c := hashtrail.CompareRoles(a.Role, b.Role); c != 0 {
			return c
		}
		// The same role seen erased and not: keep one (the erased one last,
		// then dropped below).
		if a.Erased == b.Erased {
			return 0
		}
		if a.Erased {
			return 1
		}
		return -1
	})
	return slices.CompactFunc(out, func(a, b hashtrail.SubjectRole) bool { return a.Seq == b.Seq && a.Role == b.Role }), nil
}
