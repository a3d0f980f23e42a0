package hashtrail

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"
	"unicode/utf8"
)

var (
	idRE         = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	actionRE     = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)
	targetTypeRE = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.-]{0,63}$`)
	countryRE    = regexp.MustCompile(`^[A-Z]{2}$`)
)

// String length limits (in bytes) for free-text fields.
const (
	maxShort = 256  // names, ids, types
	maxText  = 4096 // reason, error, description, user agent, path
	maxTags  = 64   // tags per event
	maxList  = 1000 // targets, changes, roles
)

// MaxFutureSkew is how far in the future an event's time may lie.
const MaxFutureSkew = 24 * time.Hour

// ValidEventID reports whether id is a valid client event id.
func ValidEventID(id string) bool { return idRE.MatchString(id) }

// ReservedAction reports whether only Hashtrail itself may record action:
// the announcements of erasure and retention purges (DESIGN §2), which
// verification trusts, so a client must never be able to forge one.
func ReservedAction(action string) bool {
	return action == "system.subject_erased" || action == "system.retention_purge"
}

// ValidAction reports whether a is a dotted object.verb action name.
func ValidAction(a string) bool { return len(a) <= maxShort && actionRE.MatchString(a) }

// Validate checks the field rules of DESIGN §1 and returns every violation,
// with paths relative to the event. now bounds how far in the future Time may lie.
// Validate accepts an event before defaults are applied.
func (e *Event) Validate(now Time) []FieldError {
	v := &validator{}
	if e.ID != "" && !ValidEventID(e.ID) {
		v.add("id", "must match [A-Za-z0-9._:-]{1,128}")
	}
	if !e.Time.IsZero() {
		if e.Time.Year() < 1970 {
			v.add("time", "must not be before 1970")
		} else if !now.IsZero() && e.Time.Sub(now.Time) > MaxFutureSkew {
			v.add("time", fmt.Sprintf("is more than %s in the future (server time %s)", MaxFutureSkew, now))
		}
	}
	switch {
	case e.Action == "":
		v.add("action", "is required")
	case !ValidAction(e.Action):
		v.add("action", "must be dotted lowercase object.verb such as user.login ([a-z0-9_]+(.[a-z0-9_]+)+)")
	case ReservedAction(e.Action):
		v.add("action", "is reserved: only Hashtrail itself records "+e.Action+" (it announces erasures and purges that verify relies on)")
	}
	if e.Category != "" && !e.Category.Valid() {
		v.add("category", "must be one of "+joinEnum(Categories))
	}
	if e.Severity != "" && !e.Severity.Valid() {
		v.add("severity", "must be one of "+joinEnum(Severities))
	}
	if e.Outcome != "" && !e.Outcome.Valid() {
		v.add("outcome", "must be one of "+joinEnum(Outcomes))
	}
	v.text("reason", e.Reason, maxText)
	v.text("error", e.Error, maxText)
	v.text("description", e.Description, maxText)
	if e.Actor != nil {
		v.actor(e.Actor)
	}
	v.list("targets", len(e.Targets))
	for i, t := range e.Targets {
		p := fmt.Sprintf("targets[%d]", i)
		if !targetTypeRE.MatchString(t.Type) {
			v.add(p+".type", "is required and must match [a-z0-9_][a-z0-9_.-]{0,63}")
		}
		if t.ID == "" {
			v.add(p+".id", "is required")
		}
		v.text(p+".id", t.ID, maxShort)
		v.text(p+".name", t.Name, maxShort)
	}
	if e.Context != nil {
		v.context(e.Context)
	}
	if s := e.Service; s != nil {
		v.text("service.name", s.Name, maxShort)
		v.text("service.version", s.Version, maxShort)
		v.text("service.environment", s.Environment, maxShort)
		v.text("service.host", s.Host, maxShort)
	}
	v.list("changes", len(e.Changes))
	for i, c := range e.Changes {
		p := fmt.Sprintf("changes[%d]", i)
		if c.Field == "" {
			v.add(p+".field", "is required")
		}
		v.text(p+".field", c.Field, maxShort)
		if c.Redacted && (len(c.Old) > 0 || len(c.New) > 0) {
			v.add(p, "a redacted change must not carry old or new values")
		}
	}
	if len(e.Metadata) > 0 {
		if len(e.Metadata) > MaxMetadataBytes {
			v.add("metadata", fmt.Sprintf("is %d bytes; the limit is %d", len(e.Metadata), MaxMetadataBytes))
		} else if e.Metadata[0] != '{' {
			v.add("metadata", "must be a JSON object")
		}
	}
	if len(e.Tags) > maxTags {
		v.add("tags", fmt.Sprintf("has %d tags; the limit is %d", len(e.Tags), maxTags))
	}
	for i, t := range e.Tags {
		p := fmt.Sprintf("tags[%d]", i)
		if t == "" {
			v.add(p, "must not be empty")
		}
		v.text(p, t, maxShort)
	}
	if o := e.Output; o != nil {
		if o.Command == "" {
			v.add("output.command", "is required")
		}
		v.text("output.command", o.Command, maxText*4)
		v.text("output.stdout", o.Stdout, MaxOutputBytes)
		v.text("output.stderr", o.Stderr, MaxOutputBytes)
	}
	return v.errs
}

func (v *validator) actor(a *Actor) {
	if !a.Type.Valid() {
		v.add("actor.type", "is required and must be one of "+joinEnum(ActorTypes))
	}
	if a.Type != ActorSystem && a.ID == "" && a.Email == "" {
		v.add("actor.id", "is required (or actor.email when only an address is known)")
	}
	v.text("actor.id", a.ID, maxShort)
	v.text("actor.name", a.Name, maxShort)
	v.text("actor.email", a.Email, maxShort)
	v.list("actor.roles", len(a.Roles))
	for i, r := range a.Roles {
		v.text(fmt.Sprintf("actor.roles[%d]", i), r, maxShort)
	}
	if au := a.Auth; au != nil {
		v.text("actor.auth.method", au.Method, maxShort)
		v.text("actor.auth.credential_id", au.CredentialID, maxShort)
		v.text("actor.auth.provider", au.Provider, maxShort)
	}
	if im := a.Impersonator; im != nil {
		if !im.Type.Valid() {
			v.add("actor.impersonator.type", "is required and must be one of "+joinEnum(ActorTypes))
		}
		v.text("actor.impersonator.id", im.ID, maxShort)
		v.text("actor.impersonator.name", im.Name, maxShort)
	}
}

func (v *validator) context(c *Context) {
	if c.IP != "" {
		// No zone: a zoned address (fe80::1%eth0) never matches an ip filter.
		if a, err := netip.ParseAddr(c.IP); err != nil || a.Zone() != "" {
			v.add("context.ip", "must be an IPv4 or IPv6 address without a zone")
		}
	}
	v.text("context.user_agent", c.UserAgent, maxText)
	v.text("context.session_id", c.SessionID, maxShort)
	v.text("context.request_id", c.RequestID, maxShort)
	v.text("context.trace_id", c.TraceID, maxShort)
	v.text("context.method", c.Method, 32)
	v.text("context.path", c.Path, maxText)
	v.text("context.source", c.Source, maxShort)
	if l := c.Location; l != nil {
		if l.Country != "" && !countryRE.MatchString(l.Country) {
			v.add("context.location.country", "must be an ISO 3166-1 alpha-2 code such as DE")
		}
		v.text("context.location.region", l.Region, maxShort)
		v.text("context.location.city", l.City, maxShort)
	}
}

type validator struct{ errs []FieldError }

func (v *validator) add(field, msg string) { v.errs = append(v.errs, FieldError{field, msg}) }

func (v *validator) text(field, s string, max int) {
	if len(s) > max {
		v.add(field, fmt.Sprintf("is %d bytes; the limit is %d", len(s), max))
	} else if !utf8.ValidString(s) {
		v.add(field, "is not valid UTF-8")
	}
}

func (v *validator) list(field string, n int) {
	if n > maxList {
		v.add(field, fmt.Sprintf("has %d entries; the limit is %d", n, maxList))
	}
}

// ApplyDefaults fills the defaults of DESIGN §1: time from receivedAt, the
// category from the catalog, severity info (medium for failed
// authentication), and outcome success. It does not assign ID.
func (e *Event) ApplyDefaults(receivedAt Time) {
	if e.Time.IsZero() {
		e.Time = receivedAt
	}
	e.Time = NewTime(e.Time.Time)
	if e.Category == "" {
		e.Category = DefaultCategory(e.Action)
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeSuccess
	}
	if e.Severity == "" {
		e.Severity = SeverityInfo
		if e.Outcome == OutcomeFailure && e.Category == CategoryAuthentication {
			e.Severity = SeverityMedium
		}
	}
}
