package client_test

import (
	"encoding/json"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

type address struct {
	City    string `json:"city"`
	Country string `json:"country,omitempty"`
}

type base struct {
	ID int `json:"id"`
}

type user struct {
	base
	Name      string            `json:"name"`
	Email     string            `json:"email"`
	Password  string            `json:"password"`
	APIKey    string            `json:"apiKey"`
	PIN       string            `json:"pin" audit:"secret"`
	Internal  string            `json:"internal" audit:"-"`
	Skipped   string            `json:"-"`
	Address   *address          `json:"address"`
	Roles     []string          `json:"roles"`
	Settings  map[string]any    `json:"settings"`
	UpdatedAt time.Time         `json:"updated_at"`
	Labels    map[string]string `json:"labels,omitempty"`
	Keyboard  string            `json:"keyboard"`
	TokenID   string            `json:"token_id"`
	hidden    string
}

func TestDiff(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := user{base: base{1}, Name: "Ada", Email: "ada@example.com", Password: "hunter2", APIKey: "k1", PIN: "1234",
		Internal: "x", Skipped: "x", Address: &address{City: "London"}, Roles: []string{"a"},
		Settings:  map[string]any{"theme": "dark", "secretValue": "s1", "nested": map[string]any{"x": 1}},
		UpdatedAt: t0, Keyboard: "qwerty", TokenID: "t1", hidden: "h"}
	new := old
	new.Email = "ada@example.org"
	new.Password = "correct horse"
	new.APIKey = "k1" // unchanged secret: no change
	new.PIN = "9999"
	new.Internal, new.Skipped, new.hidden = "y", "y", "i"
	new.Address = &address{City: "Paris", Country: "FR"}
	new.Roles = []string{"a", "b"}
	new.Settings = map[string]any{"theme": "light", "secretValue": "s2", "nested": map[string]any{"x": 2}, "added": true}
	new.UpdatedAt = t0.Add(time.Hour)
	new.Keyboard = "azerty"
	new.TokenID = "t2"

	got := client.Diff(old, &new)
	want := []hashtrail.Change{
		{Field: "email", Old: raw(`"ada@example.com"`), New: raw(`"ada@example.org"`)},
		{Field: "password", Redacted: true},
		{Field: "pin", Redacted: true},
		{Field: "address.city", Old: raw(`"London"`), New: raw(`"Paris"`)},
		{Field: "address.country", Old: raw(`""`), New: raw(`"FR"`)},
		{Field: "roles", Old: raw(`["a"]`), New: raw(`["a","b"]`)},
		{Field: "settings.nested.x", Old: raw(`1`), New: raw(`2`)},
		{Field: "settings.secretValue", Redacted: true},
		{Field: "settings.theme", Old: raw(`"dark"`), New: raw(`"light"`)},
		{Field: "settings.added", New: raw(`true`)},
		{Field: "updated_at", Old: raw(`"2026-01-02T03:04:05Z"`), New: raw(`"2026-01-02T04:04:05Z"`)},
		{Field: "keyboard", Old: raw(`"qwerty"`), New: raw(`"azerty"`)},
		{Field: "token_id", Old: raw(`"t1"`), New: raw(`"t2"`)},
	}
	checkChanges(t, got, want)
}

func TestDiffMapsAndNil(t *testing.T) {
	old := map[string]any{"a": 1, "db": map[string]any{"password": "p", "host": "h"}, "gone": "x"}
	new := map[string]any{"a": 1, "db": map[string]any{"password": "q", "host": "h2"}}
	checkChanges(t, client.Diff(old, new), []hashtrail.Change{
		{Field: "db.host", Old: raw(`"h"`), New: raw(`"h2"`)},
		{Field: "db.password", Redacted: true},
		{Field: "gone", Old: raw(`"x"`)},
	})
	// nil is an empty object: everything is added.
	checkChanges(t, client.Diff(nil, &address{City: "Oslo"}), []hashtrail.Change{
		{Field: "city", New: raw(`"Oslo"`)},
		{Field: "country", New: raw(`""`)},
	})
	// Options: more secrets, skipped paths, every field.
	checkChanges(t, client.Diff(address{City: "A", Country: "B"}, address{City: "C", Country: "D"},
		client.DiffSecret("city"), client.DiffSkip("country")), []hashtrail.Change{{Field: "city", Redacted: true}})
	if n := len(client.Diff(address{}, address{}, client.DiffAll())); n != 2 {
		t.Errorf("DiffAll: %d changes", n)
	}
	// A secret is never in the output, whatever its shape.
	for _, c := range client.Diff(map[string]any{"token": map[string]any{"v": "s1"}}, map[string]any{"token": nil}) {
		if c.Old != nil || c.New != nil || !c.Redacted {
			t.Errorf("secret leaked: %+v", c)
		}
	}
}

// Diff redacts by the project's one name rule, hashtrail.SecretName (its
// cases are in the root package's tests).
func TestDiffSecretNames(t *testing.T) {
	old := map[string]any{"authtoken": "a1", "dbPassword": "p1", "pin": "1", "public_key": "k1", "api_key_id": "i1", "keyboard": "q"}
	new := map[string]any{"authtoken": "a2", "dbPassword": "p2", "pin": "2", "public_key": "k2", "api_key_id": "i2", "keyboard": "z"}
	checkChanges(t, client.Diff(old, new), []hashtrail.Change{
		{Field: "api_key_id", Old: raw(`"i1"`), New: raw(`"i2"`)},
		{Field: "authtoken", Redacted: true},
		{Field: "dbPassword", Redacted: true},
		{Field: "keyboard", Old: raw(`"q"`), New: raw(`"z"`)},
		{Field: "pin", Redacted: true},
		{Field: "public_key", Old: raw(`"k1"`), New: raw(`"k2"`)},
	})
	for name := range old {
		if got := client.Diff(map[string]any{name: 1}, map[string]any{name: 2}); got[0].Redacted != hashtrail.SecretName(name) {
			t.Errorf("Diff of %q: redacted %v, SecretName says %v", name, got[0].Redacted, hashtrail.SecretName(name))
		}
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func checkChanges(t *testing.T, got, want []hashtrail.Change) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Errorf("changes:\n%s\nwant:\n%s", g, w)
	}
}
