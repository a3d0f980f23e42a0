package ledger

import (
	"context"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
)

// ActionSinkPaused is the action of the event that records a pause the
// sink dispatcher made itself.
const ActionSinkPaused = "system.sink_paused"

// maxPauseReason bounds the reason a system pause records.
const maxPauseReason = 500

// RecordSinkPaused records in tenant's log that the dispatcher paused sink
// s itself (after too many failed deliveries, or a permanent error), as an
// admin's pause is recorded (sink.pause): category system, actor the
// system, the sink as target, and the reason the sink shows, cut to 500
// bytes. It matches sink.Config.Paused; failures are logged, not returned,
// since the pause itself stands.
func (l *Ledger) RecordSinkPaused(ctx context.Context, s *hashtrail.SinkConfig, tenant, reason string) {
	if tenant == "" || tenant == hashtrail.AllTenants {
		tenant = auditTenant(s.Tenant)
	}
	if len(reason) > maxPauseReason {
		reason = reason[:maxPauseReason]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	name := s.Type
	if s.Name != "" {
		name = s.Name + " (" + s.Type + ")"
	}
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Tenant: tenant, Action: ActionSinkPaused,
		Category: hashtrail.CategorySystem, Severity: hashtrail.SeverityHigh, Outcome: hashtrail.OutcomeSuccess,
		Reason: reason, Actor: &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail"},
		Targets: []hashtrail.Target{{Type: "sink", ID: s.ID, Name: name}},
		Context: &hashtrail.Context{Source: "hashtrail"}, KeyID: "sinks",
	}
	g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{{Event: ev, ContentHash: hashtrail.HashKey(ev.ID)}}}
	if err := l.append(ctx, g); err != nil {
		l.log.Error("recording a sink's pause failed", "sink", s.ID, "tenant", tenant, "err", err)
	}
}
