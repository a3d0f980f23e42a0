package ledger

import (
	"context"
	"encoding/json"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// forgetAlertSubject removes what tenant's alert rules remember of a
// subject erased from its log: the groups keyed by the subject (an actor
// "user:42", or "email:<address>" and the bare address for an email
// subject), with the values seen for them, and the clear group key of the
// firings still in the outbox. The node evaluating the tenant notices the
// change (its next save conflicts) and reloads. Failures are logged: the
// erasure itself stands, and what rules remember is bounded and forgotten
// in time anyway.
func (l *Ledger) forgetAlertSubject(ctx context.Context, tenant, subject string) {
	keys := map[string]bool{subject: true}
	if addr, ok := strings.CutPrefix(subject, "email:"); ok {
		keys[strings.ToLower(addr)] = true
		keys["email:"+strings.ToLower(addr)] = true
	}
	for range 5 {
		c, err := l.store.TenantConfig(ctx, tenant, configAlertState)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			return
		}
		if err != nil {
			l.log.Warn("alerts: forgetting an erased subject", "tenant", tenant, "err", err)
			return
		}
		var st alertState
		if err := json.Unmarshal(c.Value, &st); err != nil {
			return
		}
		changed := false
		for _, rs := range st.Rules {
			for k := range rs.Groups {
				if keys[k] {
					delete(rs.Groups, k)
					changed = true
				}
			}
		}
		for _, p := range st.Outbox {
			if keys[p.Group] {
				p.Group, p.Value, changed = "", "", true
			}
		}
		if !changed {
			return
		}
		b, err := json.Marshal(&st)
		if err != nil {
			return
		}
		c.Value, c.UpdatedAt, c.UpdatedBy = b, l.clock(), "erasure"
		err = l.store.PutTenantConfig(ctx, c)
		if err == nil {
			return
		}
		if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
			l.log.Warn("alerts: forgetting an erased subject", "tenant", tenant, "err", err)
			return
		}
	}
}
