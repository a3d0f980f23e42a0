package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// The actions of the events by which a log announces, before the deletion,
// that personal values or event bodies are about to be deleted lawfully
// (DESIGN §2). Only the server writes them; ingest must refuse them from
// clients.
const (
	ActionSubjectErased  = "system.subject_erased"
	ActionRetentionPurge = "system.retention_purge"
)

// SubjectErased is the metadata of a system.subject_erased event: the roles,
// by seq, whose personal values and salts an erasure deletes. It carries no
// personal data: not the subject, not even hashed (a hash of "user:42" is
// easy to guess), only positions in the log. Every seq is below the seq of
// the event itself, and Roles are sorted by seq, then role, without
// duplicates. An erasure with more roles than fit in one event's metadata
// (32 KiB, about 1,000 roles) is announced by several events.
//
//	{"roles": [{"seq": 12, "role": "/actor"}, {"seq": 40, "role": "/targets/0"}]}
type SubjectErased struct {
	Roles []ErasedRole `json:"roles"`
}

// ErasedRole is one role of one event: "/actor" or "/targets/<i>".
type ErasedRole struct {
	Seq  int64  `json:"seq"`
	Role string `json:"role"`
}

// RetentionPurge is the metadata of a system.retention_purge event: the
// ranges of seqs whose event bodies (and personal values) a purge deletes,
// keeping their leaf hashes, and the policy that decided it. Each range is
// [first, last], both included, first <= last < the seq of the event
// itself; ranges are sorted and do not overlap. Policy names the retention
// policy (for example "default" or "authentication:90d"); it is not
// interpreted.
//
//	{"ranges": [[0, 99], [120, 180]], "policy": "default:365d"}
type RetentionPurge struct {
	Ranges [][2]int64 `json:"ranges"`
	Policy string     `json:"policy"`
}

// Metadata returns the event metadata that announces m.
func (m *SubjectErased) Metadata() (json.RawMessage, error) { return json.Marshal(m) }

// Metadata returns the event metadata that announces m.
func (m *RetentionPurge) Metadata() (json.RawMessage, error) { return json.Marshal(m) }

// ParseSubjectErased reads the metadata of a system.subject_erased event
// and checks it against the event's own seq: every role names a valid role
// of an earlier event, in order, without duplicates.
func ParseSubjectErased(e *hashtrail.Event) (*SubjectErased, error) {
	if e.Action != ActionSubjectErased {
		return nil, fmt.Errorf("%s is not a %s event", e.Action, ActionSubjectErased)
	}
	var m SubjectErased
	if err := strictJSON(e.Metadata, &m); err != nil {
		return nil, fmt.Errorf("%s metadata: %w", ActionSubjectErased, err)
	}
	if len(m.Roles) == 0 {
		return nil, fmt.Errorf("%s metadata: no roles", ActionSubjectErased)
	}
	for i, r := range m.Roles {
		if r.Seq < 0 || r.Seq >= e.Seq {
			return nil, fmt.Errorf("%s metadata: roles[%d] names seq %d, not an earlier event", ActionSubjectErased, i, r.Seq)
		}
		if !validRoleName(r.Role) {
			return nil, fmt.Errorf("%s metadata: roles[%d] names the role %.40q", ActionSubjectErased, i, r.Role)
		}
		if i > 0 && compareErased(m.Roles[i-1], r) >= 0 {
			return nil, fmt.Errorf("%s metadata: roles are not sorted by seq and role without duplicates", ActionSubjectErased)
		}
	}
	return &m, nil
}

// ParseRetentionPurge reads the metadata of a system.retention_purge event
// and checks it against the event's own seq: sorted, disjoint ranges of
// earlier seqs.
func ParseRetentionPurge(e *hashtrail.Event) (*RetentionPurge, error) {
	if e.Action != ActionRetentionPurge {
		return nil, fmt.Errorf("%s is not a %s event", e.Action, ActionRetentionPurge)
	}
	var m RetentionPurge
	if err := strictJSON(e.Metadata, &m); err != nil {
		return nil, fmt.Errorf("%s metadata: %w", ActionRetentionPurge, err)
	}
	if len(m.Ranges) == 0 {
		return nil, fmt.Errorf("%s metadata: no ranges", ActionRetentionPurge)
	}
	for i, r := range m.Ranges {
		if r[0] < 0 || r[0] > r[1] || r[1] >= e.Seq {
			return nil, fmt.Errorf("%s metadata: ranges[%d] [%d, %d] is not a range of earlier seqs", ActionRetentionPurge, i, r[0], r[1])
		}
		if i > 0 && m.Ranges[i-1][1] >= r[0] {
			return nil, fmt.Errorf("%s metadata: ranges are not sorted and disjoint", ActionRetentionPurge)
		}
	}
	return &m, nil
}

// strictJSON decodes a JSON object into v. Members v does not know are
// allowed (a later format may add some); a missing or null object is not.
func strictJSON(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("not a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return err
	}
	return nil
}

func validRoleName(role string) bool {
	if role == hashtrail.PIIRoleActor {
		return true
	}
	s, ok := strings.CutPrefix(role, "/targets/")
	i, err := strconv.Atoi(s)
	return ok && err == nil && i >= 0 && s == strconv.Itoa(i)
}

func compareErased(a, b ErasedRole) int {
	if a.Seq != b.Seq {
		if a.Seq < b.Seq {
			return -1
		}
		return 1
	}
	return roleOrder(a.Role) - roleOrder(b.Role)
}

// roleOrder orders "/actor" first, then targets by index.
func roleOrder(r string) int {
	if r == hashtrail.PIIRoleActor {
		return -1
	}
	i, _ := strconv.Atoi(strings.TrimPrefix(r, "/targets/"))
	return i
}

// coverage collects what a log's system.subject_erased and
// system.retention_purge events announce, and what needs announcing: the
// erased roles and missing bodies a verifier met. resolve matches them.
type coverage struct {
	erased map[ErasedRole]int64 // role -> seq of the first event that announces it
	purges []seqRange           // announced ranges, with the announcing seq in by
	// needed
	roles  []ErasedRole
	bodies []seqRange // runs of missing bodies, in seq order
	ids    map[int64]string
}

type seqRange struct{ first, last, by int64 }

func newCoverage() *coverage {
	return &coverage{erased: map[ErasedRole]int64{}, ids: map[int64]string{}}
}

// announce records what e announces, if it is a valid coverage event.
func (c *coverage) announce(e *hashtrail.Event) {
	switch e.Action {
	case ActionSubjectErased:
		m, err := ParseSubjectErased(e)
		if err != nil {
			return
		}
		for _, r := range m.Roles {
			if _, ok := c.erased[r]; !ok {
				c.erased[r] = e.Seq
			}
		}
	case ActionRetentionPurge:
		m, err := ParseRetentionPurge(e)
		if err != nil {
			return
		}
		for _, r := range m.Ranges {
			c.purges = append(c.purges, seqRange{r[0], r[1], e.Seq})
		}
	}
}

// needRole records an erased role that an announcement must cover.
func (c *coverage) needRole(seq int64, role, id string) {
	c.roles = append(c.roles, ErasedRole{seq, role})
	c.ids[seq] = id
}

// needBody records a missing body that an announcement must cover.
func (c *coverage) needBody(seq int64) {
	if n := len(c.bodies); n > 0 && c.bodies[n-1].last == seq-1 {
		c.bodies[n-1].last = seq
		return
	}
	c.bodies = append(c.bodies, seqRange{first: seq, last: seq})
}

// uncovered is an erased role or missing body that no announcement covers.
type uncovered struct {
	seq  int64
	role string // "" for a missing body
	id   string
}

// resolve returns the first (lowest seq) erased role or missing body that no
// announcement made by an event below signed covers, if any.
func (c *coverage) resolve(signed int64) *uncovered {
	var first *uncovered
	consider := func(u uncovered) {
		if first == nil || u.seq < first.seq {
			first = &u
		}
	}
	for _, r := range c.roles {
		if by, ok := c.erased[r]; !ok || by >= signed {
			consider(uncovered{seq: r.Seq, role: r.Role, id: c.ids[r.Seq]})
			break // roles are met in seq order
		}
	}
	if len(c.bodies) > 0 {
		// Merge the announced ranges that are signed, then check each run.
		var ann []seqRange
		for _, p := range c.purges {
			if p.by < signed {
				ann = append(ann, p)
			}
		}
		slices.SortFunc(ann, func(a, b seqRange) int { return cmpInt(a.first, b.first) })
		var merged []seqRange
		for _, a := range ann {
			if n := len(merged); n > 0 && a.first <= merged[n-1].last+1 {
				merged[n-1].last = max(merged[n-1].last, a.last)
				continue
			}
			merged = append(merged, a)
		}
		for _, b := range c.bodies {
			if s, ok := firstUncovered(b, merged); ok {
				consider(uncovered{seq: s})
				break // bodies are met in seq order
			}
		}
	}
	return first
}

// firstUncovered returns the first seq of run b that no merged range covers.
func firstUncovered(b seqRange, merged []seqRange) (int64, bool) {
	s := b.first
	i, _ := slices.BinarySearchFunc(merged, s, func(r seqRange, s int64) int {
		if r.last < s {
			return -1
		}
		if r.first > s {
			return 1
		}
		return 0
	})
	for ; i < len(merged) && s <= b.last; i++ {
		if merged[i].first > s {
			return s, true
		}
		s = merged[i].last + 1
	}
	if s <= b.last {
		return s, true
	}
	return 0, false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
