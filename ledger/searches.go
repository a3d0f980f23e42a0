package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

var _ hashtrail.SavedSearchService = (*Ledger)(nil)

// SavedSearches returns a tenant's saved searches (any principal that may
// read its events, but viewer tokens).
func (l *Ledger) SavedSearches(ctx context.Context, tenant string) (*hashtrail.SavedSearches, error) {
	if err := l.searchAuthz(ctx, tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	return l.readSearches(ctx, tenant)
}

// SavedSearch returns one saved search of a tenant.
func (l *Ledger) SavedSearch(ctx context.Context, tenant, id string) (*hashtrail.SavedSearch, error) {
	if err := l.searchAuthz(ctx, tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	ss, err := l.readSearches(ctx, tenant)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ss.Searches, func(s *hashtrail.SavedSearch) bool { return s.ID == id })
	if i < 0 {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "saved search %q not found", id)
	}
	return ss.Searches[i], nil
}

// CreateSavedSearch stores a new saved search (admin role), audited as
// saved_search.create.
func (l *Ledger) CreateSavedSearch(ctx context.Context, tenant string, s *hashtrail.SavedSearch) (*hashtrail.SavedSearch, error) {
	if err := l.searchAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if err := checkSavedSearch(s); err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	by, now := keyID(hashtrail.PrincipalFrom(ctx)), l.clock()
	ns := &hashtrail.SavedSearch{ID: "search_" + hex.EncodeToString(b[:]), Tenant: tenant, CreatedBy: by, CreatedAt: now, UpdatedBy: by, UpdatedAt: now}
	define(ns, s)
	if err := l.editSearches(ctx, tenant, func(ss *hashtrail.SavedSearches) error {
		if len(ss.Searches) >= hashtrail.MaxSavedSearches {
			return hashtrail.Errorf(hashtrail.EINVALID, "a tenant has at most %d saved searches", hashtrail.MaxSavedSearches)
		}
		ss.Searches = append(ss.Searches, ns)
		return nil
	}); err != nil {
		return nil, err
	}
	ns.URL = ns.ViewURL()
	return ns, l.audit(ctx, tenant, "saved_search.create", hashtrail.Target{Type: "saved_search", ID: ns.ID, Name: ns.Name})
}

// UpdateSavedSearch replaces a saved search's definition (admin role),
// audited as saved_search.update.
func (l *Ledger) UpdateSavedSearch(ctx context.Context, tenant, id string, s *hashtrail.SavedSearch) (*hashtrail.SavedSearch, error) {
	if err := l.searchAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return nil, err
	}
	if err := checkSavedSearch(s); err != nil {
		return nil, err
	}
	var out *hashtrail.SavedSearch
	if err := l.editSearches(ctx, tenant, func(ss *hashtrail.SavedSearches) error {
		i := slices.IndexFunc(ss.Searches, func(s *hashtrail.SavedSearch) bool { return s.ID == id })
		if i < 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "saved search %q not found", id)
		}
		out = ss.Searches[i]
		define(out, s)
		out.UpdatedBy, out.UpdatedAt = keyID(hashtrail.PrincipalFrom(ctx)), l.clock()
		return nil
	}); err != nil {
		return nil, err
	}
	out.URL = out.ViewURL()
	return out, l.audit(ctx, tenant, "saved_search.update", hashtrail.Target{Type: "saved_search", ID: out.ID, Name: out.Name})
}

// DeleteSavedSearch removes a saved search (admin role), audited as
// saved_search.delete.
func (l *Ledger) DeleteSavedSearch(ctx context.Context, tenant, id string) error {
	if err := l.searchAuthz(ctx, tenant, hashtrail.PermManage); err != nil {
		return err
	}
	var gone *hashtrail.SavedSearch
	if err := l.editSearches(ctx, tenant, func(ss *hashtrail.SavedSearches) error {
		i := slices.IndexFunc(ss.Searches, func(s *hashtrail.SavedSearch) bool { return s.ID == id })
		if i < 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "saved search %q not found", id)
		}
		gone = ss.Searches[i]
		ss.Searches = slices.Delete(ss.Searches, i, i+1)
		return nil
	}); err != nil {
		return err
	}
	return l.audit(ctx, tenant, "saved_search.delete", hashtrail.Target{Type: "saved_search", ID: gone.ID, Name: gone.Name})
}

// searchAuthz checks perm on tenant, refuses viewer tokens (they see one
// embedded view, not the tenant's saved ones) and checks that the tenant
// exists.
func (l *Ledger) searchAuthz(ctx context.Context, tenant string, perm hashtrail.Permission) error {
	p := hashtrail.PrincipalFrom(ctx)
	if err := l.authorize(p, tenant, perm); err != nil {
		return err
	}
	if p != nil && p.Viewer != nil {
		return hashtrail.Errorf(hashtrail.EFORBIDDEN, "viewer tokens cannot use saved searches")
	}
	_, err := l.store.Tenant(ctx, tenant)
	return err
}

// define copies the definition of s (not its identity) into d.
func define(d, s *hashtrail.SavedSearch) {
	d.Name, d.Query, d.Range, d.GroupBy, d.Bucket = s.Name, s.Query, s.Range, s.GroupBy, s.Bucket
	d.Columns = slices.Clone(s.Columns)
}

// checkSavedSearch validates a saved search's definition, naming each
// wrong field.
func checkSavedSearch(s *hashtrail.SavedSearch) error {
	var fe []hashtrail.FieldError
	if s.Name == "" || len(s.Name) > hashtrail.MaxSavedSearchName || !utf8.ValidString(s.Name) {
		fe = append(fe, hashtrail.FieldError{Field: "name", Message: fmt.Sprintf("is required, up to %d bytes", hashtrail.MaxSavedSearchName)})
	}
	if len(s.Query) > hashtrail.MaxFilterLength {
		fe = append(fe, hashtrail.FieldError{Field: "query", Message: fmt.Sprintf("is longer than %d bytes", hashtrail.MaxFilterLength)})
	} else if s.Query != "" {
		if _, err := query.ParseField("query", s.Query); err != nil {
			if e, ok := err.(*hashtrail.Error); ok {
				fe = append(fe, e.Fields...)
			} else {
				return err
			}
		}
	}
	if s.Range != "" && !hashtrail.ValidSearchRange(s.Range) {
		fe = append(fe, hashtrail.FieldError{Field: "range", Message: "must be a count of minutes, hours or days such as 15m, 24h or 30d"})
	}
	if err := (&hashtrail.StatsQuery{GroupBy: s.GroupBy, Bucket: s.Bucket}).Check(); err != nil {
		if e, ok := err.(*hashtrail.Error); ok {
			fe = append(fe, e.Fields...)
		}
	}
	if len(s.Columns) > len(hashtrail.SearchColumns) {
		fe = append(fe, hashtrail.FieldError{Field: "columns", Message: "lists more columns than there are"})
	}
	for i, c := range s.Columns {
		if !slices.Contains(hashtrail.SearchColumns, c) || slices.Contains(s.Columns[:i], c) {
			fe = append(fe, hashtrail.FieldError{Field: fmt.Sprintf("columns[%d]", i), Message: fmt.Sprintf("%.40q is not a column, or is listed twice; use %v", c, hashtrail.SearchColumns)})
		}
	}
	if len(fe) > 0 {
		return hashtrail.InvalidFields(fe)
	}
	return nil
}

// readSearches reads a tenant's saved searches with their URLs.
func (l *Ledger) readSearches(ctx context.Context, tenant string) (*hashtrail.SavedSearches, error) {
	var ss hashtrail.SavedSearches
	tc, err := l.readConfig(ctx, tenant, hashtrail.ConfigSearches, &ss)
	if err != nil {
		return nil, err
	}
	ss.Version = tc.Version
	if ss.Searches == nil {
		ss.Searches = []*hashtrail.SavedSearch{}
	}
	for _, s := range ss.Searches {
		s.Tenant = tenant
		s.URL = s.ViewURL()
	}
	return &ss, nil
}

// editSearches applies edit to the current saved searches and stores them,
// retrying when another change came first.
func (l *Ledger) editSearches(ctx context.Context, tenant string, edit func(*hashtrail.SavedSearches) error) error {
	for attempt := 0; ; attempt++ {
		ss, err := l.readSearches(ctx, tenant)
		if err != nil {
			return err
		}
		if err := edit(ss); err != nil {
			return err
		}
		stored := make([]hashtrail.SavedSearch, len(ss.Searches))
		for i, s := range ss.Searches {
			stored[i] = *s
			stored[i].URL, stored[i].Tenant = "", ""
		}
		_, err = l.writeConfig(ctx, tenant, hashtrail.ConfigSearches, ss.Version, struct {
			Searches []hashtrail.SavedSearch `json:"searches"`
		}{stored})
		if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT && attempt < 5 {
			continue
		}
		return err
	}
}
