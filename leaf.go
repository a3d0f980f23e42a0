package hashtrail

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/go-json-experiment/json/jsontext"
	"slices"
	"strconv"
	"strings"

	"github.com/hashtrail/hashtrail/merkle"
)

// LeafVersion is the leaf format version, the "v" member of every leaf.
//
// The leaf (DESIGN §2) is the byte string whose RFC 6962 hash,
// SHA-256(0x00 || leaf), an event's tenant log commits to. It is built from
// the stored event, the way EncodeLeaf does and a verifier repeats with
// RebuildLeaf:
//
//  1. Start from the stored event's fields as JSON: every client field after
//     defaults, plus tenant, seq and received_at, and "v": LeafVersion. Not
//     leaf_hash, key_id or pii, nor a description generated at read time.
//     Times are written as TimeLayout; null or absent metadata is left out;
//     members of the event's own schema whose value is an empty object
//     (actor.auth, actor.impersonator, context, context.location, service)
//     are left out, whether the client sent them empty or step 3 emptied
//     them. Free JSON (metadata, changes' old and new) is kept as sent, up
//     to the canonical form of step 4.
//  2. Collect the personal values by role (SplitPII does this): role
//     "/actor" holds actor.name, actor.email, actor.impersonator.name,
//     context.ip, context.user_agent and context.location (one value, the
//     whole object); role "/targets/N" holds the name of target N when its
//     type is "user"; the old and new values of a change whose field is
//     personal (exactly, case-sensitively, one of the tenant's personal
//     fields) belong to the role of the first "user" target, or to "/actor"
//     when there is none. For each role R with values, P_R is the JSON
//     object mapping each value's RFC 6901 JSON Pointer (such as
//     "/actor/email" or "/changes/0/old") to the value, S_R a random
//     SaltSize-byte salt, and C_R = lowercase hex SHA-256(S_R || JCS(P_R)).
//  3. Remove the personal values (not set to null; objects left empty go as
//     in step 1) and add "pii": {R: C_R, ...} when there is at least one role.
//  4. The leaf is the RFC 8785 (JCS) form of the result.
//
// Golden vectors are in testdata/leaf.
const LeafVersion = 1

// SaltSize is the size in bytes of a role's salt S_R.
const SaltSize = 32

// PIIRoleActor is the role of the actor's personal values.
const PIIRoleActor = "/actor"

// PIIRoleTarget returns the role of target i's personal values, "/targets/<i>".
func PIIRoleTarget(i int) string { return "/targets/" + strconv.Itoa(i) }

// LeafHash returns the leaf hash of a leaf as Event.LeafHash holds it:
// lowercase hex SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) string {
	h := merkle.LeafHash(leaf)
	return hex.EncodeToString(h[:])
}

// DefaultPersonalFields returns the change fields that are personal unless a
// tenant says otherwise: email, name, phone, address and ip.
func DefaultPersonalFields() []string { return []string{"email", "name", "phone", "address", "ip"} }

// PIIRole is the personal data of one role in one event and its commitment.
type PIIRole struct {
	// Role is PIIRoleActor or a PIIRoleTarget.
	Role string
	// Subject is whom the role is about, when known: the actor's key
	// (Event.ActorKey) for a "user" actor, "user:<id>" for a target. It is
	// kept beside the event, never in the leaf.
	Subject string
	// Values is P_R: each personal value of the role, keyed by its RFC 6901
	// JSON Pointer in the event, in canonical (RFC 8785) JSON. It is empty for
	// a role whose values a verifier does not have.
	Values map[string]json.RawMessage
	// Salt is S_R, or nil when unknown.
	Salt []byte
	// Commitment is C_R, lowercase hex SHA-256(S_R || JCS(P_R)).
	Commitment string
}

// PIICommitment is one role's member of the "pii" object of an event answer:
// the commitment, the salt for callers allowed to see personal data, and
// whether the subject was erased. Salt is written as standard base64.
type PIICommitment struct {
	Commitment string `json:"commitment"`
	Salt       []byte `json:"salt,omitempty"`
	Erased     bool   `json:"erased,omitempty"`
}

// Commit returns C_R for a role's values and salt: lowercase hex
// SHA-256(salt || JCS(values)).
func Commit(values map[string]json.RawMessage, salt []byte) (string, error) {
	if len(salt) != SaltSize {
		return "", Errorf(EINVALID, "leaf: a salt must have %d bytes, not %d", SaltSize, len(salt))
	}
	canon, err := commitJCS(values)
	if err != nil {
		return "", fmt.Errorf("leaf: personal values: %w", err)
	}
	h := sha256.New()
	h.Write(salt)
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SplitPII separates an event's personal values from the rest. It returns a
// copy of e without them (and without empty schema objects, as in the leaf)
// and the roles that hold values, "/actor" first and then targets in order,
// with Role, Subject and Values set. personalFields are the change fields
// that are personal; nil means DefaultPersonalFields (pass an empty slice for
// none). e is not modified.
func SplitPII(e *Event, personalFields []string) (public *Event, roles []PIIRole, err error) {
	if personalFields == nil {
		personalFields = DefaultPersonalFields()
	}
	p := clonePII(e)
	prune(p)
	// add records v at ptr under role; str moves a non-empty string there.
	add := func(role, ptr string, v any) {
		// Each value is written in its canonical form directly (leafjcs.go).
		var b []byte
		var jerr error
		switch v := v.(type) {
		case string:
			b, jerr = jsontext.AppendQuote(nil, v)
		case *Location:
			w := jcsWriter{}
			w.location(v)
			b, jerr = w.buf, w.err
		case json.RawMessage:
			if isCanonicalScalar(v) {
				b = v
			} else {
				b, jerr = canonicalJSON(v)
			}
		}
		if jerr != nil || b == nil {
			if err == nil {
				err = Errorf(EINVALID, "leaf: the personal value at %s is not valid JSON", ptr)
			}
			return
		}
		i := slices.IndexFunc(roles, func(r PIIRole) bool { return r.Role == role })
		if i < 0 {
			roles = append(roles, PIIRole{Role: role, Subject: roleSubject(e, role), Values: map[string]json.RawMessage{}})
			i = len(roles) - 1
		}
		roles[i].Values[ptr] = b
	}
	str := func(role, ptr string, s *string) {
		if *s != "" {
			add(role, ptr, *s)
			*s = ""
		}
	}
	if a := p.Actor; a != nil {
		str(PIIRoleActor, "/actor/name", &a.Name)
		str(PIIRoleActor, "/actor/email", &a.Email)
		if a.Impersonator != nil {
			str(PIIRoleActor, "/actor/impersonator/name", &a.Impersonator.Name)
		}
	}
	if c := p.Context; c != nil {
		str(PIIRoleActor, "/context/ip", &c.IP)
		str(PIIRoleActor, "/context/user_agent", &c.UserAgent)
		if c.Location != nil {
			add(PIIRoleActor, "/context/location", c.Location)
			c.Location = nil
		}
	}
	changeRole := PIIRoleActor // the first user target's, if any
	for i := range p.Targets {
		if p.Targets[i].Type == "user" {
			if changeRole == PIIRoleActor {
				changeRole = PIIRoleTarget(i)
			}
			str(PIIRoleTarget(i), PIIRoleTarget(i)+"/name", &p.Targets[i].Name)
		}
	}
	for i := range p.Changes {
		if c := &p.Changes[i]; slices.Contains(personalFields, c.Field) {
			for j, v := range []*json.RawMessage{&c.Old, &c.New} {
				if len(*v) > 0 {
					add(changeRole, "/changes/"+strconv.Itoa(i)+[]string{"/old", "/new"}[j], *v)
					*v = nil
				}
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	prune(p)
	slices.SortFunc(roles, func(a, b PIIRole) int { return compareRoles(a.Role, b.Role) })
	return p, roles, nil
}

// EncodeLeaf returns the leaf of a stored event (see the steps above) and
// the roles it committed to, with Salt and Commitment set. salts supplies
// S_R by role; a role it lacks gets fresh random bytes, so production callers
// pass nil and tests pass fixed salts. personalFields is as for SplitPII. e
// must have its defaults applied and its ID, Tenant, Seq and ReceivedAt set.
func EncodeLeaf(e *Event, salts map[string][]byte, personalFields []string) (leaf []byte, roles []PIIRole, err error) {
	leaf, roles, _, err = encodeLeafParts(e, salts, personalFields)
	return leaf, roles, err
}

// encodeLeafParts is EncodeLeaf that also returns the event without its
// personal values, which stores keep as the body.
func encodeLeafParts(e *Event, salts map[string][]byte, personalFields []string) (leaf []byte, roles []PIIRole, public *Event, err error) {
	if err := checkLeafEvent(e); err != nil {
		return nil, nil, nil, err
	}
	public, roles, err = SplitPII(e, personalFields)
	if err != nil {
		return nil, nil, nil, err
	}
	commitments := make(map[string]string, len(roles))
	for i := range roles {
		r := &roles[i]
		r.Salt = salts[r.Role]
		if r.Salt == nil {
			r.Salt = make([]byte, SaltSize)
			if _, err := rand.Read(r.Salt); err != nil {
				return nil, nil, nil, fmt.Errorf("leaf: drawing a salt: %w", err)
			}
		}
		if r.Commitment, err = Commit(r.Values, r.Salt); err != nil {
			return nil, nil, nil, err
		}
		commitments[r.Role] = r.Commitment
	}
	leaf, err = encodeLeaf(public, commitments)
	return leaf, roles, public, err
}

// RebuildLeaf returns the leaf of an event as an answer shows it (DESIGN §2):
// e holds the values the caller may see, pii the answer's "pii" member. It is
// what a verifier checks against leaf_hash and the proofs.
//
// Every role that holds values in e must have an entry in pii that is not
// erased. Where the entry carries a salt, the values are checked against the
// commitment and the returned role has Salt set; otherwise the commitment is
// taken as given and the values are unchecked. Entries for roles without
// values in e (hidden or erased) contribute their commitments alone. The
// error is EINVALID for an inconsistent answer. personalFields must be the
// set the tenant used when the event was stored (nil means
// DefaultPersonalFields), and e must not carry a description generated at
// read time, which no leaf holds.
func RebuildLeaf(e *Event, pii map[string]PIICommitment, personalFields []string) (leaf []byte, roles []PIIRole, err error) {
	if err := checkLeafEvent(e); err != nil {
		return nil, nil, err
	}
	public, roles, err := SplitPII(e, personalFields)
	if err != nil {
		return nil, nil, err
	}
	commitments := make(map[string]string, len(pii))
	for role, c := range pii {
		if !validRole(role, len(e.Targets)) {
			return nil, nil, Errorf(EINVALID, "leaf: pii names the role %.40q, which this event does not have", role)
		}
		if len(c.Commitment) != 2*sha256.Size || strings.Trim(c.Commitment, "0123456789abcdef") != "" {
			return nil, nil, Errorf(EINVALID, "leaf: the commitment of role %s is not lowercase hex SHA-256", role)
		}
		commitments[role] = c.Commitment
	}
	for i := range roles {
		r := &roles[i]
		c, ok := pii[r.Role]
		switch {
		case !ok:
			return nil, nil, Errorf(EINVALID, "leaf: role %s holds personal values but pii has no commitment for it", r.Role)
		case c.Erased:
			return nil, nil, Errorf(EINVALID, "leaf: role %s is erased but still holds personal values", r.Role)
		}
		r.Commitment = c.Commitment
		if c.Salt == nil {
			continue
		}
		got, err := Commit(r.Values, c.Salt)
		if err != nil {
			return nil, nil, err
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(c.Commitment)) != 1 {
			return nil, nil, Errorf(EINVALID, "leaf: the personal values of role %s do not match its commitment", r.Role)
		}
		r.Salt = c.Salt
	}
	for role, c := range pii {
		if !slices.ContainsFunc(roles, func(r PIIRole) bool { return r.Role == role }) {
			roles = append(roles, PIIRole{Role: role, Subject: roleSubject(e, role), Commitment: c.Commitment})
		}
	}
	slices.SortFunc(roles, func(a, b PIIRole) int { return compareRoles(a.Role, b.Role) })
	leaf, err = encodeLeaf(public, commitments)
	return leaf, roles, err
}

// LeafFromAnswer is RebuildLeaf for an event answer as JSON: the event's
// members and its "pii" member. Members that are not event fields, such as
// leaf_hash, key_id or proof, are ignored.
func LeafFromAnswer(answer []byte, personalFields []string) (leaf []byte, roles []PIIRole, err error) {
	var a struct {
		Event
		PII map[string]PIICommitment `json:"pii"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return nil, nil, Errorf(EINVALID, "leaf: the event answer is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return RebuildLeaf(&a.Event, a.PII, personalFields)
}

// JoinPII returns a copy of public with the roles' values put back at their
// pointers: the inverse of SplitPII. Roles without values are skipped. It
// fails for a pointer that SplitPII does not produce or that public lacks the
// place for. public is not modified.
func JoinPII(public *Event, roles []PIIRole) (*Event, error) {
	e := clonePII(public)
	for _, r := range roles {
		for ptr, v := range r.Values {
			if err := setPersonal(e, ptr, v); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// setPersonal stores the personal value v at ptr in e, which clonePII made.
func setPersonal(e *Event, ptr string, v json.RawMessage) error {
	bad := Errorf(EINVALID, "leaf: %.60q is not a personal value's place in this event", ptr)
	var dst any
	switch ptr {
	case "/actor/name", "/actor/email", "/actor/impersonator/name":
		switch {
		case e.Actor == nil:
			return bad
		case ptr == "/actor/name":
			dst = &e.Actor.Name
		case ptr == "/actor/email":
			dst = &e.Actor.Email
		case e.Actor.Impersonator == nil:
			return bad
		default:
			dst = &e.Actor.Impersonator.Name
		}
	case "/context/ip", "/context/user_agent", "/context/location":
		if e.Context == nil {
			e.Context = &Context{}
		}
		switch ptr {
		case "/context/ip":
			dst = &e.Context.IP
		case "/context/user_agent":
			dst = &e.Context.UserAgent
		default:
			e.Context.Location = &Location{}
			dst = e.Context.Location
		}
	default:
		// "/targets/<i>/name", "/changes/<i>/old" or "/changes/<i>/new"
		parts := strings.Split(ptr, "/")
		if len(parts) != 4 || parts[0] != "" {
			return bad
		}
		i, err := strconv.Atoi(parts[2])
		if err != nil || i < 0 || parts[2] != strconv.Itoa(i) {
			return bad
		}
		switch where := parts[1] + "/" + parts[3]; {
		case where == "targets/name" && i < len(e.Targets):
			dst = &e.Targets[i].Name
		case where == "changes/old" && i < len(e.Changes):
			e.Changes[i].Old = bytes.Clone(v)
			return nil
		case where == "changes/new" && i < len(e.Changes):
			e.Changes[i].New = bytes.Clone(v)
			return nil
		default:
			return bad
		}
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return Errorf(EINVALID, "leaf: the personal value at %s has the wrong type", ptr)
	}
	return nil
}

// checkLeafEvent checks that e is a stored event: defaults applied, server
// fields assigned.
func checkLeafEvent(e *Event) error {
	var missing []string
	for _, f := range [...]struct {
		name  string
		empty bool
	}{
		{"action", e.Action == ""}, {"category", e.Category == ""}, {"id", e.ID == ""},
		{"outcome", e.Outcome == ""}, {"received_at", e.ReceivedAt.IsZero()}, {"seq", e.Seq < 0},
		{"severity", e.Severity == ""}, {"tenant", e.Tenant == ""}, {"time", e.Time.IsZero()},
	} {
		if f.empty {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Errorf(EINVALID, "leaf: the event is not a stored event: %s unset", strings.Join(missing, ", "))
	}
	return nil
}

// clonePII copies e deeply enough that SplitPII and JoinPII may change the
// copy's personal values and empty objects without touching e.
func clonePII(e *Event) *Event {
	p := *e
	if e.Actor != nil {
		a := *e.Actor
		if a.Impersonator != nil {
			im := *a.Impersonator
			a.Impersonator = &im
		}
		p.Actor = &a
	}
	if e.Context != nil {
		c := *e.Context
		p.Context = &c
	}
	p.Targets = slices.Clone(e.Targets)
	p.Changes = slices.Clone(e.Changes)
	return &p
}

// prune drops the schema objects left empty and metadata that is null.
func prune(p *Event) {
	if a := p.Actor; a != nil {
		if a.Auth != nil && *a.Auth == (Auth{}) {
			a.Auth = nil
		}
		if a.Impersonator != nil && *a.Impersonator == (Impersonator{}) {
			a.Impersonator = nil
		}
	}
	if c := p.Context; c != nil {
		if c.Location != nil && *c.Location == (Location{}) {
			c.Location = nil
		}
		if *c == (Context{}) {
			p.Context = nil
		}
	}
	if p.Service != nil && *p.Service == (Service{}) {
		p.Service = nil
	}
	if m := bytes.TrimSpace(p.Metadata); len(m) == 0 || string(m) == "null" {
		p.Metadata = nil
	}
}

// roleSubject returns whom a role of e is about, or "".
func roleSubject(e *Event, role string) string {
	if role == PIIRoleActor {
		if e.Actor != nil && e.Actor.Type == ActorUser {
			return e.ActorKey()
		}
		return ""
	}
	i, err := strconv.Atoi(strings.TrimPrefix(role, "/targets/"))
	if err != nil || i < 0 || i >= len(e.Targets) || e.Targets[i].Type != "user" {
		return ""
	}
	return "user:" + e.Targets[i].ID
}

// validRole reports whether role is PIIRoleActor or PIIRoleTarget(i) for one of
// n targets.
func validRole(role string, n int) bool {
	if role == PIIRoleActor {
		return true
	}
	s, ok := strings.CutPrefix(role, "/targets/")
	i, err := strconv.Atoi(s)
	return ok && err == nil && i >= 0 && i < n && s == strconv.Itoa(i)
}

// compareRoles orders "/actor" first, then targets by index.
func compareRoles(a, b string) int {
	key := func(r string) int {
		if r == PIIRoleActor {
			return -1
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(r, "/targets/"))
		return i
	}
	if c := key(a) - key(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
