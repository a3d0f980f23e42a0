package hashtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// CatalogMode says what a tenant's log accepts besides its catalog.
type CatalogMode string

// The catalog modes.
const (
	// CatalogOpen accepts any valid action, registered or not: the log is a
	// free-form logbook. The default.
	CatalogOpen CatalogMode = "open"
	// CatalogStrict accepts only actions of the standard catalog and the
	// tenant's registered ones; anything else is rejected with 400.
	CatalogStrict CatalogMode = "strict"
)

// Limits of a tenant catalog.
const (
	MaxCatalogActions     = 1000
	MaxMetadataSchemaSize = 64 << 10 // bytes of one action's metadata schema
)

// TenantCatalog is a tenant's own action catalog (stored as its
// ConfigCatalog document): the actions it registers and whether others are
// accepted. An event whose action is registered gets the action's
// category, severity and outcome where it names none, and its metadata
// must match the action's schema.
type TenantCatalog struct {
	Mode    CatalogMode  `json:"mode"`
	Actions []ActionSpec `json:"actions"`
	// Version is the stored document's version: 0 while the tenant has
	// none. An update names the version it replaces (optimistic
	// concurrency; ECONFLICT when another update came first).
	Version   int64  `json:"version"`
	UpdatedAt Time   `json:"updated_at,omitzero"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// ActionSpec is one registered action.
type ActionSpec struct {
	Action string `json:"action"`
	// Category, Severity and Outcome are the defaults of an event of the
	// action that names none; empty leaves the usual defaults (DESIGN §1).
	Category    Category `json:"category,omitempty"`
	Severity    Severity `json:"severity,omitempty"`
	Outcome     Outcome  `json:"outcome,omitempty"`
	Description string   `json:"description,omitempty"`
	// MetadataSchema is a JSON Schema (draft 2020-12 unless it says
	// otherwise with $schema) the event's metadata must match; an event
	// without metadata is checked as {}. Empty accepts any metadata.
	MetadataSchema json.RawMessage `json:"metadata_schema,omitempty"`
}

// CatalogService manages tenants' action catalogs. Reading and changing one
// needs the admin role on the tenant; every change is recorded in the
// tenant's own log.
type CatalogService interface {
	// TenantCatalog returns the tenant's catalog; an empty open one with
	// version 0 when it has none.
	TenantCatalog(ctx context.Context, tenant string) (*TenantCatalog, error)
	// PutTenantCatalog replaces the tenant's catalog with c, provided the
	// stored version is c.Version (0: none yet), else ECONFLICT. EINVALID
	// names each wrong field, such as a schema that does not compile.
	PutTenantCatalog(ctx context.Context, tenant string, c *TenantCatalog) (*TenantCatalog, error)
	// PutCatalogAction registers or replaces one action. version, if not
	// 0, is the catalog version it must replace (else ECONFLICT).
	PutCatalogAction(ctx context.Context, tenant string, a *ActionSpec, version int64) (*TenantCatalog, error)
	// DeleteCatalogAction removes one action (ENOTFOUND if not registered);
	// version as for PutCatalogAction.
	DeleteCatalogAction(ctx context.Context, tenant, action string, version int64) (*TenantCatalog, error)
}

// Validate checks c's fields but not the schemas' meaning (the engine
// compiles them) and returns every violation.
func (c *TenantCatalog) Validate() []FieldError {
	v := &validator{}
	if c.Mode != "" && c.Mode != CatalogOpen && c.Mode != CatalogStrict {
		v.add("mode", "must be open or strict")
	}
	if len(c.Actions) > MaxCatalogActions {
		v.add("actions", fmt.Sprintf("has %d actions; the limit is %d", len(c.Actions), MaxCatalogActions))
	}
	seen := make(map[string]bool, len(c.Actions))
	for i := range c.Actions {
		p := fmt.Sprintf("actions[%d]", i)
		c.Actions[i].validate(v, p)
		if a := c.Actions[i].Action; seen[a] {
			v.add(p+".action", fmt.Sprintf("%s is listed twice", a))
		} else {
			seen[a] = true
		}
	}
	return v.errs
}

// Validate checks one action's fields, with paths relative to it.
func (a *ActionSpec) Validate() []FieldError {
	v := &validator{}
	a.validate(v, "")
	return v.errs
}

func (a *ActionSpec) validate(v *validator, prefix string) {
	at := func(f string) string {
		if prefix == "" {
			return f
		}
		return prefix + "." + f
	}
	switch {
	case a.Action == "":
		v.add(at("action"), "is required")
	case !ValidAction(a.Action):
		v.add(at("action"), "must be dotted lowercase object.verb such as invoice.pay ([a-z0-9_]+(.[a-z0-9_]+)+)")
	case ReservedAction(a.Action):
		v.add(at("action"), "is reserved: only Hashtrail itself records "+a.Action)
	}
	if a.Category != "" && !a.Category.Valid() {
		v.add(at("category"), "must be one of "+joinEnum(Categories))
	}
	if a.Severity != "" && !a.Severity.Valid() {
		v.add(at("severity"), "must be one of "+joinEnum(Severities))
	}
	if a.Outcome != "" && !a.Outcome.Valid() {
		v.add(at("outcome"), "must be one of "+joinEnum(Outcomes))
	}
	v.text(at("description"), a.Description, maxText)
	if s := bytes.TrimSpace(a.MetadataSchema); len(s) > 0 {
		switch {
		case len(s) > MaxMetadataSchemaSize:
			v.add(at("metadata_schema"), fmt.Sprintf("is %d bytes; the limit is %d", len(s), MaxMetadataSchemaSize))
		case s[0] != '{' && !bytes.Equal(s, []byte("true")) && !bytes.Equal(s, []byte("false")):
			v.add(at("metadata_schema"), "must be a JSON Schema: an object (or true or false)")
		}
	}
}
