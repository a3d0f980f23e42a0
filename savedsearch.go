package hashtrail

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// ConfigSearches is the tenant configuration document that holds its saved
// searches (SavedSearches).
const ConfigSearches = "searches"

// Saved search limits.
const (
	// MaxSavedSearches bounds how many saved searches a tenant keeps.
	MaxSavedSearches = 200
	// MaxSavedSearchName bounds a saved search's name, in bytes.
	MaxSavedSearchName = 200
)

// SearchColumns lists the columns a saved view may show, in the event
// fields' JSON names (a nested field dotted).
var SearchColumns = []string{"time", "action", "category", "severity", "outcome", "actor", "targets",
	"description", "context.ip", "context.location", "context.user_agent", "service", "tags", "id", "seq"}

// SavedSearch is a named view of a tenant's log: a search in the search
// syntax (DESIGN §4) and how to show it, so that anyone who may read the
// tenant reopens the same view (GET/POST /v1/tenants/{t}/searches).
type SavedSearch struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
	// Query is the search (package query), "" for every event.
	Query string `json:"query"`
	// Range is a time range relative to when the view is opened: a count
	// of minutes, hours or days ("15m", "24h", "30d"); "" for all time.
	Range string `json:"range,omitempty"`
	// GroupBy and Bucket are the view's stats (a chart), if any.
	GroupBy StatsField  `json:"group_by,omitempty"`
	Bucket  StatsBucket `json:"bucket,omitempty"`
	// Columns are the event fields the feed shows, from SearchColumns;
	// empty for the default.
	Columns []string `json:"columns,omitempty"`
	// URL is the web UI's address of the view (set on answers, never
	// stored): the feed of the tenant with these parameters.
	URL       string `json:"url"`
	CreatedBy string `json:"created_by,omitempty"`
	CreatedAt Time   `json:"created_at"`
	UpdatedBy string `json:"updated_by,omitempty"`
	UpdatedAt Time   `json:"updated_at"`
}

// SavedSearches is the body of ConfigSearches and of the listing.
type SavedSearches struct {
	Searches []*SavedSearch `json:"searches"`
	Version  int64          `json:"version"`
}

// ViewURL returns the web UI's path for s's view in its tenant: the feed
// (/ui/t/{tenant}/) with q, range, group_by, bucket and columns as query
// parameters, so that the address alone reproduces the view.
func (s *SavedSearch) ViewURL() string {
	v := url.Values{}
	if s.Query != "" {
		v.Set("q", s.Query)
	}
	if s.Range != "" {
		v.Set("range", s.Range)
	}
	if s.GroupBy != "" {
		v.Set("group_by", string(s.GroupBy))
	}
	if s.Bucket != "" {
		v.Set("bucket", string(s.Bucket))
	}
	if len(s.Columns) > 0 {
		v.Set("columns", strings.Join(s.Columns, ","))
	}
	u := "/ui/t/" + url.PathEscape(s.Tenant) + "/"
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

// ValidSearchRange reports whether r is a relative range such as "15m",
// "24h" or "30d" (1 to 100000 of the unit).
func ValidSearchRange(r string) bool {
	if len(r) < 2 {
		return false
	}
	unit := r[len(r)-1]
	n, err := strconv.Atoi(r[:len(r)-1])
	return err == nil && n >= 1 && n <= MaxKeep && r[0] != '0' && r[0] != '+' && (unit == 'm' || unit == 'h' || unit == 'd')
}

// SavedSearchService keeps tenants' saved searches. Every principal that
// may read a tenant's events (but viewer tokens) may list and read them;
// creating, changing and deleting one takes the admin role and is audited
// in the tenant's own log (saved_search.create, .update, .delete).
type SavedSearchService interface {
	// SavedSearches returns the tenant's saved searches, oldest first.
	SavedSearches(ctx context.Context, tenant string) (*SavedSearches, error)
	// SavedSearch returns one, or ENOTFOUND.
	SavedSearch(ctx context.Context, tenant, id string) (*SavedSearch, error)
	// CreateSavedSearch validates s (EINVALID naming name, query, range,
	// group_by, bucket or columns) and stores it with a new ID.
	CreateSavedSearch(ctx context.Context, tenant string, s *SavedSearch) (*SavedSearch, error)
	// UpdateSavedSearch replaces the definition of saved search id with
	// s's (name, query, range, group_by, bucket, columns).
	UpdateSavedSearch(ctx context.Context, tenant, id string, s *SavedSearch) (*SavedSearch, error)
	// DeleteSavedSearch removes one; ENOTFOUND if unknown.
	DeleteSavedSearch(ctx context.Context, tenant, id string) error
}
