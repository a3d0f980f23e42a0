package hashtrail

import (
	"context"
	"strings"
)

// SubjectRole is one role of one event that names a data subject (DESIGN
// §1, §2): "/actor" or "/targets/<i>" of the event at Seq. Erased reports
// whether its personal values and salt are already deleted.
type SubjectRole struct {
	Seq    int64  `json:"seq"`
	Role   string `json:"role"`
	Erased bool   `json:"erased,omitempty"`
}

// SubjectStore finds a data subject's roles and erases their personal
// values (GDPR Art. 15 and 17). The engine (ledger) announces an erasure
// with system.subject_erased events and waits for a signed checkpoint
// covering them before it calls ErasePersonal; stores do not check that.
type SubjectStore interface {
	// SubjectRoles returns every role of tenant's events in which subject
	// has a part, in seq then role order: for "type:id", the actor with
	// that key, a target with that key ("/targets/<i>") and an actor
	// impersonated by it ("/actor", whose role holds the impersonator's
	// name); for an e-mail address, the actor with that e-mail (compared
	// without case) or the key "email:<address>". Erased roles are
	// included with Erased set. An unknown tenant is ENOTFOUND.
	SubjectRoles(ctx context.Context, tenant, subject string) ([]SubjectRole, error)
	// ErasePersonal deletes the personal values, salt and subject link of
	// each role of tenant (keeping its commitment, so leaves and proofs
	// stay whole), marks it erased, and removes the values from every
	// search index (free text, actor e-mail, ip, country). Roles already
	// erased or without a row are skipped; it returns how many roles it
	// erased now. Afterwards no trace of the values remains in the store's
	// files (DESIGN §2; docs/security.md says what each store needs).
	ErasePersonal(ctx context.Context, tenant string, roles []SubjectRole) (int64, error)
}

// ParseSubject normalizes a data subject as an erasure or access request
// names it: "type:id" (such as "user:42") is kept as is; an e-mail address
// (one "@", no ":") is lower-cased and returned with email set.
func ParseSubject(s string) (subject string, email bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 512 {
		return "", false, Errorf(EINVALID, "a subject is \"type:id\" or an e-mail address")
	}
	if at := strings.IndexByte(s, '@'); at > 0 && at < len(s)-1 && !strings.Contains(s, ":") {
		return strings.ToLower(s), true, nil
	}
	if s, ok := strings.CutPrefix(s, "email:"); ok && strings.Contains(s, "@") {
		return strings.ToLower(s), true, nil
	}
	typ, id, ok := strings.Cut(s, ":")
	if !ok || typ == "" || id == "" {
		return "", false, Errorf(EINVALID, "a subject is \"type:id\" or an e-mail address")
	}
	return s, false, nil
}

// CompareRoles orders roles as leaves and announcements do: "/actor"
// first, then targets by index.
func CompareRoles(a, b string) int { return compareRoles(a, b) }

// SubjectService answers a data subject's requests (GDPR Art. 15 and 17).
// Both need the admin role; the installation-wide erasure an
// installation-wide admin key. See ledger.EraseSubject.
type SubjectService interface {
	// EraseSubject erases subject's personal values from tenant's log and
	// returns how many events it redacted (0 when nothing was left).
	EraseSubject(ctx context.Context, tenant, subject string) (int64, error)
	// EraseSubjectEverywhere erases subject from every tenant's log and
	// returns, by tenant, how many events it redacted.
	EraseSubjectEverywhere(ctx context.Context, subject string) (map[string]int64, error)
	// SubjectEvents calls fn with every event in which subject has a role,
	// in seq order.
	SubjectEvents(ctx context.Context, tenant, subject string, fn func(*Event) error) error
}
