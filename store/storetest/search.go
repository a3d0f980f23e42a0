package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashtrail/hashtrail"
	searchq "github.com/hashtrail/hashtrail/query"
)

// RunSearch runs the conformance tests of search (hashtrail.Term, written
// in the syntax of package query): every qualifier, negation, alternatives,
// prefixes, free text and phrases, metadata members, combinations, tenant
// isolation and paging. open must return a new, empty store for each call.
// It is apart from Run so that a store can pass Run before it implements
// Query.Terms.
func RunSearch(t *testing.T, open func(t *testing.T) hashtrail.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s hashtrail.Store)
	}{
		{"Action", testSearchAction},
		{"Actor", testSearchActor},
		{"Target", testSearchTarget},
		{"Enums", testSearchEnums},
		{"IPAndCountry", testSearchIPCountry},
		{"Tags", testSearchTags},
		{"Meta", testSearchMeta},
		{"ID", testSearchID},
		{"Text", testSearchText},
		{"Created", testSearchCreated},
		{"Combined", testSearchCombined},
		{"Paging", testSearchPaging},
		{"PagingAtScale", testSearchPagingAtScale},
		{"LookAlikes", testSearchLookAlikes},
		{"TimeOutOfOrder", testSearchTimeOutOfOrder},
		{"Invalid", testSearchInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// seedSearch appends seven events to tenant acme, seqs 0 to 6, and a copy
// of the first, with the same words, to tenant other. Traps: an actor known
// only by email (2), a service actor (3), no actor at all (5), a string "1"
// beside numbers 1 (6 and 0), "pro plus" beside "pro", metadata in an
// array, a target named like a person (1), words split by punctuation.
func seedSearch(t *testing.T, s hashtrail.Store) {
	type spec struct {
		action  string
		cat     hashtrail.Category
		sev     hashtrail.Severity
		out     hashtrail.Outcome
		actor   *hashtrail.Actor
		targets []hashtrail.Target
		ip      string
		country string
		tags    []string
		meta    string
		desc    string
	}
	user := func(id, email, name string) *hashtrail.Actor {
		return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: id, Email: email, Name: name}
	}
	tg := func(typ, id, name string) hashtrail.Target { return hashtrail.Target{Type: typ, ID: id, Name: name} }
	specs := []spec{
		0: {"user.login", hashtrail.CategoryAuthentication, hashtrail.SeverityInfo, hashtrail.OutcomeSuccess,
			user("42", "alice@example.com", "Alice Liddell"), []hashtrail.Target{tg("user", "42", "Alice Liddell")},
			"203.0.113.5", "DE", []string{"web", "prod"},
			`{"plan":"pro","attempts":1,"mfa":true,"billing":{"plan":"team","seats":5}}`, "Alice signed in with a passkey"},
		1: {"role.permission_grant", hashtrail.CategoryAuthorization, hashtrail.SeverityMedium, hashtrail.OutcomeSuccess,
			user("7", "bob@example.com", "Bob Builder"),
			[]hashtrail.Target{tg("role", "admin", "Administrators"), tg("user", "42", "Alice Liddell"), tg("project", "7", "Payments")},
			"2001:db8::1", "FR", []string{"prod"},
			`{"reason":"on-call rotation","ticket":"OPS-1234"}`, "Bob granted admin to Alice in project Payments"},
		2: {"user.login", hashtrail.CategoryAuthentication, hashtrail.SeverityMedium, hashtrail.OutcomeFailure,
			&hashtrail.Actor{Type: hashtrail.ActorUser, Email: "mallory@evil.test"}, nil,
			"198.51.100.7", "RU", nil, `{"attempts":5,"plan":"pro plus"}`, "failed sign-in"},
		3: {"project.update", hashtrail.CategoryResource, hashtrail.SeverityLow, hashtrail.OutcomeUnknown,
			&hashtrail.Actor{Type: hashtrail.ActorService, ID: "deployer", Name: "Deploy Bot"},
			[]hashtrail.Target{tg("project", "7", "Payments"), tg("project", "70", "Payroll")},
			"", "", []string{"ci", "team-payments"}, `{"commit":"abc123","note":"Rotated the deploy key"}`, ""},
		4: {"user.logout", hashtrail.CategoryAuthentication, hashtrail.SeverityInfo, hashtrail.OutcomeSuccess,
			user("42", "alice@example.com", ""), nil, "203.0.113.77", "DE", []string{"web", "web"},
			`{"plan":"free","nested":{"deep":{"x":"y"}},"list":["a","b"]}`, "Alice signed out"},
		5: {"system.startup", hashtrail.CategorySystem, hashtrail.SeverityHigh, hashtrail.OutcomeSuccess,
			nil, nil, "", "", nil, `{"version":"1.2.3"}`, "Server started"},
		6: {"user.password_change", hashtrail.CategoryAccount, hashtrail.SeverityCritical, hashtrail.OutcomeSuccess,
			user("420", "carol@example.com", "Carol"), []hashtrail.Target{tg("user", "420", "Carol")},
			"", "", []string{"security"}, `{"attempts":"1"}`, "Carol changed her password"},
	}
	var events []*hashtrail.Event
	for i, sp := range specs {
		e := newEvent("acme", fmt.Sprintf("s-%c", 'a'+i))
		e.Action, e.Category, e.Severity, e.Outcome = sp.action, sp.cat, sp.sev, sp.out
		e.Actor, e.Targets, e.Tags, e.Description = sp.actor, sp.targets, sp.tags, sp.desc
		e.Metadata = json.RawMessage(sp.meta)
		e.Time = at(10 * i)
		if sp.ip != "" || sp.country != "" {
			e.Context = &hashtrail.Context{IP: sp.ip}
			if sp.country != "" {
				e.Context.Location = &hashtrail.Location{Country: sp.country}
			}
		}
		events = append(events, e)
	}
	decoy := *events[0]
	decoy.Tenant = "other"
	events = append(events, &decoy)
	appendEvents(t, s, events...)
}

// search returns the query of tenant acme for the search text.
func search(t testing.TB, text string) hashtrail.Query {
	t.Helper()
	sr, err := searchq.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	q := hashtrail.Query{Tenant: "acme"}
	sr.Apply(&q)
	return q
}

// wantSearch checks that the search finds exactly the events with seqs
// want, newest first, all of tenant acme.
func wantSearch(t *testing.T, s hashtrail.Store, text string, want ...int64) {
	t.Helper()
	q := search(t, text)
	for _, e := range query(t, s, q) {
		if e.Tenant != "acme" {
			t.Errorf("search %q: an event of tenant %q", text, e.Tenant)
		}
	}
	wantSeqsNamed(t, s, q, text, want...)
}

// wantSeqsNamed is wantSeqs naming the search in its message. It also
// checks that Query.Match, the contract in code, selects the same events
// of tenant acme as read back from the store.
func wantSeqsNamed(t *testing.T, s hashtrail.Store, q hashtrail.Query, name string, want ...int64) {
	t.Helper()
	if want == nil {
		want = []int64{}
	}
	got := seqs(query(t, s, q))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("search %q: seqs %v, want %v", name, got, want)
	}
	matched := []int64{}
	for _, e := range query(t, s, hashtrail.Query{Tenant: q.Tenant, Limit: hashtrail.MaxLimit}) {
		if q.Match(e) {
			matched = append(matched, e.Seq)
		}
	}
	if q.Order == hashtrail.OrderAsc {
		matched = reversed(matched)
	}
	if q.Limit > 0 && len(matched) > q.Limit {
		matched = matched[:q.Limit]
	}
	if fmt.Sprint(matched) != fmt.Sprint(want) {
		t.Errorf("search %q: Query.Match selects seqs %v, want %v", name, matched, want)
	}
}

func testSearchAction(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "action:user.login", 2, 0)
	wantSearch(t, s, "action:user.*", 6, 4, 2, 0)
	wantSearch(t, s, "action:user.log*", 4, 2, 0)
	wantSearch(t, s, "-action:user.*", 5, 3, 1)
	wantSearch(t, s, "action:role.*,system.startup", 5, 1)
	wantSearch(t, s, "-action:user.login,user.logout", 6, 5, 3, 1)
	wantSearch(t, s, "action:user.log")
	wantSearch(t, s, "action:*", 6, 5, 4, 3, 2, 1, 0)
	wantSearch(t, s, "-action:*")
}

func testSearchActor(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "actor:alice@example.com", 4, 0)
	wantSearch(t, s, "actor:ALICE@Example.com", 4, 0)
	wantSearch(t, s, "actor:user:42", 4, 0)
	wantSearch(t, s, "actor:user:4")
	wantSearch(t, s, "-actor:user:42", 6, 5, 3, 2, 1) // 5 has no actor: it is not user:42
	wantSearch(t, s, "actor:user:42,service:deployer", 4, 3, 0)
	wantSearch(t, s, "actor:user:*", 6, 4, 1, 0)
	wantSearch(t, s, "actor:user:42*", 6, 4, 0)
	wantSearch(t, s, "actor:email:*", 2)
	wantSearch(t, s, "actor:email:mallory@evil.test", 2)
	wantSearch(t, s, "actor:mallory@evil.test", 2)
	wantSearch(t, s, "actor:alice@*", 4, 0)
	wantSearch(t, s, "-actor:*", 5)
	wantSearch(t, s, "actor.type:service", 3)
	wantSearch(t, s, "actor.type:user", 6, 4, 2, 1, 0)
	wantSearch(t, s, "-actor.type:user", 5, 3)
	wantSearch(t, s, "actor.type:service,system", 3)
	wantSearch(t, s, "actor.type:*", 6, 4, 3, 2, 1, 0)
}

func testSearchTarget(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "target:project:7", 3, 1)
	wantSearch(t, s, "target:project:70", 3)
	wantSearch(t, s, "target:project:7,role:admin", 3, 1)
	wantSearch(t, s, "-target:project:7", 6, 5, 4, 2, 0)
	wantSearch(t, s, "target:project:*", 3, 1)
	wantSearch(t, s, "target:project:7*", 3, 1)
	wantSearch(t, s, "-target:project:*", 6, 5, 4, 2, 0)
	wantSearch(t, s, "target.type:role", 1)
	wantSearch(t, s, "target.type:user,role", 6, 1, 0)
	wantSearch(t, s, "-target.type:user", 5, 4, 3, 2)
	wantSearch(t, s, "target:*", 6, 3, 1, 0)
	wantSearch(t, s, "-target:*", 5, 4, 2)
	wantSearch(t, s, "target:user:42 target:role:admin", 1)
	wantSearch(t, s, "target:user:42 -target:role:admin", 0)
	wantSearch(t, s, "target:project:7 target:project:70", 3)
	wantSearch(t, s, "target:user:4")
}

func testSearchEnums(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "category:authentication", 4, 2, 0)
	wantSearch(t, s, "category:authentication,account", 6, 4, 2, 0)
	wantSearch(t, s, "-category:authentication", 6, 5, 3, 1)
	wantSearch(t, s, "category:security")
	wantSearch(t, s, "severity:medium", 2, 1)
	wantSearch(t, s, "severity:>=high", 6, 5)
	wantSearch(t, s, "severity:>medium", 6, 5)
	wantSearch(t, s, "severity:<medium", 4, 3, 0)
	wantSearch(t, s, "severity:<=low", 4, 3, 0)
	wantSearch(t, s, "-severity:info", 6, 5, 3, 2, 1)
	wantSearch(t, s, "-severity:>=medium", 4, 3, 0)
	wantSearch(t, s, "severity:info,critical", 6, 4, 0)
	wantSearch(t, s, "outcome:failure", 2)
	wantSearch(t, s, "-outcome:success", 3, 2)
	wantSearch(t, s, "outcome:failure,unknown", 3, 2)
	// The typed filters and terms AND together.
	q := search(t, "-outcome:failure")
	q.MinSeverity = hashtrail.SeverityMedium
	wantSeqsNamed(t, s, q, "MinSeverity=medium -outcome:failure", 6, 5, 1)
}

func testSearchIPCountry(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "ip:203.0.113.0/24", 4, 0)
	wantSearch(t, s, "ip:203.0.113.5", 0)
	wantSearch(t, s, "ip:203.0.113.5,2001:db8::/32", 1, 0)
	wantSearch(t, s, "-ip:203.0.113.0/24", 6, 5, 3, 2, 1)
	wantSearch(t, s, "ip:*", 4, 2, 1, 0)
	wantSearch(t, s, "-ip:*", 6, 5, 3)
	wantSearch(t, s, "country:de", 4, 0)
	wantSearch(t, s, "country:DE,fr", 4, 1, 0)
	wantSearch(t, s, "-country:DE", 6, 5, 3, 2, 1)
	wantSearch(t, s, "country:*", 4, 2, 1, 0)
	wantSearch(t, s, "-country:*", 6, 5, 3)
	wantSearch(t, s, "country:US")
}

func testSearchTags(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "tag:prod", 1, 0)
	wantSearch(t, s, "tag:web", 4, 0) // listed twice in 4, found once
	wantSearch(t, s, "tag:web,ci", 4, 3, 0)
	wantSearch(t, s, "tag:team-*", 3)
	wantSearch(t, s, "tag:pro")
	wantSearch(t, s, "tag:Prod")
	wantSearch(t, s, "-tag:prod", 6, 5, 4, 3, 2)
	wantSearch(t, s, "tag:prod tag:web", 0)
	wantSearch(t, s, "tag:prod -tag:web", 1)
	wantSearch(t, s, "tag:*", 6, 4, 3, 1, 0)
	wantSearch(t, s, "-tag:*", 5, 2)
	wantSearch(t, s, "-tag:team-*,web", 6, 5, 2, 1)
}

func testSearchMeta(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "meta.plan:pro", 0)
	wantSearch(t, s, `meta.plan:"pro plus"`, 2)
	wantSearch(t, s, "meta.plan:pro*", 2, 0)
	wantSearch(t, s, "meta.plan:pro,free", 4, 0)
	wantSearch(t, s, "meta.plan:PRO")
	wantSearch(t, s, "meta.Plan:pro")
	wantSearch(t, s, "-meta.plan:pro", 6, 5, 4, 3, 2, 1)
	wantSearch(t, s, "meta.plan:*", 4, 2, 0)
	wantSearch(t, s, "-meta.plan:*", 6, 5, 3, 1)
	wantSearch(t, s, "meta.billing.plan:team", 0)
	wantSearch(t, s, "meta.billing.seats:5", 0)
	wantSearch(t, s, "meta.billing:team")         // an object never matches a value
	wantSearch(t, s, "meta.nested.deep.x:y", 4)   // any depth
	wantSearch(t, s, "meta.list:a")               // nor does an array
	wantSearch(t, s, "meta.attempts:1", 6, 0)     // the number 1 and the string "1"
	wantSearch(t, s, "meta.attempts:1.0", 0)      // numerically equal; the string "1" is not "1.0"
	wantSearch(t, s, "meta.attempts:5,1e0", 2, 0) // numbers compare as numbers
	wantSearch(t, s, "meta.mfa:true", 0)          // a literal
	wantSearch(t, s, "meta.ticket:OPS-1234", 1)   // whole string
	wantSearch(t, s, "meta.ticket:OPS", nil...)   // not a word of it
	wantSearch(t, s, `meta.reason:"on-call rotation"`, 1)
	wantSearch(t, s, "meta.version:1.2.3", 5)
}

func testSearchID(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "id:s-c", 2)
	wantSearch(t, s, "id:s-a,s-b", 1, 0)
	wantSearch(t, s, "-id:s-a", 6, 5, 4, 3, 2, 1)
	wantSearch(t, s, "id:s-*", 6, 5, 4, 3, 2, 1, 0)
	wantSearch(t, s, "id:s-x")
}

func testSearchText(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "alice", 4, 1, 0)  // description, names, email
	wantSearch(t, s, "ALICE", 4, 1, 0)  // case-insensitive
	wantSearch(t, s, "signed", 4, 0)    // whole words
	wantSearch(t, s, "sign*", 4, 2, 0)  // a prefix: "signed", "sign-in"
	wantSearch(t, s, `"signed in"`, 0)  // a phrase
	wantSearch(t, s, `"in signed"`)     // in order
	wantSearch(t, s, "payments", 3, 1)  // target names, any case
	wantSearch(t, s, "pay*", 3, 1)      // "payments", "payroll"
	wantSearch(t, s, `"deploy key"`, 3) // metadata values
	wantSearch(t, s, "abc123", 3)       // letters and digits together
	wantSearch(t, s, "ops 1234", 1)     // words AND
	wantSearch(t, s, `"OPS-1234"`, 1)   // punctuation splits words
	wantSearch(t, s, "example.com", 6, 4, 1, 0)
	wantSearch(t, s, "mallory", 2) // an email of an actor without id
	wantSearch(t, s, "liddell builder", 1)
	wantSearch(t, s, "-alice", 6, 5, 3, 2)
	wantSearch(t, s, "alice -signed", 1)
	wantSearch(t, s, `-"signed in" alice`, 4, 1)
	wantSearch(t, s, `"1.2.3"`, 5) // metadata values, numbers included
	wantSearch(t, s, "5", 2, 0)    // "attempts":5 and "seats":5
	wantSearch(t, s, "plan")       // member names are not text
	wantSearch(t, s, "user")       // nor are actions or keys
	wantSearch(t, s, "nothingmatches")
	// Alternatives within one text term (no syntax writes them; the
	// Query contract allows them).
	q := hashtrail.Query{Tenant: "acme", Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"mallory", "carol"}}}}
	wantSeqsNamed(t, s, q, "text mallory OR carol", 6, 2)
	q.Terms[0].Not = true
	wantSeqsNamed(t, s, q, "text NOT (mallory OR carol)", 5, 4, 3, 1, 0)
}

func testSearchCreated(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	// Event i is at base + 10i seconds; base is 2021-01-02T03:04:05.123456Z.
	wantSearch(t, s, "created:>=2021-01-02T03:04:25.123456Z", 6, 5, 4, 3, 2)
	wantSearch(t, s, "created:>2021-01-02T03:04:25.123456Z", 6, 5, 4, 3)
	wantSearch(t, s, "created:<2021-01-02T03:04:25.123456Z", 1, 0)
	wantSearch(t, s, "created:<=2021-01-02T03:04:25.123456Z", 2, 1, 0)
	wantSearch(t, s, "created:2021-01-02", 6, 5, 4, 3, 2, 1, 0)
	wantSearch(t, s, "created:<2021-01-02")
	wantSearch(t, s, "created:2021-01-02T03:04:05.123456Z..2021-01-02T03:04:15.123456Z", 1, 0)
	wantSearch(t, s, "created:2021-01-02T03:04:15.123456Z", 1)
	wantSearch(t, s, "created:2021-01-02T04:04:45.123456+01:00..*", 6, 5, 4)
	wantSearch(t, s, "created:*..2021-01-01")
}

func testSearchCombined(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	wantSearch(t, s, "action:user.* -outcome:failure country:DE alice", 4, 0)
	wantSearch(t, s, "target:project:7 -actor.type:service", 1)
	wantSearch(t, s, `tag:prod "signed in"`, 0)
	wantSearch(t, s, "target:project:7 payments -tag:ci", 1)
	wantSearch(t, s, "alice tag:web meta.plan:free", 4)
	wantSearch(t, s, "actor:user:42 -ip:203.0.113.5 created:>=2021-01-02T03:04:15Z", 4)
	wantSearch(t, s, "severity:>=medium category:authorization,authentication ip:2001:db8::/32 bob", 1)
	wantSearch(t, s, "alice created:<2021-01-02T03:04:10Z", 0)
	// A typed filter and terms of the same field AND together.
	q := search(t, "target:project:70")
	q.Target = "project:7"
	wantSeqsNamed(t, s, q, "Target=project:7 target:project:70", 3)
	q = search(t, "alice")
	q.Actions = []string{"user.*"}
	wantSeqsNamed(t, s, q, "Actions=user.* alice", 4, 0)
}

// testSearchPaging walks searches driven by each kind of term page by page,
// in both orders.
func testSearchPaging(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	for text, want := range map[string][]int64{
		"alice":                    {4, 1, 0},
		"tag:web":                  {4, 0},
		"target:project:7":         {3, 1},
		"-outcome:failure sign*":   {4, 0},
		"alice -target:user:42":    {4},
		"meta.plan:* tag:web,prod": {4, 0},
	} {
		for _, order := range []hashtrail.Order{hashtrail.OrderDesc, hashtrail.OrderAsc} {
			var got []int64
			q := search(t, text)
			q.Order, q.Limit = order, 1
			for range 10 {
				page := query(t, s, q)
				if len(page) == 0 {
					break
				}
				seq := page[0].Seq
				got = append(got, seq)
				if order == hashtrail.OrderAsc {
					q.AfterSeq = &seq
				} else {
					q.BeforeSeq = &seq
				}
			}
			w := want
			if order == hashtrail.OrderAsc {
				w = reversed(want)
			}
			if fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("search %q %s, a page of 1 at a time: seqs %v, want %v", text, order, got, w)
			}
		}
	}
}

// testSearchPagingAtScale pages through searches over 600 events whose
// matches are spread out, with several drivers.
func testSearchPagingAtScale(t *testing.T, s hashtrail.Store) {
	var evs []*hashtrail.Event
	for i := range 600 {
		e := newEvent("acme", fmt.Sprintf("p%d", i))
		e.Description = fmt.Sprintf("event number %d", i)
		if i%3 == 0 {
			e.Description += " fizz"
			e.Tags = []string{"three"}
		}
		if i%5 == 0 {
			e.Description += " buzz"
			e.Targets = []hashtrail.Target{{Type: "project", ID: "5"}}
		}
		evs = append(evs, e)
	}
	mustAppend(t, s, group(evs[:300]...), group(evs[300:]...))
	for text, match := range map[string]func(i int) bool{
		"fizz":                       func(i int) bool { return i%3 == 0 },
		"fizz buzz":                  func(i int) bool { return i%15 == 0 },
		"tag:three -buzz":            func(i int) bool { return i%3 == 0 && i%5 != 0 },
		"target:project:5 -fizz":     func(i int) bool { return i%5 == 0 && i%3 != 0 },
		"-tag:three -target:*":       func(i int) bool { return i%3 != 0 && i%5 != 0 },
		`"number 1*"`:                func(i int) bool { return fmt.Sprint(i)[0] == '1' },
		"event tag:three,nothing":    func(i int) bool { return i%3 == 0 },
		"target:project:5 tag:three": func(i int) bool { return i%15 == 0 },
	} {
		var want []int64
		for i := 599; i >= 0; i-- {
			if match(i) {
				want = append(want, int64(i))
			}
		}
		q := search(t, text)
		q.Limit = 7
		var got []int64
		for range 200 {
			page := query(t, s, q)
			for _, e := range page {
				got = append(got, e.Seq)
			}
			if len(page) < q.Limit {
				break
			}
			seq := page[len(page)-1].Seq
			q.BeforeSeq = &seq
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("search %q in pages of 7: %d events %v, want %d %v", text, len(got), got, len(want), want)
		}
	}
}

// testSearchLookAlikes checks values whose words are the same but which
// differ: a store that narrows a search by words (a full-text index) must
// still match exactly.
func testSearchLookAlikes(t *testing.T, s hashtrail.Store) {
	var evs []*hashtrail.Event
	for i, a := range []struct{ id, email, note string }{
		{"a.b", "x.y@example.com", "x-y"}, {"a-b", "x-y@example.com", "x y"}, {"a", "", "X-Y"},
		{"a.b.c", "xy@example.com", "x-y-z"}, {"", "a.b@example.com", "1"},
	} {
		e := newEvent("acme", fmt.Sprintf("l%d", i))
		e.Actor = &hashtrail.Actor{Type: hashtrail.ActorUser, ID: a.id, Email: a.email}
		e.Metadata = json.RawMessage(fmt.Sprintf(`{"note":%q}`, a.note))
		evs = append(evs, e)
	}
	appendEvents(t, s, evs...)
	wantSearch(t, s, "actor:user:a.b", 0)
	wantSearch(t, s, "actor:user:a-b", 1)
	wantSearch(t, s, "actor:user:a", 2)
	wantSearch(t, s, "actor:user:a.b*", 3, 0)
	wantSearch(t, s, "actor:user:a*", 3, 2, 1, 0)
	wantSearch(t, s, "actor:email:a.b@example.com", 4)
	wantSearch(t, s, "actor:email:a.b*", 4)
	wantSearch(t, s, "actor:x.y@example.com", 0)
	wantSearch(t, s, "actor:x-y@example.com", 1)
	wantSearch(t, s, "actor:x.y@*", 0)
	wantSearch(t, s, "meta.note:x-y", 0)
	wantSearch(t, s, `meta.note:"x y"`, 1)
	wantSearch(t, s, "meta.note:x-y*", 3, 0)
	wantSearch(t, s, "meta.note:x-y,X-Y", 2, 0)
	wantSearch(t, s, "meta.note:1", 4)
	wantSearch(t, s, "actor:user:a,user:a-b meta.note:x*", 1)
}

// testSearchTimeOutOfOrder checks time ranges over events whose times do
// not follow their seqs: hours apart, a late one, one far in the past and
// one in the future, in two tenants. A store that maps times to stretches of
// the log must still find every event.
func testSearchTimeOutOfOrder(t *testing.T, s hashtrail.Store) {
	hours := []int{0, 1, 2, 3, 30, 4, 1, -50000, 5, 100000, 2}
	var evs []*hashtrail.Event
	for i, h := range hours {
		for _, tenant := range []string{"acme", "other"} {
			e := newEvent(tenant, fmt.Sprintf("t%d", i))
			e.Time = at(h*3600 + i)
			evs = append(evs, e)
		}
	}
	appendEvents(t, s, evs...)
	hour := func(h int) string { return at(h * 3600).Format("2006-01-02T15:04:05.000000Z07:00") }
	wantSearch(t, s, "created:<"+hour(1), 7, 0)
	wantSearch(t, s, "created:"+hour(1)+".."+hour(2), 6, 1) // B is an instant: included to its microsecond
	wantSearch(t, s, "created:>="+hour(5), 9, 8, 4)
	wantSearch(t, s, "created:>"+hour(100000), 9)
	wantSearch(t, s, "created:<"+hour(-49999), 7)
	wantSearch(t, s, "created:"+hour(6)+".."+hour(29))
	q := search(t, "created:<"+hour(2))
	q.Limit, q.Order = 2, hashtrail.OrderAsc
	wantSeqsNamed(t, s, q, "created:<hour 2, asc, limit 2", 0, 1)
	q.AfterSeq = ptr(int64(1))
	wantSeqsNamed(t, s, q, "created:<hour 2, asc, after 1", 6, 7)
}

func testSearchInvalid(t *testing.T, s hashtrail.Store) {
	seedSearch(t, s)
	for _, term := range []hashtrail.Term{
		{Field: "nonsense", Values: []string{"x"}},
		{Field: hashtrail.TermSeverity, Values: []string{"huge"}},
		{Field: hashtrail.TermIP, Values: []string{"not-an-ip"}},
	} {
		_, err := s.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Terms: []hashtrail.Term{term}})
		if hashtrail.ErrorCode(err) != hashtrail.EINVALID {
			t.Errorf("Events with term %+v: %v, want EINVALID", term, err)
		}
	}
}

func reversed(s []int64) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
