package hashtrail

import (
	"context"
	"encoding/json"
)

// TenantConfig is one configuration document of a tenant, such as its
// action catalog (ConfigCatalog). The engine owns each kind's JSON schema;
// stores keep the bytes as given. Version counts the document's changes,
// starting at 1, for optimistic concurrency: an update names the version
// it replaces.
type TenantConfig struct {
	Tenant string `json:"tenant"`
	Kind   string `json:"kind"`
	// Version is 1 for the first document of its kind, then one more for
	// each change.
	Version int64 `json:"version"`
	// Value is the document, a JSON value.
	Value json.RawMessage `json:"value"`
	// UpdatedAt is when this version was stored; UpdatedBy the key (or
	// other principal) that stored it.
	UpdatedAt Time   `json:"updated_at"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// The kinds of tenant configuration documents.
const (
	// ConfigCatalog is the tenant's action catalog: registered actions with
	// their defaults and metadata schema, and whether unknown actions are
	// accepted.
	ConfigCatalog = "catalog"
)

// TenantConfigStore keeps tenants' configuration documents, the latest
// version of each kind. Deleting a tenant deletes its documents.
type TenantConfigStore interface {
	// TenantConfig returns tenant's document of kind, or ENOTFOUND when the
	// tenant has none (or does not exist).
	TenantConfig(ctx context.Context, tenant, kind string) (*TenantConfig, error)
	// PutTenantConfig stores c.Value as the next version of c.Tenant's
	// document of c.Kind, provided the stored version is c.Version (0 when
	// there must be none yet): ECONFLICT otherwise, so two concurrent
	// updates cannot both win. On success c.Version is the new version and
	// c.UpdatedAt is set if zero. ENOTFOUND for an unknown tenant; EINVALID
	// when Value is not JSON or Kind is empty.
	PutTenantConfig(ctx context.Context, c *TenantConfig) error
	// DeleteTenantConfig removes tenant's document of kind; a no-op when
	// there is none.
	DeleteTenantConfig(ctx context.Context, tenant, kind string) error
}
