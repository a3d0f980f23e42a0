package hashtrail

import "context"

// ActionDataExport is the action of the event that records an export in
// the exported tenant's own log.
const ActionDataExport = "data.export"

// ExportService starts exports (GET /v1/tenants/{t}/export). A LogService
// may implement it; the ledger does. Without it, an export is authorized by
// Events alone and not recorded.
type ExportService interface {
	// StartExport authorizes an export of q by the principal in ctx (as
	// Events does: read permission on q.Tenant, ENOTFOUND for a tenant it
	// cannot see) and records it in the tenant's log as a data.export event
	// naming the key, the format and the filter, before any event is read.
	// It returns that event's seq: the export reads the events before it,
	// a snapshot of the log as of its start.
	StartExport(ctx context.Context, q *Query, format, filter string) (seq int64, err error)
}
