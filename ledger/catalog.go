package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// catalogTTL is how long a tenant's compiled catalog is used without asking
// the store again: it bounds how long a change made on another node (all
// sharing one database) takes to apply here. A change made on this node
// applies at once.
const catalogTTL = 2 * time.Second

// maxSchemaErrors caps the metadata errors reported for one event.
const maxSchemaErrors = 20

// compiledCatalog is a tenant's catalog ready for ingest.
type compiledCatalog struct {
	mode    hashtrail.CatalogMode
	actions map[string]*compiledAction
}

type compiledAction struct {
	spec   hashtrail.ActionSpec
	schema *jsonschema.Schema // nil accepts any metadata
}

// catalogCache keeps each tenant's compiled catalog, or that it has none,
// for catalogTTL. Its zero value is ready to use.
type catalogCache struct {
	mu sync.Mutex
	m  map[string]*cachedCatalog
}

type cachedCatalog struct {
	cat     *compiledCatalog // nil: the tenant has no catalog
	expires time.Time
	loading bool // one caller is reloading it; the others use it meanwhile
}

// set installs cat for tenant, replacing whatever a reload in flight finds.
func (c *catalogCache) set(tenant string, cat *compiledCatalog, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*cachedCatalog{}
	}
	c.m[tenant] = &cachedCatalog{cat: cat, expires: now.Add(catalogTTL)}
}

// catalogFor returns tenant's compiled catalog, nil when it has none. It
// asks the store at most once per catalogTTL and tenant; while one caller
// reloads an expired entry, the others go on with the old one.
func (l *Ledger) catalogFor(ctx context.Context, tenant string) (*compiledCatalog, error) {
	now := l.now()
	c := &l.catalogs
	c.mu.Lock()
	e := c.m[tenant]
	if e != nil && (e.loading || now.Before(e.expires)) {
		c.mu.Unlock()
		return e.cat, nil
	}
	if e != nil {
		e.loading = true
	}
	c.mu.Unlock()

	cat, err := l.loadCatalog(ctx, tenant)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if e != nil {
			e.loading = false
			l.log.Warn("reloading a tenant catalog failed; using the cached one", "tenant", tenant, "err", err)
			return e.cat, nil
		}
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*cachedCatalog{}
	}
	if c.m[tenant] == e { // not replaced by a change meanwhile
		c.m[tenant] = &cachedCatalog{cat: cat, expires: now.Add(catalogTTL)}
	}
	return cat, nil
}

// loadCatalog reads and compiles tenant's catalog; nil when it has none.
func (l *Ledger) loadCatalog(ctx context.Context, tenant string) (*compiledCatalog, error) {
	doc, err := l.readCatalog(ctx, tenant)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cat, fields := compileCatalog(doc)
	if len(fields) > 0 {
		return nil, fmt.Errorf("the stored catalog of tenant %q does not compile: %s: %s", tenant, fields[0].Field, fields[0].Message)
	}
	return cat, nil
}

// readCatalog returns tenant's stored catalog, ENOTFOUND when it has none.
func (l *Ledger) readCatalog(ctx context.Context, tenant string) (*hashtrail.TenantCatalog, error) {
	tc, err := l.store.TenantConfig(ctx, tenant, hashtrail.ConfigCatalog)
	if err != nil {
		return nil, err
	}
	var doc hashtrail.TenantCatalog
	if err := json.Unmarshal(tc.Value, &doc); err != nil {
		return nil, fmt.Errorf("the stored catalog of tenant %q is not JSON: %w", tenant, err)
	}
	doc.Version, doc.UpdatedAt, doc.UpdatedBy = tc.Version, tc.UpdatedAt, tc.UpdatedBy
	if doc.Mode == "" {
		doc.Mode = hashtrail.CatalogOpen
	}
	if doc.Actions == nil {
		doc.Actions = []hashtrail.ActionSpec{}
	}
	return &doc, nil
}

// compileCatalog checks doc and compiles its schemas; field errors name
// what is wrong.
func compileCatalog(doc *hashtrail.TenantCatalog) (*compiledCatalog, []hashtrail.FieldError) {
	fields := doc.Validate()
	cat := &compiledCatalog{mode: doc.Mode, actions: make(map[string]*compiledAction, len(doc.Actions))}
	if cat.mode == "" {
		cat.mode = hashtrail.CatalogOpen
	}
	for i, a := range doc.Actions {
		ca := &compiledAction{spec: a}
		if len(bytes.TrimSpace(a.MetadataSchema)) > 0 {
			s, err := compileSchema(a.Action, a.MetadataSchema)
			if err != nil {
				fields = append(fields, hashtrail.FieldError{Field: fmt.Sprintf("actions[%d].metadata_schema", i), Message: err.Error()})
			}
			ca.schema = s
		}
		cat.actions[a.Action] = ca
	}
	return cat, fields
}

// noLoader refuses to load any schema by URL: a tenant's schema must be
// self-contained, and the server must never fetch URLs or read files for it.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref to %s: a metadata schema must be self-contained (no external references)", url)
}

// compileSchema compiles one metadata schema (draft 2020-12 unless it says
// otherwise; formats asserted; Go regular expressions, so no backtracking).
func compileSchema(action string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	url := "urn:hashtrail:catalog:" + action
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("is not a valid JSON Schema: %v", err)
	}
	s, err := c.Compile(url)
	if err != nil {
		var se *jsonschema.SchemaValidationError
		var ve *jsonschema.ValidationError
		if errors.As(err, &se) && errors.As(se.Err, &ve) {
			// Name the wrong keywords, not the meta-schema's whole tree.
			var leaves []hashtrail.FieldError
			schemaErrors(ve, doc, "", &leaves)
			msgs := make([]string, len(leaves))
			for i, f := range leaves {
				msgs[i] = fmt.Sprintf("at %q: %s", "/"+strings.ReplaceAll(strings.TrimPrefix(f.Field, "."), ".", "/"), f.Message)
			}
			return nil, fmt.Errorf("is not a valid JSON Schema (draft 2020-12): %s", strings.Join(msgs, "; "))
		}
		return nil, fmt.Errorf("is not a valid JSON Schema: %s", strings.ReplaceAll(err.Error(), url, "the schema"))
	}
	return s, nil
}

// applyCatalogs applies each tenant's catalog to the entries about to be
// appended: defaults of registered actions, their metadata schemas, and
// strict mode. It answers EINVALID naming every wrong field or, in partial
// mode, leaves the failing events out of g (every tenant's copy) and lists
// them in req.Rejected. A tenant without a catalog costs one cache lookup
// per request.
func (l *Ledger) applyCatalogs(ctx context.Context, req *hashtrail.IngestRequest, g *hashtrail.AppendGroup, index []int) ([]int, error) {
	var (
		bad     map[int][]hashtrail.FieldError
		order   []int // bad indexes, first seen first
		last    string
		lastCat *compiledCatalog
	)
	for i, e := range g.Entries {
		t := e.Event.Tenant
		if t != last || i == 0 {
			cat, err := l.catalogFor(ctx, t)
			if err != nil {
				return nil, err
			}
			last, lastCat = t, cat
		}
		if lastCat == nil {
			continue
		}
		prefix := fmt.Sprintf("events[%d]", index[i])
		if req.Single {
			prefix = ""
		}
		errs := lastCat.apply(e.Event, prefix)
		if len(errs) == 0 {
			continue
		}
		if req.Tenant == "" {
			for j := range errs {
				errs[j].Message += fmt.Sprintf(" (tenant %s)", t)
			}
		}
		if bad == nil {
			bad = map[int][]hashtrail.FieldError{}
		}
		if _, seen := bad[index[i]]; !seen {
			order = append(order, index[i])
		}
		bad[index[i]] = append(bad[index[i]], errs...)
	}
	if len(bad) == 0 {
		return index, nil
	}
	var fields []hashtrail.FieldError
	for _, i := range order {
		fields = append(fields, bad[i]...)
	}
	if req.Partial {
		for _, i := range order {
			req.Rejected = append(req.Rejected, hashtrail.Rejection{Index: i, Errors: bad[i]})
		}
		slices.SortFunc(req.Rejected, func(a, b hashtrail.Rejection) int { return a.Index - b.Index })
		keep := g.Entries[:0]
		kept := index[:0]
		for i, e := range g.Entries {
			if _, no := bad[index[i]]; !no {
				keep = append(keep, e)
				kept = append(kept, index[i])
			}
		}
		g.Entries, index = keep, kept
		if len(g.Entries) > 0 {
			return index, nil
		}
	}
	msg := "the event does not match the tenant's catalog; nothing was written"
	if !req.Single {
		msg = fmt.Sprintf("%d of %d events do not match the tenant's catalog; nothing was written", len(bad), len(req.Submissions))
	}
	return nil, &hashtrail.Error{Code: hashtrail.EINVALID, Message: msg, Fields: fields}
}

// apply fills ev's defaults from its registered action and checks its
// action and metadata; errors have paths under prefix.
func (c *compiledCatalog) apply(ev *hashtrail.Event, prefix string) []hashtrail.FieldError {
	a := c.actions[ev.Action]
	if a == nil {
		if c.mode == hashtrail.CatalogStrict && !hashtrail.InCatalog(ev.Action) {
			return []hashtrail.FieldError{{Field: joinField(prefix, "action"),
				Message: fmt.Sprintf("%s is neither in the standard catalog nor registered, and the tenant's catalog is strict (register it: PUT /v1/tenants/{t}/catalog/actions/%s)", ev.Action, ev.Action)}}
		}
		return nil
	}
	if ev.Category == "" {
		ev.Category = a.spec.Category
	}
	if ev.Severity == "" {
		ev.Severity = a.spec.Severity
	}
	if ev.Outcome == "" {
		ev.Outcome = a.spec.Outcome
	}
	if a.schema == nil {
		return nil
	}
	raw := []byte(ev.Metadata)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil { // decoding checked it already
		return []hashtrail.FieldError{{Field: joinField(prefix, "metadata"), Message: "is not JSON"}}
	}
	err = a.schema.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []hashtrail.FieldError{{Field: joinField(prefix, "metadata"), Message: err.Error()}}
	}
	var out []hashtrail.FieldError
	schemaErrors(ve, v, joinField(prefix, "metadata"), &out)
	if len(out) > maxSchemaErrors {
		out = out[:maxSchemaErrors]
	}
	return out
}

// printer renders schema error messages.
var printer = message.NewPrinter(language.English)

// schemaErrors flattens a validation error into one field error per leaf,
// named by where in the metadata it is (metadata.items[2].sku); a missing
// or unexpected property is named itself.
func schemaErrors(ve *jsonschema.ValidationError, doc any, base string, out *[]hashtrail.FieldError) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			schemaErrors(c, doc, base, out)
		}
		return
	}
	path := instancePath(doc, ve.InstanceLocation, base)
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		for _, p := range k.Missing {
			*out = append(*out, hashtrail.FieldError{Field: path + "." + p, Message: "is required by the action's metadata schema"})
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*out = append(*out, hashtrail.FieldError{Field: path + "." + p, Message: "is not allowed by the action's metadata schema"})
		}
	default:
		*out = append(*out, hashtrail.FieldError{Field: path, Message: ve.ErrorKind.LocalizedString(printer)})
	}
}

// instancePath renders a location in doc as a field path: ".name" for an
// object member, "[i]" for an array element.
func instancePath(doc any, loc []string, base string) string {
	var b strings.Builder
	b.WriteString(base)
	cur := doc
	for _, tok := range loc {
		switch v := cur.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(v) {
				cur = v[i]
			} else {
				cur = nil
			}
		case map[string]any:
			b.WriteString("." + tok)
			cur = v[tok]
		default:
			b.WriteString("." + tok)
			cur = nil
		}
	}
	return b.String()
}

func joinField(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// TenantCatalog returns the tenant's action catalog (admin role).
func (l *Ledger) TenantCatalog(ctx context.Context, tenant string) (*hashtrail.TenantCatalog, error) {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	return l.currentCatalog(ctx, tenant)
}

// currentCatalog returns the stored catalog, or an empty open one (version
// 0) for an existing tenant without one.
func (l *Ledger) currentCatalog(ctx context.Context, tenant string) (*hashtrail.TenantCatalog, error) {
	doc, err := l.readCatalog(ctx, tenant)
	if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return doc, err
	}
	if _, err := l.store.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	return &hashtrail.TenantCatalog{Mode: hashtrail.CatalogOpen, Actions: []hashtrail.ActionSpec{}}, nil
}

// PutTenantCatalog replaces the tenant's catalog (admin role).
func (l *Ledger) PutTenantCatalog(ctx context.Context, tenant string, c *hashtrail.TenantCatalog) (*hashtrail.TenantCatalog, error) {
	if err := l.catalogAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	doc, err := l.storeCatalog(ctx, tenant, c)
	if err != nil {
		return nil, err
	}
	return doc, l.audit(ctx, tenant, "catalog.update", hashtrail.Target{Type: "catalog", ID: tenant,
		Name: fmt.Sprintf("version %d, %s, %d actions", doc.Version, doc.Mode, len(doc.Actions))})
}

// PutCatalogAction registers or replaces one action (admin role).
func (l *Ledger) PutCatalogAction(ctx context.Context, tenant string, a *hashtrail.ActionSpec, version int64) (*hashtrail.TenantCatalog, error) {
	if err := l.catalogAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	if fields := a.Validate(); len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	doc, err := l.editCatalog(ctx, tenant, version, func(c *hashtrail.TenantCatalog) error {
		i := slices.IndexFunc(c.Actions, func(x hashtrail.ActionSpec) bool { return x.Action == a.Action })
		if i < 0 {
			c.Actions = append(c.Actions, *a)
		} else {
			c.Actions[i] = *a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, l.audit(ctx, tenant, "catalog.action_register", hashtrail.Target{Type: "action", ID: a.Action,
		Name: fmt.Sprintf("catalog version %d", doc.Version)})
}

// DeleteCatalogAction removes one registered action (admin role).
func (l *Ledger) DeleteCatalogAction(ctx context.Context, tenant, action string, version int64) (*hashtrail.TenantCatalog, error) {
	if err := l.catalogAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	doc, err := l.editCatalog(ctx, tenant, version, func(c *hashtrail.TenantCatalog) error {
		i := slices.IndexFunc(c.Actions, func(x hashtrail.ActionSpec) bool { return x.Action == action })
		if i < 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "the action %q is not registered", action)
		}
		c.Actions = slices.Delete(c.Actions, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, l.audit(ctx, tenant, "catalog.action_remove", hashtrail.Target{Type: "action", ID: action,
		Name: fmt.Sprintf("catalog version %d", doc.Version)})
}

func (l *Ledger) catalogAuthz(ctx context.Context, tenant string) error {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, hashtrail.PermManage); err != nil {
		return err
	}
	if tenant == hashtrail.SystemTenant {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "the %q log is written only by Hashtrail itself; it has no catalog", tenant)
	}
	return nil
}

// editCatalog applies edit to the current catalog and stores the result.
// With version 0 it retries when another change came first; otherwise the
// current version must be version.
func (l *Ledger) editCatalog(ctx context.Context, tenant string, version int64, edit func(*hashtrail.TenantCatalog) error) (*hashtrail.TenantCatalog, error) {
	for attempt := 0; ; attempt++ {
		cur, err := l.currentCatalog(ctx, tenant)
		if err != nil {
			return nil, err
		}
		if version != 0 && cur.Version != version {
			return nil, staleCatalog(cur.Version, version)
		}
		if err := edit(cur); err != nil {
			return nil, err
		}
		doc, err := l.storeCatalog(ctx, tenant, cur)
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && version == 0 && attempt < 5 {
			continue
		}
		return doc, err
	}
}

func staleCatalog(current, given int64) error {
	return hashtrail.Errorf(hashtrail.ECONFLICT, "the catalog is at version %d, not %d: read it again and apply your change to it", current, given)
}

// storeCatalog checks and compiles c, stores it as the version after
// c.Version and makes it apply on this node at once.
func (l *Ledger) storeCatalog(ctx context.Context, tenant string, c *hashtrail.TenantCatalog) (*hashtrail.TenantCatalog, error) {
	doc := &hashtrail.TenantCatalog{Mode: c.Mode, Actions: c.Actions}
	if doc.Mode == "" {
		doc.Mode = hashtrail.CatalogOpen
	}
	if doc.Actions == nil {
		doc.Actions = []hashtrail.ActionSpec{}
	}
	cat, fields := compileCatalog(doc)
	if len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	value, err := json.Marshal(struct {
		Mode    hashtrail.CatalogMode  `json:"mode"`
		Actions []hashtrail.ActionSpec `json:"actions"`
	}{doc.Mode, doc.Actions})
	if err != nil {
		return nil, err
	}
	tc := &hashtrail.TenantConfig{Tenant: tenant, Kind: hashtrail.ConfigCatalog, Version: c.Version,
		Value: value, UpdatedAt: l.clock(), UpdatedBy: keyID(hashtrail.PrincipalFrom(ctx))}
	if err := l.store.PutTenantConfig(ctx, tc); err != nil {
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT {
			if cur, rerr := l.currentCatalog(ctx, tenant); rerr == nil {
				return nil, staleCatalog(cur.Version, c.Version)
			}
		}
		return nil, err
	}
	l.catalogs.set(tenant, cat, l.now())
	doc.Version, doc.UpdatedAt, doc.UpdatedBy = tc.Version, tc.UpdatedAt, tc.UpdatedBy
	return doc, nil
}
