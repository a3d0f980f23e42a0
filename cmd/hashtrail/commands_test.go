package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// connection is how a test reaches the installation: the flags and the
// ledger behind them, to ingest events.
type connection struct {
	name  string
	setup func(t *testing.T) (flags []string, ingest func(raws ...string))
}

// connections returns the two ways of reaching Hashtrail, so each test runs
// once offline and once through the API.
func connections() []connection {
	return []connection{
		{name: "offline", setup: func(t *testing.T) ([]string, func(...string)) {
			dir := newDataDir(t)
			ing := func(raws ...string) {
				l, closeAll := MustOpen(t, dir)
				defer closeAll()
				ingest(t, l, "acme", raws...)
			}
			return []string{"--data", dir}, ing
		}},
		{name: "api", setup: func(t *testing.T) ([]string, func(...string)) {
			l, url := newServer(t)
			return []string{"--url", url, "--api-key", adminSecret}, func(raws ...string) { ingest(t, l, "acme", raws...) }
		}},
	}
}

func TestTenants(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, _ := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }

			out := cli(t, with("tenants", "create", "acme", "--name", "Acme Inc.")...)
			mustContain(t, out, "created tenant acme (Acme Inc.)")
			cli(t, with("tenants", "create", "globex")...)

			out = cli(t, with("tenants", "list")...)
			mustContain(t, out, "ID", "EVENTS", "acme", "Acme Inc.", "globex", hashtrail.SystemTenant)

			var tn hashtrail.Tenant
			decode(t, cli(t, with("tenants", "show", "acme", "--json")...), &tn)
			if tn.ID != "acme" || tn.Name != "Acme Inc." || tn.CreatedAt.IsZero() {
				t.Errorf("show --json = %+v", tn)
			}

			mustContain(t, cli(t, with("tenants", "rename", "acme", "Acme Corporation")...), "renamed tenant acme (Acme Corporation)")
			mustContain(t, cli(t, with("tenants", "show", "acme")...), "name:    Acme Corporation", "events:  0")

			mustContain(t, cli(t, with("tenants", "delete", "globex")...), "deleted tenant globex")
			_, _, err := cliErr(t, with("tenants", "show", "globex")...)
			if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
				t.Errorf("show of a deleted tenant: %v (code %q), want not found", err, hashtrail.ErrorCode(err))
			}

			_, _, err = cliErr(t, with("tenants", "create", "Not Valid")...)
			if err == nil || !strings.Contains(err.Error(), "id: must match") {
				t.Errorf("create with a bad id: %v", err)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, _ := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)

			out, errOut, err := cliErr(t, with("keys", "create", "--tenant", "acme", "--role", "ingest", "--name", "web app", "--expires-in", "30d")...)
			if err != nil {
				t.Fatal(err)
			}
			mustContain(t, out, "id:", "tenant:  acme", "role:    ingest", "name:    web app", "secret:  htk_")
			mustContain(t, errOut, "shown only this once")
			secret := field(out, "secret:")
			id := field(out, "id:")

			var nk hashtrail.NewKey
			decode(t, cli(t, with("keys", "create", "--installation", "--role", "read", "--json")...), &nk)
			if nk.Tenant != hashtrail.AllTenants || nk.Role != hashtrail.RoleRead || !strings.HasPrefix(nk.Secret, hashtrail.KeyPrefix) {
				t.Errorf("create --json = %+v", nk)
			}

			list := cli(t, with("keys", "list", "--tenant", "acme")...)
			mustContain(t, list, "ID", "LAST USED", id, "web app", "ingest", hashtrail.KeyHint(secret))
			if strings.Contains(list, secret) || strings.Contains(list, nk.ID) {
				t.Errorf("keys list --tenant acme shows a secret or another scope's key:\n%s", list)
			}
			all := cli(t, with("keys", "list")...)
			mustContain(t, all, id, nk.ID, "installation")
			if strings.Contains(all, secret) || strings.Contains(all, nk.Secret) {
				t.Errorf("keys list shows a secret:\n%s", all)
			}

			mustContain(t, cli(t, with("keys", "revoke", "--tenant", "acme", id)...), "revoked key "+id)
			var kl struct{ Keys []*hashtrail.APIKey }
			decode(t, cli(t, with("keys", "list", "--tenant", "acme", "--json")...), &kl)
			if len(kl.Keys) != 1 || kl.Keys[0].ID != id || kl.Keys[0].RevokedAt.IsZero() || kl.Keys[0].ExpiresAt.IsZero() {
				t.Errorf("after revoke: %+v", kl.Keys)
			}
			_, _, err = cliErr(t, with("keys", "revoke", "--installation", id)...)
			if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
				t.Errorf("revoking a tenant key as installation-wide: %v", err)
			}

			_, _, err = cliErr(t, with("keys", "create", "--tenant", "acme", "--role", "owner")...)
			if err == nil || !strings.Contains(err.Error(), "--role: must be ingest, read or admin") {
				t.Errorf("bad role: %v", err)
			}
			_, _, err = cliErr(t, with("keys", "create", "--role", "read")...)
			if err == nil || !strings.Contains(err.Error(), "--installation") {
				t.Errorf("no scope: %v", err)
			}
		})
	}
}

// field returns the value after label on its line of out.
func field(out, label string) string {
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestEvents(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, ing := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)
			ing(sampleEvents...)

			table := cli(t, with("events", "--tenant", "acme")...)
			lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
			if len(lines) != 6 {
				t.Fatalf("want a header and 5 rows, got:\n%s", table)
			}
			mustContain(t, lines[0], "TIME", "SEQ", "ACTION", "OUTCOME", "ACTOR", "TARGETS", "IP")
			// Newest first; failures and high severities marked; columns aligned.
			mustContain(t, lines[1], "2026-01-02T10:04:00Z", "app.env_var_add", "user:42", "project:7", "203.0.113.9")
			mustContain(t, lines[2], "!!", "project.delete", "service:deployer")
			mustContain(t, lines[3], "!", "role:admin,user:43")
			mustContain(t, lines[4], "x", "FAILURE", "user:43", "198.51.100.2")
			col := strings.Index(lines[0], "ACTION")
			for _, l := range lines[1:] {
				if l[col-1] != ' ' || l[col] == ' ' {
					t.Errorf("ACTION column not aligned at %d:\n%s", col, table)
				}
			}

			evs := jsonLines(t, cli(t, with("events", "--tenant", "acme", "--json", "--order", "asc")...))
			if ids(evs) != "e0,e1,e2,e3,e4" || evs[2].Seq != 2 || evs[0].Tenant != "acme" {
				t.Errorf("--json --order asc = %s", ids(evs))
			}

			filtered := []struct {
				args []string
				want string
			}{
				{[]string{"--outcome", "failure"}, "e1"},
				{[]string{"--severity", "high"}, "e3,e2"},
				{[]string{"--action", "user.*"}, "e1,e0"},
				{[]string{"--action", "project.delete,app.env_var_add"}, "e4,e3"},
				{[]string{"--actor", "user:42", "--target", "project:7"}, "e4"},
				{[]string{"--ip", "203.0.113.0/24"}, "e4,e0"},
				{[]string{"--since", "2026-01-02T10:02:00Z", "--until", "2026-01-02T10:04:00Z"}, "e3,e2"},
				{[]string{"-q", "action:user.* -outcome:failure"}, "e0"},
				{[]string{"--q", "target:project:7 actor:user:42 ip:203.0.113.0/24"}, "e4"},
				{[]string{"--action", "user.*", "-q", "-actor:user:42 created:<2026-01-02T10:04:00Z"}, "e1"},
			}
			for _, f := range filtered {
				got := ids(jsonLines(t, cli(t, with(append([]string{"events", "--tenant", "acme", "--json"}, f.args...)...)...)))
				if got != f.want {
					t.Errorf("events %v = %s, want %s", f.args, got, f.want)
				}
			}

			if _, _, err := cliErr(t, with("events", "--tenant", "acme", "-q", "action:user.* acton:x")...); err == nil ||
				!strings.Contains(err.Error(), `--q: position 15: unknown qualifier "acton" (did you mean action?)`) {
				t.Errorf("events -q with a typo: %v", err)
			}

			// One page, then the cursor it names on stderr, then --all.
			out, errOut, err := cliErr(t, with("events", "--tenant", "acme", "--json", "--limit", "2")...)
			if err != nil || ids(jsonLines(t, out)) != "e4,e3" {
				t.Fatalf("--limit 2: %v %s", err, out)
			}
			cursor := strings.Fields(strings.TrimPrefix(errOut, "more events: --cursor "))[0]
			out = cli(t, with("events", "--tenant", "acme", "--json", "--limit", "2", "--cursor", cursor)...)
			if got := ids(jsonLines(t, out)); got != "e2,e1" {
				t.Errorf("--cursor = %s", got)
			}
			for _, order := range []string{"asc", "desc"} {
				want := "e4,e3,e2,e1,e0"
				if order == "asc" {
					want = "e0,e1,e2,e3,e4"
				}
				out, errOut, err := cliErr(t, with("events", "--tenant", "acme", "--json", "--limit", "2", "--all", "--order", order)...)
				if err != nil || ids(jsonLines(t, out)) != want || errOut != "" {
					t.Errorf("--all --order %s: %v %s %s", order, err, ids(jsonLines(t, out)), errOut)
				}
			}
			table = cli(t, with("events", "--tenant", "acme", "--limit", "2", "--all")...)
			if n := strings.Count(table, "\n"); n != 6 || strings.Count(table, "ACTION") != 1 {
				t.Errorf("--all table has %d lines:\n%s", n, table)
			}

			_, _, err = cliErr(t, with("events", "--tenant", "nope")...)
			if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
				t.Errorf("unknown tenant: %v", err)
			}
		})
	}
}

func TestEventsBadFlags(t *testing.T) {
	clearEnv(t)
	dir := newDataDir(t)
	_, _, err := cliErr(t, "events", "--data", dir, "--tenant", "acme", "--severity", "huge", "--ip", "nowhere", "--since", "yesterday", "--action", "User.Login")
	if hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	mustContain(t, msg, "invalid flags", "\n  --severity: ", "\n  --ip: ", "\n  --since: ", "\n  --action: ")

	_, _, err = cliErr(t, "events", "--data", t.TempDir(), "--tenant", "acme")
	if err == nil || !strings.Contains(err.Error(), "no Hashtrail database at") {
		t.Errorf("empty data directory: %v", err)
	}
	_, _, err = cliErr(t, "events", "--data", dir, "--url", "http://127.0.0.1:1", "--tenant", "acme")
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--data and --url: %v", err)
	}
}

func TestAPIErrors(t *testing.T) {
	clearEnv(t)
	_, url := newServer(t)

	// A wrong key: the problem's detail and status, never the key itself.
	bad := "htk_wrong-wrong-wrong-wrong-wrong-wrong-wrong"
	_, _, err := cliErr(t, "tenants", "list", "--url", url, "--api-key", bad)
	if hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), bad) {
		t.Errorf("bad key: %v", err)
	}

	// The environment supplies the URL and key.
	t.Setenv(envURL, url)
	t.Setenv(envAPIKey, adminSecret)
	mustContain(t, cli(t, "tenants", "list"), hashtrail.SystemTenant)

	// A read key may not create keys: 403 with the server's reason.
	var nk hashtrail.NewKey
	cli(t, "tenants", "create", "acme")
	decode(t, cli(t, "keys", "create", "--tenant", "acme", "--role", "read", "--json"), &nk)
	_, _, err = cliErr(t, "keys", "create", "--tenant", "acme", "--role", "read", "--api-key", nk.Secret)
	if hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN || !strings.Contains(err.Error(), "403") {
		t.Errorf("read key creating a key: %v", err)
	}
	// A tenant key cannot see another tenant: 404.
	cli(t, "tenants", "create", "globex")
	_, _, err = cliErr(t, "events", "--tenant", "globex", "--api-key", nk.Secret)
	if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("other tenant: %v", err)
	}

	// Nothing listens: a readable message.
	_, _, err = cliErr(t, "tenants", "list", "--url", "http://127.0.0.1:1")
	var ce *cliError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "cannot reach http://127.0.0.1:1") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestOfflineFollowsServeConfiguration(t *testing.T) {
	clearEnv(t)
	dir := newDataDir(t)

	// The data directory from the environment, as serve reads it.
	t.Setenv(envName("data"), dir)
	mustContain(t, cli(t, "tenants", "create", "acme"), "created tenant acme")
	t.Setenv(envName("data"), "")

	// The store URL, and the YAML file, name the same database.
	mustContain(t, cli(t, "tenants", "list", "--store", "sqlite://"+filepath.Join(dir, dbFile)), "acme")
	conf := filepath.Join(t.TempDir(), "hashtrail.yaml")
	if err := os.WriteFile(conf, []byte("data: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustContain(t, cli(t, "tenants", "show", "acme", "--config", conf), "id:      acme")

	// An explicit offline flag wins over HASHTRAIL_URL.
	t.Setenv(envURL, "http://127.0.0.1:1")
	t.Setenv(envAPIKey, adminSecret)
	mustContain(t, cli(t, "tenants", "list", "--data", dir), "acme")
	_, _, err := cliErr(t, "tenants", "list")
	if hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE {
		t.Errorf("HASHTRAIL_URL without a server: %v", err)
	}
}
