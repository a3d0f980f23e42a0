package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	searchq "github.com/hashtrail/hashtrail/query"
)

// seedStats appends n random events to tenant acme (and a few to tenant
// other) spread over about 70 days, received up to two days after their
// time, with every field stats group by present, absent or repeated, and
// erases the personal values of user:3 and of an actor known only by
// address. It returns the events of acme as the store reads them back.
func seedStats(t *testing.T, s hashtrail.Store, n int) []*hashtrail.Event {
	t.Helper()
	r := rand.New(rand.NewPCG(8, uint64(n)))
	actions := []string{"user.login", "user.logout", "user.password_change", "role.permission_grant", "project.update", "project.delete", "system.startup"}
	countries := []string{"DE", "fr", "US", ""}
	words := []string{"alpha", "bravo", "charlie", "delta"}
	start := time.Date(2026, 1, 28, 22, 0, 0, 0, time.UTC) // a month end, a week start inside
	var events []*hashtrail.Event
	for i := range n {
		tenant := "acme"
		if i%17 == 16 {
			tenant = "other"
		}
		e := newEvent(tenant, fmt.Sprintf("st-%d", i))
		e.Action = actions[r.IntN(len(actions))]
		e.Category = hashtrail.Categories[r.IntN(len(hashtrail.Categories))]
		e.Severity = hashtrail.Severities[r.IntN(len(hashtrail.Severities))]
		e.Outcome = hashtrail.Outcomes[r.IntN(len(hashtrail.Outcomes))]
		e.Time = hashtrail.NewTime(start.Add(time.Duration(r.Int64N(int64(70 * 24 * time.Hour)))).Truncate(time.Microsecond))
		e.ReceivedAt = hashtrail.NewTime(e.Time.Add(time.Duration(r.Int64N(int64(48 * time.Hour)))).Truncate(time.Microsecond))
		switch k := r.IntN(10); {
		case k < 6:
			id := fmt.Sprint(r.IntN(6))
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, ID: id, Email: "u" + id + "@example.com", Name: "User " + id}
		case k < 7:
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, Email: "ghost@example.com"}
		case k < 9:
			e.Actor = &hashtrail.Actor{Type: hashtrail.ActorService, ID: "deployer"}
		default:
			e.Actor = nil
		}
		for range r.IntN(4) {
			e.Targets = append(e.Targets, hashtrail.Target{Type: "project", ID: fmt.Sprint(r.IntN(5))})
		}
		if c := countries[r.IntN(len(countries))]; c != "" || r.IntN(2) == 0 {
			e.Context = &hashtrail.Context{IP: fmt.Sprintf("203.0.113.%d", r.IntN(250))}
			if c != "" {
				e.Context.Location = &hashtrail.Location{Country: c}
			}
		}
		e.Description = words[r.IntN(len(words))] + " " + words[r.IntN(len(words))]
		e.Metadata = json.RawMessage(fmt.Sprintf(`{"n":%d}`, r.IntN(3)))
		events = append(events, e)
	}
	appendEvents(t, s, events...)
	for _, subject := range []string{"user:3", "ghost@example.com"} {
		rs, err := s.SubjectRoles(t.Context(), "acme", subject)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ErasePersonal(t.Context(), "acme", rs); err != nil {
			t.Fatal(err)
		}
	}
	var all []*hashtrail.Event
	var after *int64
	for {
		page := query(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit, AfterSeq: after})
		all = append(all, page...)
		if len(page) < hashtrail.MaxLimit {
			return all
		}
		after = &page[len(page)-1].Seq
	}
}

// testStats checks Stats against hashtrail.CountStats over the events read
// back, for every group field and bucket, with filters of every kind,
// time ranges and exclusions.
func testStats(t *testing.T, s hashtrail.Store) {
	events := seedStats(t, s, 500)
	parse := func(text string) hashtrail.Query {
		q := hashtrail.Query{Tenant: "acme"}
		if text == "" {
			return q
		}
		sr, err := searchq.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		sr.Apply(&q)
		return q
	}
	cut := hashtrail.NewTime(time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC))
	exclusions := [][]hashtrail.Exclusion{nil, {
		{Match: parse("category:authentication"), ReceivedBefore: cut, Unless: []hashtrail.Query{parse("actor:user:1"), parse("outcome:failure")}},
		{Match: parse(""), ReceivedBefore: hashtrail.NewTime(cut.AddDate(0, 0, -20)), Unless: []hashtrail.Query{parse("category:authentication")}},
	}}
	filters := []string{"", "category:authentication -outcome:success", "actor:user:1", "target:project:2", "alpha",
		`"bravo charlie"`, "country:de,us", "-target:project:1 severity:>=medium", "action:user.* meta.n:1",
		"target:project:2 -outcome:success", "alpha category:authentication,account actor:user:*"}
	ranges := [][2]hashtrail.Time{{}, {hashtrail.NewTime(time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC)), hashtrail.NewTime(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))}}
	// A range on whole hours whose first and last hours hold events, so
	// that counting a boundary hour wrong shows.
	h1, h2 := events[5].Time.Truncate(time.Hour), events[6].Time.Truncate(time.Hour)
	if h2.Before(h1) {
		h1, h2 = h2, h1
	}
	ranges = append(ranges, [2]hashtrail.Time{hashtrail.NewTime(h1), hashtrail.NewTime(h2.Add(time.Hour))})
	groups := append([]hashtrail.StatsField{""}, hashtrail.StatsFields...)
	buckets := []hashtrail.StatsBucket{"", hashtrail.BucketHour, hashtrail.BucketDay, hashtrail.BucketWeek, hashtrail.BucketMonth}
	checked := 0
	for fi, f := range filters {
		for ri, rg := range ranges {
			for gi, g := range groups {
				for bi, b := range buckets {
					// Every group with every bucket unfiltered; a rotating
					// sample of the other combinations keeps the test fast.
					if fi+ri > 0 && (fi+ri+gi+bi)%4 != 0 && ri != 2 {
						continue
					}
					for _, ex := range exclusions {
						q := parse(f)
						q.Since, q.Until = rg[0], rg[1]
						sq := &hashtrail.StatsQuery{Query: q, GroupBy: g, Bucket: b, Exclude: ex}
						checkStats(t, s, events, sq, fmt.Sprintf("q=%q range=%d group_by=%s bucket=%s exclusions=%d", f, ri, g, b, len(ex)))
						checked++
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d combinations checked", checked)
	}

	// A retention purge takes the events it deletes out of every count.
	if _, err := s.PurgeEvents(t.Context(), "acme", [][2]int64{{0, 99}, {200, 260}}); err != nil {
		t.Fatal(err)
	}
	kept := events[:0:0]
	for _, e := range events {
		if e.Seq >= 100 && (e.Seq < 200 || e.Seq > 260) {
			kept = append(kept, e)
		}
	}
	for _, g := range groups {
		for _, b := range buckets {
			for _, f := range []string{"", "category:authentication,account -outcome:success", "target:project:1"} {
				sq := &hashtrail.StatsQuery{Query: parse(f), GroupBy: g, Bucket: b}
				checkStats(t, s, kept, sq, fmt.Sprintf("after a purge: q=%q group_by=%s bucket=%s", f, g, b))
			}
		}
	}
	st, err := s.Stats(t.Context(), &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "nobody"}})
	wantCode(t, err, hashtrail.ENOTFOUND, fmt.Sprintf("Stats(unknown tenant) = %v", st))
	_, err = s.Stats(t.Context(), &hashtrail.StatsQuery{Query: hashtrail.Query{Tenant: "acme"}, GroupBy: "ip"})
	wantCode(t, err, hashtrail.EINVALID, "Stats(group_by=ip)")
}

// checkStats compares the store's answer with CountStats.
func checkStats(t *testing.T, s hashtrail.Store, events []*hashtrail.Event, sq *hashtrail.StatsQuery, name string) {
	t.Helper()
	got, err := s.Stats(t.Context(), sq)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, err := hashtrail.CountStats(events, sq)
	if err != nil {
		t.Fatal(err)
	}
	norm := func(st *hashtrail.Stats) {
		if len(st.Groups) == 0 {
			st.Groups = nil
		}
		if len(st.Buckets) == 0 {
			st.Buckets = nil
		}
		for i := range st.Buckets {
			hashtrail.SortGroups(st.Buckets[i].Groups)
			if len(st.Buckets[i].Groups) == 0 {
				st.Buckets[i].Groups = nil
			}
		}
	}
	norm(got)
	norm(want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s:\n got %s\nwant %s", name, g, w)
	}
}
