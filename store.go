package hashtrail

import "context"

// Entry is one event to append.
type Entry struct {
	// Event is validated, has its defaults, ID, Tenant, ReceivedAt and KeyID
	// set. The store sets Seq and, sealing the entry (Seal), LeafHash; any
	// LeafHash the caller set is replaced.
	Event *Event
	// ContentHash identifies the event as submitted, for idempotency.
	ContentHash []byte
	// Salts give S_R for each personal-data role (DESIGN §2); roles without
	// one get fresh random salts from Seal, which production relies on.
	Salts map[string][]byte
	// PersonalFields are the change fields the tenant marks personal; nil
	// means DefaultPersonalFields.
	PersonalFields []string
	// Replayed is set by the store when an event with the same tenant, id and
	// content already existed: then Event.Seq, ReceivedAt and LeafHash are the
	// original's and nothing new was written for this entry.
	Replayed bool
}

// AppendGroup is the events of one request: written all together or not at all.
type AppendGroup struct {
	Entries []*Entry
	// CreateTenants creates a tenant that does not exist yet instead of failing.
	CreateTenants bool
	// Err is set by the store when the group failed as a whole and nothing of
	// it was written: ECONFLICT when an id exists with other content,
	// ENOTFOUND when a tenant is missing and CreateTenants is false, EINVALID
	// when an event cannot be sealed (it lacks a field the leaf needs).
	Err error
}

// EventStore keeps the per-tenant event logs.
type EventStore interface {
	// Append writes the groups in one transaction and returns only once that
	// transaction is durable (fsynced). Groups are applied in order, so a
	// later group sees the events of an earlier one; each group succeeds or
	// fails whole (see AppendGroup.Err) without affecting the others. Each new
	// event gets the next seq of its tenant's log, so seq is gapless, and is
	// sealed (Entry.Seal) once its seq is known: in the same transaction the
	// store keeps the event without its personal values, the values by role
	// with their salts and commitments (erasable), the leaf hash, and the
	// stored hashes the leaf adds to its tenant's Merkle tree (LogStore). A
	// replay returns the original's LeafHash. A non-nil error means that
	// nothing at all was written. Append is safe for concurrent use, though
	// the engine calls it from one goroutine.
	Append(ctx context.Context, groups []*AppendGroup) error
	// Events returns at most q.Limit events of q.Tenant that match q, in
	// q.Order by seq. Events come as Event describes them: personal values
	// put back where they were, and PII holding each role's commitment with
	// its salt, or with Erased once the role's values were erased, so that
	// RebuildLeaf(e, e.PII, personalFields) gives the leaf whose hash is
	// e.LeafHash.
	Events(ctx context.Context, q *Query) ([]*Event, error)
	// Event returns the event of tenant with the given id, as Events does,
	// or ENOTFOUND.
	Event(ctx context.Context, tenant, id string) (*Event, error)
}

// TenantStore keeps tenants.
type TenantStore interface {
	// CreateTenant adds t, setting CreatedAt if zero; ECONFLICT if it exists.
	CreateTenant(ctx context.Context, t *Tenant) error
	// Tenant returns one tenant with its log size, or ENOTFOUND (also for
	// a deleted tenant; one being deleted has State TenantDeleting).
	Tenant(ctx context.Context, id string) (*Tenant, error)
	// Tenants returns every active tenant ordered by id (none being
	// deleted or deleted).
	Tenants(ctx context.Context) ([]*Tenant, error)
	// UpdateTenant changes the tenant's name; ENOTFOUND if it does not exist.
	UpdateTenant(ctx context.Context, t *Tenant) error
	// DeleteTenant removes a tenant with an empty log and its keys; ENOTFOUND
	// if it does not exist, ECONFLICT if its log holds events (a tenant with
	// events is deleted through TenantEraser, after a final export).
	DeleteTenant(ctx context.Context, id string) error
}

// KeyStore keeps API keys. Secrets are never stored, only their hashes.
type KeyStore interface {
	// CreateKey adds k; ECONFLICT if its ID or hash exists.
	CreateKey(ctx context.Context, k *APIKey) error
	// KeyByHash returns the key whose secret hashes to hash, or ENOTFOUND.
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// Key returns one key by id, or ENOTFOUND.
	Key(ctx context.Context, id string) (*APIKey, error)
	// Keys returns the keys of a tenant (AllTenants for the installation-wide
	// ones, "" for every key), oldest first.
	Keys(ctx context.Context, tenant string) ([]*APIKey, error)
	// RevokeKey marks a key revoked at at (which may be in the future, as
	// when a rotation leaves the old key a grace period); revoking again
	// keeps the earliest time. ENOTFOUND if unknown.
	RevokeKey(ctx context.Context, id string, at Time) error
	// TouchKey records that the key was used at at.
	TouchKey(ctx context.Context, id string, at Time) error
}

// SettingStore keeps installation-wide settings such as the server name.
type SettingStore interface {
	// Setting returns a setting's value, or ENOTFOUND.
	Setting(ctx context.Context, name string) (string, error)
	// InitSetting stores value under name unless a value exists, and returns
	// the value in force: the first writer wins, forever.
	InitSetting(ctx context.Context, name, value string) (string, error)
	// SetSetting stores value under name, replacing any value (for settings
	// that may change, unlike those kept with InitSetting).
	SetSetting(ctx context.Context, name, value string) error
}

// Store is everything the engine needs kept. Implementations must pass
// store/storetest.
type Store interface {
	EventStore
	TenantStore
	KeyStore
	SettingStore
	LogStore
	InstallationLogStore
	LeaseStore
	TenantConfigStore
	EventPurger
	SinkStore
	SubjectStore
	StatsStore
	// Ping reports whether the store can serve requests (for /readyz).
	Ping(ctx context.Context) error
	// Size returns the store's size on disk in bytes, for metrics.
	Size(ctx context.Context) (int64, error)
	// Close releases the store; it must be called once, after the last use.
	Close() error
}
