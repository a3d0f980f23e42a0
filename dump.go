package hashtrail

import "context"

// Dumper is implemented by stores whose whole content can be read out, so
// an installation can be copied into another store (`hashtrail
// migrate-store`) or compared with one. It is optional: the engine never
// needs it, and Store does not include it. It covers what Store's own
// methods cannot enumerate; everything else (tenants, events, checkpoints,
// keys) is read through Store. Reads see committed data; a store that is
// being written to meanwhile may answer each call from a later state.
type Dumper interface {
	// Settings returns every setting (SettingStore), by name.
	Settings(ctx context.Context) (map[string]string, error)
	// ContentHashes returns the idempotency content hashes
	// (Entry.ContentHash) of tenant's events with from <= seq < to, by
	// seq; a seq the log does not hold is absent. ENOTFOUND for an unknown
	// tenant.
	ContentHashes(ctx context.Context, tenant string, from, to int64) (map[int64][]byte, error)
	// InstallationEntries returns the entries of the installation log with
	// from <= index < to, in index order (fewer when the log is shorter).
	InstallationEntries(ctx context.Context, from, to int64) ([]*InstallationEntry, error)
	// InstallationCheckpoints returns every checkpoint of the installation
	// log, smallest first (empty, not nil, when there is none).
	InstallationCheckpoints(ctx context.Context) ([]*SignedCheckpoint, error)
	// TenantConfigs returns every configuration document of tenant, by
	// kind (empty when it has none).
	TenantConfigs(ctx context.Context, tenant string) ([]*TenantConfig, error)
}
