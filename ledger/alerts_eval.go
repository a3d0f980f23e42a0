package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// The evaluation of alert rules, pure: events in, firings out, with all it
// remembers in an alertState that is stored with the tenant's cursor, so
// that a restart resumes where the last node stopped and never fires
// twice for one event. Windows and cooldowns run on the events'
// received_at, which grows with seq, so evaluating the same log again
// gives the same firings; the clock only stamps firings.

// Bounds of what a rule remembers.
const (
	maxAlertGroups      = 5000 // groups per rule; the least recently seen is forgotten
	maxNoveltyValues    = 50   // values per novelty group; the oldest is forgotten
	alertGroupMissing   = ""   // an event without the grouped field is skipped
	firingIDPrefix      = "alert:"
	alertSystemCategory = hashtrail.CategorySystem
)

// alertState is the stored document of kind "alert-state".
type alertState struct {
	// Next is the seq of the first event not yet evaluated.
	Next  int64                 `json:"next"`
	Rules map[string]*ruleState `json:"rules,omitempty"`
	// Outbox holds firings decided but not yet recorded and notified.
	Outbox []*pendingFiring `json:"outbox,omitempty"`
}

// ruleState is what one rule remembers.
type ruleState struct {
	// Version identifies the rule's condition (conditionVersion): a rule
	// whose filter, threshold or novelty changes starts over; a new name,
	// cooldown or destination keeps what it remembers.
	Version int64                  `json:"version"`
	Groups  map[string]*groupState `json:"groups,omitempty"`
}

// groupState is what one rule remembers of one group.
type groupState struct {
	Hits         []alertHit `json:"hits,omitempty"`          // threshold: matching events in the window
	Seen         []string   `json:"seen,omitempty"`          // novelty: values seen, oldest first
	LastNotified int64      `json:"last_notified,omitempty"` // received_at micros of the last notified firing
	Suppressed   int        `json:"suppressed,omitempty"`    // firings suppressed since then
	Touched      int64      `json:"touched"`                 // received_at micros of the group's last event
}

// alertHit is one event counted towards a threshold.
type alertHit struct {
	At  int64  `json:"at"`
	Seq int64  `json:"seq"`
	ID  string `json:"id"`
}

// pendingFiring is a firing in the outbox, with what the notification
// carries besides the recorded firing.
type pendingFiring struct {
	Firing hashtrail.AlertFiring `json:"firing"`
	// Value is the group key or new value in clear (notifications only).
	Group string `json:"group,omitempty"`
	Value string `json:"value,omitempty"`
	// Sent is set once the notification went out (or failed for good),
	// so that a firing whose recording is retried is not notified again.
	Sent     bool   `json:"sent,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	NextTry  int64  `json:"next_try,omitempty"` // unix micros
	Errors   string `json:"errors,omitempty"`
}

// alertRuleEval is a rule ready to evaluate.
type alertRuleEval struct {
	rule        *hashtrail.AlertRule
	filter      *hashtrail.Query
	wantsSystem bool
	window      time.Duration
	cooldown    time.Duration
	since       int64 // created_at micros: the rule ignores older events
}

// compileAlertRules compiles the enabled rules; a rule that no longer compiles
// (it cannot, having been checked) is skipped.
func compileAlertRules(rules []*hashtrail.AlertRule) []*alertRuleEval {
	var out []*alertRuleEval
	for _, r := range rules {
		if r.Disabled {
			continue
		}
		f, err := compileAlertFilter(r.Filter)
		if err != nil {
			continue
		}
		c := &alertRuleEval{rule: r, filter: f, cooldown: defaultCooldown, since: r.CreatedAt.Micros()}
		if r.Cooldown != "" {
			c.cooldown, _ = time.ParseDuration(r.Cooldown)
		}
		if r.Threshold != nil {
			c.window, _ = time.ParseDuration(r.Threshold.Window)
		}
		c.wantsSystem = f != nil && asksForSystem(f)
		out = append(out, c)
	}
	return out
}

// asksForSystem reports whether a filter names system events positively.
func asksForSystem(q *hashtrail.Query) bool {
	for _, t := range q.AllTerms() {
		if t.Not {
			continue
		}
		for _, v := range t.Values {
			if t.Field == hashtrail.TermCategory && v == string(alertSystemCategory) ||
				t.Field == hashtrail.TermAction && strings.HasPrefix(v, "system.") {
				return true
			}
		}
	}
	return false
}

// evaluate runs rules over events (one tenant's, in seq order), updating
// st, and returns the new firings stamped now.
func evaluate(st *alertState, rules []*alertRuleEval, events []*hashtrail.Event, now time.Time) []*pendingFiring {
	if st.Rules == nil {
		st.Rules = map[string]*ruleState{}
	}
	live := map[string]bool{}
	for _, r := range rules {
		live[r.rule.ID] = true
		rs := st.Rules[r.rule.ID]
		if v := conditionVersion(r.rule); rs == nil || rs.Version != v {
			rs = &ruleState{Version: v}
			st.Rules[r.rule.ID] = rs
		}
		if rs.Groups == nil { // none stored
			rs.Groups = map[string]*groupState{}
		}
	}
	for id := range st.Rules {
		if !live[id] {
			delete(st.Rules, id)
		}
	}
	var out []*pendingFiring
	for _, e := range events {
		for _, r := range rules {
			if f := r.apply(st.Rules[r.rule.ID], e, now); f != nil {
				out = append(out, f)
			}
		}
	}
	for _, r := range rules {
		r.prune(st.Rules[r.rule.ID], events)
	}
	return out
}

// conditionVersion hashes what decides a rule's firings: its filter,
// threshold and novelty.
func conditionVersion(r *hashtrail.AlertRule) int64 {
	h := fnv.New64a()
	b, _ := json.Marshal(struct {
		F string
		T *hashtrail.AlertThreshold
		N *hashtrail.AlertNovelty
	}{r.Filter, r.Threshold, r.Novelty})
	h.Write(b)
	return int64(h.Sum64() >> 1)
}

// apply evaluates one event against one rule.
func (r *alertRuleEval) apply(rs *ruleState, e *hashtrail.Event, now time.Time) *pendingFiring {
	at := e.ReceivedAt.Micros()
	// Firings never feed rules, not even one that asks for system events:
	// a rule on its own (or another's) firings would fire forever.
	if at < r.since || e.Action == hashtrail.ActionAlertFired || e.Category == alertSystemCategory && !r.wantsSystem {
		return nil
	}
	if r.filter != nil && !r.filter.Match(e) {
		return nil
	}
	groupBy := ""
	switch {
	case r.rule.Threshold != nil:
		groupBy = r.rule.Threshold.GroupBy
	case r.rule.Novelty != nil:
		groupBy = r.rule.Novelty.Per
	}
	key := ""
	if groupBy != "" {
		if key = alertGroupKey(e, groupBy); key == alertGroupMissing {
			return nil
		}
	}
	g := rs.Groups[key]
	if g == nil {
		g = &groupState{}
		rs.Groups[key] = g
		evictGroups(rs)
	}
	g.Touched = at
	hit := alertHit{At: at, Seq: e.Seq, ID: e.ID}
	f := &pendingFiring{Group: key}
	switch {
	case r.rule.Threshold != nil:
		cut := at - r.window.Microseconds()
		g.Hits = slices.DeleteFunc(g.Hits, func(h alertHit) bool { return h.At <= cut })
		g.Hits = append(g.Hits, hit)
		if len(g.Hits) < r.rule.Threshold.Count {
			return nil
		}
		f.Firing.Count = len(g.Hits)
		f.Firing.FirstEvent, f.Firing.FirstSeq = g.Hits[0].ID, g.Hits[0].Seq
		f.Firing.Reason = fmt.Sprintf("%d events in %s", len(g.Hits), r.window)
		if groupBy != "" {
			f.Firing.Reason += " for one " + groupBy
		}
		g.Hits = nil
	case r.rule.Novelty != nil:
		v := noveltyValue(e, r.rule.Novelty.Field)
		if v == "" || slices.Contains(g.Seen, v) {
			return nil
		}
		first := len(g.Seen) == 0
		g.Seen = append(g.Seen, v)
		if len(g.Seen) > maxNoveltyValues {
			g.Seen = slices.Delete(g.Seen, 0, len(g.Seen)-maxNoveltyValues)
		}
		if first && !r.rule.Novelty.FirstSeen && groupBy != "" {
			return nil // a group's first value is its baseline
		}
		f.Value = v
		f.Firing.Count = 1
		f.Firing.FirstEvent, f.Firing.FirstSeq = e.ID, e.Seq
		f.Firing.Reason = "new " + r.rule.Novelty.Field
		if groupBy != "" {
			f.Firing.Reason += " for its " + groupBy
		}
	default:
		f.Firing.Count = 1
		f.Firing.FirstEvent, f.Firing.FirstSeq = e.ID, e.Seq
		f.Firing.Reason = "matching event"
	}
	f.Firing.LastEvent, f.Firing.LastSeq = e.ID, e.Seq
	f.Firing.Rule, f.Firing.Tenant = r.rule.ID, e.Tenant
	f.Firing.ID = firingIDPrefix + r.rule.ID + ":" + strconv.FormatInt(e.Seq, 10)
	f.Firing.FiredAt = hashtrail.NewTime(now)
	if personalGroup(groupBy) || strings.HasPrefix(key, "email:") {
		f.Firing.GroupHash = groupHash(e.Tenant, r.rule.ID, key)
	} else {
		f.Firing.Group = key
	}
	if g.LastNotified != 0 && at-g.LastNotified < r.cooldown.Microseconds() {
		g.Suppressed++
		return f // recorded, not notified
	}
	f.Firing.Notified, f.Firing.Suppressed = true, g.Suppressed
	g.LastNotified, g.Suppressed = at, 0
	return f
}

// prune forgets threshold groups with nothing left to remember after the
// last of events: no hits in the window and no cooldown running.
func (r *alertRuleEval) prune(rs *ruleState, events []*hashtrail.Event) {
	if len(events) == 0 || r.rule.Novelty != nil {
		return
	}
	at := events[len(events)-1].ReceivedAt.Micros()
	for k, g := range rs.Groups {
		g.Hits = slices.DeleteFunc(g.Hits, func(h alertHit) bool { return h.At <= at-r.window.Microseconds() })
		if len(g.Hits) == 0 && (g.LastNotified == 0 || at-g.LastNotified >= r.cooldown.Microseconds()) && g.Suppressed == 0 {
			delete(rs.Groups, k)
		}
	}
}

// evictGroups forgets the least recently seen groups past the bound.
func evictGroups(rs *ruleState) {
	for len(rs.Groups) > maxAlertGroups {
		oldest, at := "", int64(-1)
		for k, g := range rs.Groups {
			if g.Touched != 0 && (at < 0 || g.Touched < at) {
				oldest, at = k, g.Touched
			}
		}
		if at < 0 {
			return
		}
		delete(rs.Groups, oldest)
	}
}

// personalGroup reports whether a group key is personal data (DESIGN §1),
// which a firing commits only as a hash.
func personalGroup(field string) bool {
	switch field {
	case "actor.email", "ip", "country":
		return true
	}
	return false
}

// groupHash is the committed stand-in of a personal group key: stable per
// tenant and rule, so firings of one group can be told apart and matched
// against a known value, but the value cannot be read back.
func groupHash(tenant, rule, key string) string {
	h := sha256.Sum256([]byte(tenant + "\x00" + rule + "\x00" + key))
	return hex.EncodeToString(h[:12])
}

// alertGroupKey returns e's value of a group field, "" when it has none.
func alertGroupKey(e *hashtrail.Event, field string) string {
	switch field {
	case "actor":
		// As subjects are keyed (DESIGN §1): type:id, or email:<address>
		// when only an address is known (a failed login for an unknown
		// account).
		if e.Actor != nil && e.Actor.ID != "" {
			return string(e.Actor.Type) + ":" + e.Actor.ID
		}
		if e.Actor != nil && e.Actor.Email != "" {
			return "email:" + strings.ToLower(e.Actor.Email)
		}
	case "actor.email":
		if e.Actor != nil {
			return strings.ToLower(e.Actor.Email)
		}
	case "ip":
		if e.Context != nil {
			return e.Context.IP
		}
	case "target":
		if len(e.Targets) > 0 {
			return e.Targets[0].Key()
		}
	case "action":
		return e.Action
	case "api_key":
		return apiKeyOf(e)
	case "country":
		if e.Context != nil && e.Context.Location != nil {
			return strings.ToUpper(e.Context.Location.Country)
		}
	case "service":
		if e.Service != nil {
			return e.Service.Name
		}
	}
	return ""
}

// apiKeyOf returns the credential an event's actor used: its auth
// credential_id, or its id when the actor is an API key.
func apiKeyOf(e *hashtrail.Event) string {
	if e.Actor == nil {
		return ""
	}
	if e.Actor.Auth != nil && e.Actor.Auth.CredentialID != "" {
		return e.Actor.Auth.CredentialID
	}
	if e.Actor.Type == hashtrail.ActorAPIKey {
		return e.Actor.ID
	}
	return ""
}

// noveltyValue returns e's value of a novelty field, "" when it has none.
func noveltyValue(e *hashtrail.Event, field string) string {
	switch field {
	case "country":
		return alertGroupKey(e, "country")
	case "ip":
		return alertGroupKey(e, "ip")
	case "ip_range":
		a, err := netip.ParseAddr(alertGroupKey(e, "ip"))
		if err != nil {
			return ""
		}
		a = a.Unmap()
		bits := 48
		if a.Is4() {
			bits = 24
		}
		p, _ := a.Prefix(bits)
		return p.String()
	case "api_key":
		return apiKeyOf(e)
	case "user_agent":
		if e.Context != nil {
			return e.Context.UserAgent
		}
	}
	return ""
}
