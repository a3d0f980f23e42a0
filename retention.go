package hashtrail

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The kinds of tenant configuration documents retention uses.
const (
	// ConfigRetention is the tenant's retention policy (RetentionPolicy).
	ConfigRetention = "retention"
	// ConfigHolds is the tenant's legal holds (LegalHolds).
	ConfigHolds = "holds"
	// ConfigRetentionFloor is the installation's compliance floor
	// (RetentionFloor), kept as a document of SystemTenant.
	ConfigRetentionFloor = "retention_floor"
)

// LeasePurge + tenant is held by the node that runs the tenant's retention
// purge.
const LeasePurge = "purge/"

// KeepUnit is the unit of a Keep.
type KeepUnit string

// The units of a Keep. Days are 24 hours; months and years are calendar
// months and years counted on the UTC calendar from the moment the event
// was received (time.Time.AddDate), so "12mo" from 2026-03-15T10:00Z ends
// at 2027-03-15T10:00Z.
const (
	KeepDays   KeepUnit = "d"
	KeepMonths KeepUnit = "mo"
	KeepYears  KeepUnit = "y"
)

// MaxKeep bounds a Keep's count (of any unit), so that every span fits a
// time.Time comfortably.
const MaxKeep = 100000

// Keep is how long a retention rule keeps events: forever (its zero value),
// or N days, months or years from the event's received_at. Its text form is
// "forever", "400d", "12mo" or "7y".
//
// Retention counts from received_at, the server's clock at ingest, never
// from the event's own time: that is the client's clock, which may lie in
// the past or the future by any amount (a backfill, a wrong clock, a
// forged date), and an event must not become expired the moment it is
// written, nor be kept forever by a date in 2999.
type Keep struct {
	N    int
	Unit KeepUnit // "" is forever
}

// Forever is the Keep that never expires.
var Forever = Keep{}

// ParseKeep reads "forever" or a positive count with a unit: "400d",
// "12mo", "7y".
func ParseKeep(s string) (Keep, error) {
	if s == "forever" {
		return Forever, nil
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return Keep{}, fmt.Errorf("%.40q is not a retention period: use \"forever\" or a count of days, months or years such as 400d, 12mo or 7y", s)
	}
	n, err := strconv.Atoi(s[:i])
	unit := KeepUnit(s[i:])
	if err != nil || n <= 0 || n > MaxKeep || s[0] == '0' || (unit != KeepDays && unit != KeepMonths && unit != KeepYears) {
		return Keep{}, fmt.Errorf("%.40q is not a retention period: use \"forever\" or a count from 1 to %d of days, months or years such as 400d, 12mo or 7y", s, MaxKeep)
	}
	return Keep{N: n, Unit: unit}, nil
}

// MustKeep is ParseKeep for constants; it panics on an error.
func MustKeep(s string) Keep {
	k, err := ParseKeep(s)
	if err != nil {
		panic(err)
	}
	return k
}

// IsForever reports whether k never expires.
func (k Keep) IsForever() bool { return k.Unit == "" }

// String returns k's text form.
func (k Keep) String() string {
	if k.IsForever() {
		return "forever"
	}
	return strconv.Itoa(k.N) + string(k.Unit)
}

// MarshalText implements encoding.TextMarshaler.
func (k Keep) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Keep) UnmarshalText(b []byte) error {
	v, err := ParseKeep(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Until returns the instant at which an event received at received stops
// being kept, and false for forever.
func (k Keep) Until(received time.Time) (time.Time, bool) {
	received = received.UTC()
	switch k.Unit {
	case KeepDays:
		return received.Add(time.Duration(k.N) * 24 * time.Hour), true
	case KeepMonths:
		return received.AddDate(0, k.N, 0), true
	case KeepYears:
		return received.AddDate(k.N, 0, 0), true
	}
	return time.Time{}, false
}

// Expired reports whether an event received at received is past k at now.
func (k Keep) Expired(received, now time.Time) bool {
	until, ok := k.Until(received)
	return ok && !now.Before(until)
}

// AtLeast reports whether k always keeps events at least as long as floor,
// whenever they were received: forever is at least anything; months and
// years compare by months; days against months compare against the longest
// (or shortest) span those months can have on the calendar, so "366d"
// satisfies "12mo" and "365d" does not (a year with 29 February is 366
// days long).
func (k Keep) AtLeast(floor Keep) bool {
	switch {
	case k.IsForever():
		return true
	case floor.IsForever():
		return false
	case k.Unit == KeepDays && floor.Unit == KeepDays:
		return k.N >= floor.N
	case k.Unit != KeepDays && floor.Unit != KeepDays:
		return k.months() >= floor.months()
	case k.Unit == KeepDays:
		_, longest := monthSpans(floor.months())
		return k.N >= longest
	default:
		shortest, _ := monthSpans(k.months())
		return shortest >= floor.N
	}
}

func (k Keep) months() int {
	if k.Unit == KeepYears {
		return 12 * k.N
	}
	return k.N
}

var spanCache sync.Map // months -> [2]int{shortest, longest} in days

// monthSpans returns the shortest and longest span, in whole days rounded
// outwards, of n calendar months as AddDate counts them from any day of the
// 400-year Gregorian cycle.
func monthSpans(n int) (shortest, longest int) {
	if v, ok := spanCache.Load(n); ok {
		s := v.([2]int)
		return s[0], s[1]
	}
	shortest, longest = int(^uint(0)>>1), 0
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := range 146097 {
		t := start.AddDate(0, 0, d)
		days := int(t.AddDate(0, n, 0).Sub(t).Hours() / 24)
		shortest, longest = min(shortest, days), max(longest, days)
	}
	spanCache.Store(n, [2]int{shortest, longest})
	return shortest, longest
}

// RetentionRule is one rule of a retention policy: the events it selects
// are kept for Keep. Filter (search syntax, DESIGN §4), Category and Action
// all must match (the ones set); a rule with none of them matches every
// event.
type RetentionRule struct {
	// Name labels the rule in errors and in the announcements of purges;
	// by default one is made of its conditions and Keep.
	Name string `json:"name,omitempty"`
	// Filter is a search in the search syntax, such as "target:project:*"
	// or "category:authentication -outcome:failure".
	Filter string `json:"filter,omitempty"`
	// Category selects events of one category.
	Category Category `json:"category,omitempty"`
	// Action is an action exactly ("user.login") or a prefix ("user.*").
	Action string `json:"action,omitempty"`
	Keep   Keep   `json:"keep"`
}

// Label returns r.Name, or a name made of r's conditions and keep, such as
// "category:authentication 400d".
func (r *RetentionRule) Label() string {
	if r.Name != "" {
		return r.Name
	}
	var parts []string
	if r.Category != "" {
		parts = append(parts, "category:"+string(r.Category))
	}
	if r.Action != "" {
		parts = append(parts, "action:"+r.Action)
	}
	if r.Filter != "" {
		parts = append(parts, r.Filter)
	}
	if len(parts) == 0 {
		parts = append(parts, "*")
	}
	return strings.Join(parts, " ") + " " + r.Keep.String()
}

// Limits of retention policies and holds.
const (
	MaxRetentionRules = 100
	MaxLegalHolds     = 1000
	MaxFilterLength   = 2000
)

// RetentionPolicy is a tenant's retention policy (its ConfigRetention
// document): the first rule that matches an event decides how long it is
// kept; an event no rule matches is kept for Default. A tenant without a
// policy, and a policy without a Default, keep everything forever: nothing
// is ever deleted unless an admin said so.
//
// Retention never deletes an event that a legal hold matches, nor the
// system.retention_purge and system.subject_erased announcements (they
// carry no personal data and prove lawful deletions). An expired event is
// hidden from every read at once (list, get, export, proofs with the
// body), whenever the purge last ran; the purge then deletes its body,
// announced first in the log (DESIGN §2).
type RetentionPolicy struct {
	Rules   []RetentionRule `json:"rules"`
	Default Keep            `json:"default"`
	// Version is the stored document's version: 0 while the tenant has
	// none. An update names the version it replaces (optimistic
	// concurrency; ECONFLICT when another update came first).
	Version   int64  `json:"version"`
	UpdatedAt Time   `json:"updated_at,omitzero"`
	UpdatedBy string `json:"updated_by,omitempty"`
	// Floor is the installation's compliance floor in force, shown in
	// answers (read only; see RetentionFloor).
	Floor *Keep `json:"floor,omitempty"`
}

// RetentionFloor is the installation's compliance floor: no tenant's
// retention rule (nor default) may keep events for less than Keep, such as
// PCI DSS 10.5.1's "at least 12 months" ("12mo"). Rules shorter than the
// floor are refused when set; a floor raised above a stored rule also
// applies to it at once (the longer of the two wins). Once Locked, the
// floor may be raised but never lowered nor unlocked through the API; only
// the local operator (the CLI on the data directory) can.
type RetentionFloor struct {
	// Keep is the floor; nil when the installation has none.
	Keep   *Keep  `json:"keep"`
	Locked bool   `json:"locked"`
	Reason string `json:"reason,omitempty"`
	// Version, UpdatedAt and UpdatedBy as for RetentionPolicy.
	Version   int64  `json:"version"`
	UpdatedAt Time   `json:"updated_at,omitzero"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// LegalHold stops retention from deleting (and hiding) the events its
// filter matches, until it is lifted.
type LegalHold struct {
	// ID is assigned by the server ("hold_" and 16 hex digits).
	ID string `json:"id"`
	// Filter is a search in the search syntax, such as "actor:user:42" or
	// "target:project:7 created:<2026-01-01"; it must not be empty.
	Filter string `json:"filter"`
	// Reason says why (a case number, a regulator's request).
	Reason string `json:"reason"`
	// CreatedBy is the key that set the hold; CreatedAt when.
	CreatedBy string `json:"created_by"`
	CreatedAt Time   `json:"created_at"`
}

// LegalHolds is a tenant's legal holds (its ConfigHolds document).
type LegalHolds struct {
	Holds []LegalHold `json:"holds"`
	// Version as for RetentionPolicy.
	Version   int64  `json:"version"`
	UpdatedAt Time   `json:"updated_at,omitzero"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// RetentionService manages retention policies, legal holds and the
// installation's compliance floor. Changing any of them needs the admin
// role (a tenant's own admin key or an installation-wide one; the floor
// only an installation-wide one), and each change is recorded in the
// tenant's own log (the floor's in SystemTenant's).
type RetentionService interface {
	// Retention returns the tenant's policy (version 0 and forever when it
	// has none).
	Retention(ctx context.Context, tenant string) (*RetentionPolicy, error)
	// PutRetention replaces the policy whose version is p.Version
	// (ECONFLICT when another change came first); EINVALID naming the
	// rule when a filter does not parse or a rule is shorter than the
	// floor.
	PutRetention(ctx context.Context, tenant string, p *RetentionPolicy) (*RetentionPolicy, error)
	// Holds returns the tenant's legal holds.
	Holds(ctx context.Context, tenant string) (*LegalHolds, error)
	// AddHold sets a new hold (Filter and Reason from h) and returns it.
	AddHold(ctx context.Context, tenant string, h *LegalHold) (*LegalHold, error)
	// RemoveHold lifts a hold; ENOTFOUND if the tenant has none with id.
	RemoveHold(ctx context.Context, tenant, id string) error
	// RetentionFloor returns the installation's floor (version 0 and a nil
	// Keep when none is set).
	RetentionFloor(ctx context.Context) (*RetentionFloor, error)
	// PutRetentionFloor replaces the floor whose version is f.Version.
	PutRetentionFloor(ctx context.Context, f *RetentionFloor) (*RetentionFloor, error)
}

// EventPurger deletes the bodies of events that a retention purge
// announced (DESIGN §2). The engine calls it only after the
// system.retention_purge event announcing the ranges is covered by a
// signed checkpoint.
type EventPurger interface {
	// PurgeEvents deletes the events of tenant whose seqs lie in ranges
	// (each [first, last], both included): their bodies, personal values
	// (with salts and subjects), targets, tags and search-index entries.
	// It keeps what proves them, the leaf hash and the tree hashes, and
	// their idempotency record (id -> seq, received_at, content hash, leaf
	// hash), so that a replayed id gets its original receipt and an id
	// reused with other content is still refused. Seqs already purged, or
	// never written, are skipped: running it twice deletes nothing twice.
	// It returns how many events it purged now. It works in bounded
	// transactions, so appends go on meanwhile; an error may leave part of
	// the ranges purged, and a new call completes them.
	PurgeEvents(ctx context.Context, tenant string, ranges [][2]int64) (int64, error)
}
