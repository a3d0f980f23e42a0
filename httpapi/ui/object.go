package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// related is an object that appeared with the page's object.
type related struct {
	Target hashtrail.Target
	Href   string
	Count  int
	Last   hashtrail.Time
	Nested bool // its id nests under the object's ("checkout/prod" under "checkout")
}

// objectData is the object page's data.
type objectData struct {
	Target  hashtrail.Target
	Name    string
	Rows    []eventRow
	Sub     []related // sub-objects: other targets of these events
	People  []related // users the events targeted
	Older   string
	Feed    string
	Created *eventRow // the event that created it, when seen
	Deleted *eventRow
}

// objectPage serves GET /ui/t/{tenant}/objects/{type}/{id}: everything
// that targeted an object, newest first, with its sub-objects: targets
// whose id nests under the object's id (type:id/...), and the other
// targets of the same events (an app's environment variables, a role's
// permissions).
func (h *Handler) objectPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	t := hashtrail.Target{Type: r.PathValue("type"), ID: r.PathValue("id")}
	if t.Type == "" || t.ID == "" || len(t.Key()) > 512 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no such object.")
	}
	key := t.Key()
	q := &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderDesc, Limit: feedPageSize,
		Terms: []hashtrail.Term{{Field: hashtrail.TermTarget, Values: []string{key, key + "/*"}}}}
	if c := r.URL.Query().Get("cursor"); c != "" {
		cur, err := hashtrail.ParseCursor(c)
		if err != nil || cur.Order != hashtrail.OrderDesc {
			return hashtrail.Errorf(hashtrail.EINVALID, "That page link is not valid. Start again from the first page.")
		}
		q.BeforeSeq = &cur.Seq
	}
	list, err := h.svc.Events(r.Context(), q)
	if err != nil {
		return err
	}
	d := &objectData{Target: t, Name: t.ID}
	d.Feed = tenantBase(tenant) + "?q=" + url.QueryEscape("target:"+key)
	subs := map[string]*related{}
	for _, ev := range list.Events {
		row := rowOf(tenant, ev)
		d.Rows = append(d.Rows, row)
		for _, o := range ev.Targets {
			if o.Key() == key {
				if o.Name != "" && d.Name == t.ID {
					d.Name = o.Name
				}
				continue
			}
			rel, ok := subs[o.Key()]
			if !ok {
				rel = &related{Target: o, Href: tenantBase(tenant) + targetHref(o),
					Nested: o.Type == t.Type && strings.HasPrefix(o.ID, t.ID+"/")}
				subs[o.Key()] = rel
			}
			rel.Count++
			if ev.Time.After(rel.Last.Time) {
				rel.Last = ev.Time
			}
		}
		if strings.HasSuffix(ev.Action, ".create") && ev.Outcome != hashtrail.OutcomeFailure && d.Created == nil {
			d.Created = &row
		}
		if strings.HasSuffix(ev.Action, ".delete") && ev.Outcome != hashtrail.OutcomeFailure && d.Deleted == nil {
			d.Deleted = &row
		}
	}
	for _, rel := range subs {
		if rel.Target.Type == "user" {
			d.People = append(d.People, *rel)
		} else {
			d.Sub = append(d.Sub, *rel)
		}
	}
	byUse := func(a, b related) int {
		if a.Nested != b.Nested {
			if a.Nested {
				return -1
			}
			return 1
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Target.Key(), b.Target.Key())
	}
	slices.SortFunc(d.Sub, byUse)
	slices.SortFunc(d.People, byUse)
	if list.NextCursor != "" {
		d.Older = "?cursor=" + url.QueryEscape(list.NextCursor)
	}
	title := strings.ReplaceAll(t.Type, "_", " ") + " " + d.Name
	return h.render(w, http.StatusOK, "object", h.frame(r, title, "feed", tenant, d))
}
