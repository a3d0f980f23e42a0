package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestVerifyAfterErasure erases a subject with the engine on a served data
// directory, then runs `hashtrail verify --data`: it passes; personal values
// deleted without an announcement fail it.
func TestVerifyAfterErasure(t *testing.T) {
	fx := newTamperFixture(t)
	dir, _ := fx.copyData(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := checkpoint.LoadOrCreateKey(func(string) string { return "" }, filepath.Join(dir, "signing-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ledger.SetupLog(t.Context(), st, ledger.LogSetup{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(st, ledger.Config{Signer: key, ServerName: id.ServerName, CheckpointInterval: 10 * time.Millisecond})
	ctx := t.Context()
	n, err := led.EraseSubject(ctx, tamperTenant, "u3@example.com")
	if err != nil || n != tamperEvents/5 {
		t.Fatalf("EraseSubject = %d, %v; want %d", n, err, tamperEvents/5)
	}
	if n, err := led.EraseSubject(ctx, tamperTenant, "user:3"); err != nil || n != 0 {
		t.Errorf("EraseSubject of the same person by id = %d, %v; want 0", n, err)
	}
	if err := led.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fx.wantOK(t, "--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant)

	// Personal values deleted without an announcement are tampering.
	st, err = sqlite.Open(t.Context(), filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := st.SubjectRoles(ctx, tamperTenant, "user:99")
	if err != nil || len(roles) == 0 {
		t.Fatalf("SubjectRoles(user:99) = %v, %v", roles, err)
	}
	if _, err := st.ErasePersonal(ctx, tamperTenant, roles[:1]); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant}, "no signed system.subject_erased")
}

// TestSubjectsCommands runs hashtrail subjects offline and through the API:
// the access export, a legal hold that wins, the erasure, and a second
// erasure that erases nothing.
func TestSubjectsCommands(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, ing := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)
			ing(`{"id":"s1","action":"user.login","actor":{"type":"user","id":"42","email":"alice@example.com","name":"Alice"},"context":{"ip":"203.0.113.9"}}`,
				`{"id":"s2","action":"user.view","actor":{"type":"user","id":"7"},"targets":[{"type":"user","id":"42","name":"Alice"}]}`,
				`{"id":"s3","action":"user.login","actor":{"type":"user","id":"7","email":"bob@example.com"}}`)
			evs := jsonLines(t, cli(t, with("subjects", "events", "user:42", "--tenant", "acme")...))
			if ids(evs) != "s1,s2" || evs[0].Actor.Email != "alice@example.com" {
				t.Errorf("subjects events = %s", ids(evs))
			}
			hold := strings.TrimSpace(cli(t, with("holds", "add", "--tenant", "acme", "--filter", "actor:user:42", "--reason", "case 1")...))
			_, _, err := cliErr(t, with("subjects", "erase", "alice@example.com", "--tenant", "acme")...)
			if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT || !strings.Contains(err.Error(), hold) {
				t.Errorf("erase under a hold: %v, want a conflict naming %s", err, hold)
			}
			cli(t, with("holds", "remove", "--tenant", "acme", hold)...)
			// These fixtures sign no checkpoints: an erasure cannot wait for one,
			// so it is refused before announcing anything (TestVerifyAfterErasure
			// and the ledger's tests erase with a signer).
			_, _, err = cliErr(t, with("subjects", "erase", "user:42", "--tenant", "acme")...)
			if hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE || !strings.Contains(err.Error(), "signs no checkpoints") {
				t.Errorf("erase without a signing key: %v", err)
			}
			if evs := jsonLines(t, cli(t, with("events", "--tenant", "acme", "--json", "-q", "action:system.subject_erased")...)); len(evs) != 0 {
				t.Errorf("an erasure refused for want of a signer was announced: %s", ids(evs))
			}
		})
	}
}

// TestVerifyAPIAfterErasure serves a data directory with the real server,
// erases a subject through the API (one tenant, then every tenant), and
// verifies the log through the API and offline.
func TestVerifyAPIAfterErasure(t *testing.T) {
	fx := newTamperFixture(t)
	dir, _ := fx.copyData(t)
	srv := startServer(t, dir)
	post := func(path string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+crashKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := post("/v1/tenants/" + tamperTenant + "/subjects/user:3/erase")
	if code != 200 || out["redacted_events"] != float64(tamperEvents/5) {
		t.Fatalf("erase user:3: %d %v", code, out)
	}
	// The target user:99 is in every event of both tenants.
	code, out = post("/v1/subjects/user:99/erase")
	if code != 200 || out["redacted_events"] != float64(tamperEvents+10) {
		t.Fatalf("erase user:99 everywhere: %d %v", code, out)
	}
	if code, out = post("/v1/subjects/user:99/erase"); code != 200 || out["redacted_events"] != float64(0) {
		t.Errorf("erase user:99 again: %d %v", code, out)
	}
	fx.wantOK(t, "--url", srv.url, "--api-key", crashKey, "--tenant", tamperTenant, "--log-key", fx.logKey)
	fx.wantOK(t, "--url", srv.url, "--api-key", crashKey, "--tenant", "globex", "--log-key", fx.logKey)
	stopServer(t, srv)
	fx.wantOK(t, "--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant)
}
