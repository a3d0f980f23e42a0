package ui

// ownSentences tell the events Hashtrail records about its own
// administration (DESIGN §1: administrative acts are events in the tenant's
// own log, or in the reserved tenant's), which are not in the standard
// catalog. Each names its object as the event's one target. The embeddable
// viewer tells them with its generic sentence: they are for operators, who
// read them here.
var ownSentences = map[string]string{
	"tenant.create":           "{actor} created tenant {targets}",
	"tenant.update":           "{actor} updated tenant {targets}{fields}",
	"tenant.delete":           "{actor} deleted tenant {targets}",
	"tenant.suspend":          "{actor} suspended tenant {targets}",
	"tenant.resume":           "{actor} resumed tenant {targets}",
	"tenant.quota":            "{actor} set the daily event quota of {targets}",
	"api_key.rotate":          "{actor} rotated API key {t:api_key}",
	"viewer_token.create":     "{actor} minted viewer token {targets}",
	"viewer_token.revoke":     "{actor} revoked viewer token {targets}",
	"saved_search.create":     "{actor} saved the search {targets}",
	"saved_search.update":     "{actor} changed the saved search {targets}",
	"saved_search.delete":     "{actor} deleted the saved search {targets}",
	"legal_hold.create":       "{actor} set legal hold {targets}",
	"legal_hold.remove":       "{actor} lifted legal hold {targets}",
	"retention.update":        "{actor} changed the retention policy",
	"retention.floor_update":  "{actor} changed the installation's retention floor",
	"catalog.update":          "{actor} replaced the action catalog",
	"catalog.action_register": "{actor} registered {targets} in the action catalog",
	"catalog.action_remove":   "{actor} removed {targets} from the action catalog",
	"redaction.update":        "{actor} changed the redaction rules",
	"read_audit.update":       "{actor} changed the audit of reads",
	"sink.create":             "{actor} created sink {targets}",
	"sink.update":             "{actor} changed sink {targets}",
	"sink.delete":             "{actor} deleted sink {targets}",
	"sink.pause":              "{actor} paused sink {targets}",
	"sink.resume":             "{actor} resumed sink {targets}",
	"sink.replay":             "{actor} replayed history to sink {targets}",
	"alert.create":            "{actor} created alert rule {targets}",
	"alert.update":            "{actor} changed alert rule {targets}",
	"alert.delete":            "{actor} deleted alert rule {targets}",
	"alert.disable":           "{actor} disabled alert rule {targets}",
	"digest.update":           "{actor} changed the digest emails",
	"digest.send":             "{actor} sent the digest email",
	"subject.access_export":   "{actor} exported everything about a data subject",
	"system.alert_fired":      "Alert rule {targets} fired",
	"system.sink_paused":      "Sink {targets} was paused after repeated failures",
	"system.backup":           "A backup of the store was taken",
	"system.startup":          "Hashtrail started",
}
