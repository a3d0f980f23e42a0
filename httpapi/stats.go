package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	hashtrail "github.com/hashtrail/hashtrail"
)

// statsOnlyParams are the parameters of GET /v1/tenants/{t}/stats beyond
// the listing's filters.
var statsOnlyParams = []string{"group_by", "bucket", "limit"}

// listingOnlyParams are the listing's parameters that make no sense for a
// count.
var listingOnlyParams = []string{"cursor", "order", "after_seq"}

// getStats serves GET /v1/tenants/{tenant}/stats: counts over the listing's
// filters (including q=), grouped by group_by, in time buckets of bucket,
// the top limit groups.
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	sq, err := parseStatsQuery(r, tenant)
	if err != nil {
		return err
	}
	st, err := s.svc.Stats(r.Context(), sq)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// parseStatsQuery reads the parameters of GET /v1/tenants/{t}/stats: the
// listing's filters (parseEventQuery) and group_by, bucket and limit.
func parseStatsQuery(r *http.Request, tenant string) (*hashtrail.StatsQuery, error) {
	all, err := queryParams(r, append(append([]string{}, listEventsParams...), statsOnlyParams...)...)
	if err != nil {
		return nil, err
	}
	for _, name := range listingOnlyParams {
		if all.one(name) != "" {
			all.fail(name, "applies to the events listing, not to stats")
		}
	}
	sq := &hashtrail.StatsQuery{
		GroupBy: hashtrail.StatsField(all.one("group_by")),
		Bucket:  hashtrail.StatsBucket(all.one("bucket")),
	}
	if l := all.one("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > hashtrail.MaxStatsLimit {
			all.fail("limit", fmt.Sprintf("must be an integer from 1 to %d (the number of top groups)", hashtrail.MaxStatsLimit))
		} else {
			sq.Limit = n
		}
	}
	if err := sq.Check(); err != nil {
		if e, ok := err.(*hashtrail.Error); ok {
			all.errs = append(all.errs, e.Fields...)
		}
	}
	// The filters, read by the listing's own parser from the query string
	// without the parameters of stats alone.
	rr := r.Clone(r.Context())
	u := *r.URL
	v := u.Query()
	for name := range v {
		if !slices.Contains(listEventsParams, name) || slices.Contains(listingOnlyParams, name) || slices.Contains(statsOnlyParams, name) {
			v.Del(name)
		}
	}
	u.RawQuery = v.Encode()
	rr.URL = &u
	q, err := parseEventQuery(rr, tenant)
	if e, ok := err.(*hashtrail.Error); ok {
		all.errs = append(all.errs, e.Fields...)
	} else if err != nil {
		return nil, err
	}
	if err := all.err(); err != nil {
		return nil, err
	}
	sq.Query = *q
	return sq, nil
}
