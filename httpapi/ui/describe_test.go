package ui

import (
	"encoding/json"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// TestOwnSentences: Hashtrail's own administrative events read as
// sentences, and none shadows a catalog action (the catalog's wins).
func TestOwnSentences(t *testing.T) {
	for action := range ownSentences {
		if _, ok := sentences[action]; ok {
			t.Errorf("%s is in both tables", action)
		}
	}
	var e hashtrail.Event
	json.Unmarshal([]byte(`{"action":"tenant.suspend","actor":{"type":"api_key","id":"key_1"},"targets":[{"type":"tenant","id":"acme","name":"Acme Corp"}]}`), &e)
	if got := describe(&e).String(); got != "API key key_1 suspended tenant Acme Corp" {
		t.Errorf("got %q", got)
	}
}

// TestEveryCatalogActionHasASentence keeps the sentence table complete:
// every action of the standard catalog is told in its own words.
func TestEveryCatalogActionHasASentence(t *testing.T) {
	for _, e := range hashtrail.Catalog {
		if _, ok := sentences[e.Action]; !ok {
			t.Errorf("%s has no sentence", e.Action)
		}
	}
}

func TestDescribe(t *testing.T) {
	ev := func(js string) *hashtrail.Event {
		var e hashtrail.Event
		if err := json.Unmarshal([]byte(js), &e); err != nil {
			t.Fatal(err)
		}
		return &e
	}
	for _, tc := range []struct{ event, want string }{
		{`{"action":"role.assign","actor":{"type":"user","id":"1","email":"alice@example.com"},
		  "targets":[{"type":"user","id":"2","name":"bob"},{"type":"role","id":"admin"},{"type":"project","id":"7","name":"Payments"}]}`,
			"alice@example.com added bob to role admin in project Payments"},
		{`{"action":"user.login","actor":{"type":"user","id":"1","name":"Alice","auth":{"method":"webauthn"}},"context":{"location":{"country":"JP","city":"Tokyo"}}}`,
			"Alice signed in with webauthn from Tokyo, JP"},
		{`{"action":"user.login_failed","actor":{"type":"user","email":"root@acme.example"}}`, "root@acme.example failed to sign in"},
		{`{"action":"app.env_var_change","actor":{"type":"user","id":"3"},"targets":[{"type":"app","id":"checkout"},{"type":"env_var","id":"DATABASE_URL"}]}`,
			"user 3 changed environment variable DATABASE_URL of checkout"},
		{`{"action":"app.deploy","actor":{"type":"api_key","id":"ak_1","name":"CI"},"targets":[{"type":"app","id":"web"}],"metadata":{"git_ref":"abc1234"}}`,
			"CI deployed web at abc1234"},
		{`{"action":"command.run","actor":{"type":"user","id":"1","name":"Ops"},"output":{"command":"rake db:migrate"}}`, "Ops ran rake db:migrate"},
		{`{"action":"project.update","actor":{"type":"user","id":"1","name":"A"},"targets":[{"type":"project","id":"7"}],"changes":[{"field":"name"},{"field":"visibility"}]}`,
			"A updated project 7 (name, visibility)"},
		{`{"action":"role.create","actor":{"type":"system"}}`, "The system created role a role"},
		{`{"action":"invoice.void","actor":{"type":"user","id":"1","name":"Bea"},"targets":[{"type":"invoice","id":"in_1"},{"type":"customer","id":"c9","name":"Initech"}]}`,
			"Bea performed invoice.void on in_1 and Initech"},
		{`{"action":"access.grant"}`, "Someone granted access to nothing named"},
	} {
		if got := describe(ev(tc.event)).String(); got != tc.want {
			t.Errorf("%s\n got %q\nwant %q", strings.Join(strings.Fields(tc.event), " "), got, tc.want)
		}
	}
	// The actor and targets link to their pages.
	s := describe(ev(`{"action":"member.add","actor":{"type":"user","id":"1","name":"A"},"targets":[{"type":"user","id":"2","name":"B"},{"type":"team","id":"t/1"}]}`))
	var links []string
	for _, p := range s {
		if p.Href != "" {
			links = append(links, p.Href)
		}
	}
	if strings.Join(links, " ") != "people/user:1 people/user:2 objects/team/t%2F1" {
		t.Errorf("links: %v", links)
	}
}
