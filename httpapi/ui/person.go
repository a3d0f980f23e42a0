package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// personScan is how many of a person's newest events the person page reads.
const personScan = 1000

// seen is one country, device or address a person used.
type seen struct {
	Label    string
	Detail   string
	Count    int
	Failures int
	Last     hashtrail.Time
}

// roleHeld is a role a person holds, from the role events.
type roleHeld struct {
	Role  string
	Since hashtrail.Time
	By    string
	Href  string // the event that gave it
}

// personData is the person page's data.
type personData struct {
	Key       string // user:42 or email:...
	Name      string
	Email     string
	Logins    int
	Failures  int
	Chart     *chart
	Countries []seen
	Devices   []seen
	IPs       []seen
	Security  []eventRow // 2FA, password, email changes
	Roles     []roleHeld
	Recent    []eventRow
	Received  []eventRow // what others did to this person
	Scanned   int
	Truncated bool
	Feed      string // the feed of this person's events
}

// securityActions are the actions the person page lists as security
// changes.
var securityActions = []string{
	"user.mfa_enable", "user.mfa_disable", "user.password_change", "user.password_reset", "user.email_change",
	"api_key.create", "api_key.revoke",
}

// personPage serves GET /ui/t/{tenant}/people/{actor}: a person's security
// history, as on PyPI: sign-ins and failures over the last 30 days, the
// countries, devices and addresses seen, 2FA and password changes, the
// roles held and recent activity.
func (h *Handler) personPage(w http.ResponseWriter, r *http.Request) error {
	tenant, err := tenantOf(r)
	if err != nil {
		return err
	}
	key := r.PathValue("actor")
	if len(key) > 512 || !hashtrail.ValidActorFilter(key) || !strings.Contains(key, ":") {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no such person: the address names one as user:ID or email:ADDRESS.")
	}
	list, err := h.svc.Events(r.Context(), &hashtrail.Query{Tenant: tenant, Actor: key, Order: hashtrail.OrderDesc, Limit: personScan})
	if err != nil {
		return err
	}
	d := &personData{Key: key, Scanned: len(list.Events), Truncated: list.NextCursor != ""}
	d.Feed = tenantBase(tenant) + "?q=" + pathQuery("actor:"+key)
	now := h.now()
	days := newDayChart(now, 30)
	countries, devices, ips := map[string]*seen{}, map[string]*seen{}, map[string]*seen{}
	for _, ev := range list.Events {
		if d.Name == "" && ev.Actor != nil {
			d.Name, d.Email = ev.Actor.Name, ev.Actor.Email
		}
		isLogin := ev.Action == "user.login" || ev.Action == "user.login_failed"
		failed := ev.Outcome == hashtrail.OutcomeFailure
		if isLogin {
			if failed {
				d.Failures++
				days.add(ev.Time.Time, 1, 1)
			} else {
				d.Logins++
				days.add(ev.Time.Time, 0, 1)
			}
		}
		if c := ev.Context; c != nil {
			if c.Location != nil && c.Location.Country != "" {
				tally(countries, countryName(c.Location.Country), c.Location.City, ev, failed)
			}
			if c.UserAgent != "" {
				tally(devices, deviceOf(c.UserAgent), c.UserAgent, ev, failed)
			}
			if c.IP != "" {
				tally(ips, c.IP, "", ev, failed)
			}
		}
		if slices.Contains(securityActions, ev.Action) {
			d.Security = append(d.Security, rowOf(tenant, ev))
		}
		if len(d.Recent) < 20 {
			d.Recent = append(d.Recent, rowOf(tenant, ev))
		}
	}
	if d.Name == "" && d.Email == "" {
		d.Email, _ = strings.CutPrefix(key, "email:")
	}
	d.Chart = days.chart("Sign-ins per day, last 30 days", []series{{"Successful", "ok"}, {"Failed", "fail"}})
	d.Countries, d.Devices, d.IPs = sorted(countries), sorted(devices), sorted(ips)
	if strings.HasPrefix(key, "user:") {
		// The newest events that name them; replayed oldest first for roles.
		got, err := h.svc.Events(r.Context(), &hashtrail.Query{Tenant: tenant, Target: key, Order: hashtrail.OrderDesc, Limit: personScan})
		if err != nil {
			return err
		}
		for _, ev := range got.Events[:min(20, len(got.Events))] {
			d.Received = append(d.Received, rowOf(tenant, ev))
		}
		slices.Reverse(got.Events)
		d.Roles = rolesHeld(tenant, key, got.Events)
	}
	title := d.Name
	if title == "" {
		title = d.Email
	}
	if title == "" {
		title = key
	}
	return h.render(w, http.StatusOK, "person", h.frame(r, title, "people", tenant, d))
}

// tally counts ev under label in m.
func tally(m map[string]*seen, label, detail string, ev *hashtrail.Event, failed bool) {
	s, ok := m[label]
	if !ok {
		s = &seen{Label: label, Detail: detail}
		m[label] = s
	}
	s.Count++
	if failed {
		s.Failures++
	}
	if ev.Time.After(s.Last.Time) {
		s.Last = ev.Time
	}
}

// sorted returns the tallies, most recently seen first.
func sorted(m map[string]*seen) []seen {
	out := make([]seen, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b seen) int { return b.Last.Compare(a.Last.Time) })
	return out
}

// rolesHeld replays the role events that targeted a person, oldest first:
// role.assign gives the role (replacing the old value a "role" change
// names), role.unassign takes it, member.remove and user.delete take all.
func rolesHeld(tenant, key string, events []*hashtrail.Event) []roleHeld {
	held := map[string]roleHeld{}
	for _, ev := range events {
		role := ""
		for _, t := range ev.Targets {
			if t.Type == "role" {
				role = t.ID
				if t.Name != "" {
					role = t.Name
				}
			}
		}
		switch ev.Action {
		case "role.assign":
			if ev.Outcome == hashtrail.OutcomeFailure {
				continue
			}
			for _, c := range ev.Changes {
				var old string
				if c.Field == "role" && json.Unmarshal(c.Old, &old) == nil {
					for k := range held {
						if strings.EqualFold(k, old) {
							delete(held, k)
						}
					}
				}
			}
			if role != "" {
				held[role] = roleHeld{Role: role, Since: ev.Time, By: actorName(ev.Actor), Href: tenantBase(tenant) + "events/" + pathEscape(ev.ID)}
			}
		case "role.unassign":
			delete(held, role)
		case "member.remove", "user.delete":
			clear(held)
		}
	}
	out := make([]roleHeld, 0, len(held))
	for _, r := range held {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b roleHeld) int { return strings.Compare(a.Role, b.Role) })
	return out
}

// deviceOf names the browser or client and platform of a user agent:
// "Chrome on Windows", "Firefox on Linux", "curl".
func deviceOf(ua string) string {
	browser := ""
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/") && strings.Contains(ua, "Version/"):
		browser = "Safari"
	case strings.Contains(ua, "CFNetwork"):
		browser = "iOS app"
	}
	platform := ""
	switch {
	case strings.Contains(ua, "Windows"):
		platform = "Windows"
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"), strings.Contains(ua, "Darwin"):
		platform = "iOS"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		platform = "macOS"
	case strings.Contains(ua, "Android"):
		platform = "Android"
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "linux"):
		platform = "Linux"
	}
	if browser == "" {
		// A client that names itself first: "acme-cli/1.8.2 (linux)".
		name, _, _ := strings.Cut(ua, " ")
		name, _, _ = strings.Cut(name, "/")
		browser = truncate(name, 40)
	}
	if platform != "" && browser != "iOS app" {
		return browser + " on " + platform
	}
	return browser
}

// countryName names an ISO 3166-1 alpha-2 code, for the common ones.
func countryName(cc string) string {
	cc = strings.ToUpper(cc)
	if n, ok := countries[cc]; ok {
		return n + " (" + cc + ")"
	}
	return cc
}

var countries = map[string]string{
	"US": "United States", "DE": "Germany", "GB": "United Kingdom", "FR": "France", "NL": "Netherlands",
	"JP": "Japan", "CA": "Canada", "IN": "India", "BR": "Brazil", "SE": "Sweden", "ES": "Spain", "IT": "Italy",
	"PL": "Poland", "AU": "Australia", "CN": "China", "RU": "Russia", "NG": "Nigeria", "SG": "Singapore",
	"IE": "Ireland", "CH": "Switzerland", "KR": "South Korea", "MX": "Mexico", "ZA": "South Africa",
}

// pathQuery escapes a query-string value.
func pathQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
