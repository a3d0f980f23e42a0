package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// lastEvent returns the newest event of tenant.
func lastEvent(t *testing.T, l *ledger.Ledger, tenant string) *hashtrail.Event {
	t.Helper()
	list, err := l.Events(t.Context(), &hashtrail.Query{Tenant: tenant, Limit: 1})
	if err != nil || len(list.Events) == 0 {
		t.Fatalf("no event in %s: %v", tenant, err)
	}
	return list.Events[0]
}

func exitCode(err error) int {
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestRunRecordsTheCommand(t *testing.T) {
	clearEnv(t)
	l, url := newServer(t)
	remote := []string{"run", "--url", url, "--api-key", adminSecret, "--tenant", "acme"}

	args := append(remote, "--action", "app.deploy", "--target", "app:web", "--actor", "user:alice", "--reason", "OPS-1",
		"--", "sh", "-c", "echo out; echo err >&2; exit 3")
	out, errOut, err := cliErr(t, args...)
	if exitCode(err) != 3 {
		t.Fatalf("exit: %v (stderr %s)", err, errOut)
	}
	mustContain(t, out, "out\n")
	mustContain(t, errOut, "err\n")
	ev := lastEvent(t, l, "acme")
	o := ev.Output
	if ev.Action != "app.deploy" || ev.Outcome != hashtrail.OutcomeFailure || ev.Category != hashtrail.CategoryResource ||
		ev.Reason != "OPS-1" || ev.ActorKey() != "user:alice" || len(ev.Targets) != 1 || ev.Targets[0].Key() != "app:web" ||
		o == nil || o.ExitCode == nil || *o.ExitCode != 3 || o.Stdout != "out\n" || o.Stderr != "err\n" ||
		o.Command != `sh -c 'echo out; echo err >&2; exit 3'` || ev.Context.Source != "cli" {
		t.Fatalf("event %+v output %+v", ev, o)
	}
	var md map[string]any
	if err := json.Unmarshal(ev.Metadata, &md); err != nil || md["duration_ms"] == nil {
		t.Errorf("metadata %s", ev.Metadata)
	}

	// Success, and the default action.
	if _, _, err := cliErr(t, append(remote, "--", "true")...); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, l, "acme"); ev.Action != "command.run" || ev.Outcome != hashtrail.OutcomeSuccess || *ev.Output.ExitCode != 0 {
		t.Errorf("true: %+v", ev)
	}

	// A signal: 128+N, and the signal named.
	_, _, err = cliErr(t, append(remote, "--", "sh", "-c", "kill -TERM $$")...)
	if exitCode(err) != 143 {
		t.Errorf("killed: %v", err)
	}
	if ev := lastEvent(t, l, "acme"); ev.Outcome != hashtrail.OutcomeFailure || !strings.Contains(string(ev.Metadata), `"signal":"SIGTERM"`) {
		t.Errorf("killed: %+v %s", ev, ev.Metadata)
	}

	// A command that does not exist: 127, recorded.
	_, errOut, err = cliErr(t, append(remote, "--", "/nonexistent/deploy.sh")...)
	if exitCode(err) != 127 {
		t.Errorf("not found: %v", err)
	}
	if ev := lastEvent(t, l, "acme"); *ev.Output.ExitCode != 127 || !strings.Contains(ev.Output.Stderr, "nonexistent") {
		t.Errorf("not found: %+v", ev.Output)
	}
}

func TestRunRedactsSecrets(t *testing.T) {
	clearEnv(t)
	l, url := newServer(t)
	t.Setenv("DEPLOY_TOKEN", "s3cr3t-token-value")
	t.Setenv("DEPLOY_ENV", "production")
	_, _, err := cliErr(t, "run", "--url", url, "--api-key", adminSecret, "--tenant", "acme", "--env", "DEPLOY_TOKEN", "--env", "DEPLOY_ENV",
		"--", "sh", "-c", `echo "token=$DEPLOY_TOKEN"; echo "$HASHTRAIL_TEST_KEY"`, "x",
		"--password=hunter2", "--api-key", "k123", "PGPASSWORD=pw", "postgres://app:pw0rd@db/x", "-H", "Authorization: Bearer abc", "-p", "5432")
	if err != nil {
		t.Fatal(err)
	}
	ev := lastEvent(t, l, "acme")
	all := ev.Output.Command + ev.Output.Stdout + ev.Output.Stderr + string(ev.Metadata)
	for _, secret := range []string{"s3cr3t-token-value", "hunter2", "k123", "=pw ", "pw0rd", "Bearer abc", adminSecret} {
		if strings.Contains(all, secret) {
			t.Errorf("%q leaked: %s", secret, all)
		}
	}
	mustContain(t, ev.Output.Command, "--password=[redacted]", "--api-key [redacted]", "PGPASSWORD=[redacted]",
		"postgres://app:[redacted]@db/x", "'Authorization: [redacted]'", "-p 5432")
	mustContain(t, ev.Output.Stdout, "token=[redacted]")
	mustContain(t, string(ev.Metadata), `"DEPLOY_ENV":"production"`, `"DEPLOY_TOKEN":"[redacted]"`)
}

func TestRunRetriesAndReportsFailure(t *testing.T) {
	clearEnv(t)
	old := runBackoff
	runBackoff = func(int) time.Duration { return 10 * time.Millisecond }
	t.Cleanup(func() { runBackoff = old })
	l, target := newServer(t)

	// Two 503s, then through: recorded once.
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var posts atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	if _, errOut, err := cliErr(t, "run", "--url", flaky.URL, "--api-key", adminSecret, "--tenant", "acme", "--", "echo", "hi"); err != nil || errOut != "" {
		t.Fatalf("flaky: %v %s", err, errOut)
	}
	list, _ := l.Events(t.Context(), &hashtrail.Query{Tenant: "acme"})
	if posts.Load() != 3 || len(list.Events) != 1 {
		t.Errorf("%d posts, %d events", posts.Load(), len(list.Events))
	}

	// Nobody there: said on stderr, the command's code all the same.
	flaky.Close()
	_, errOut, err := cliErr(t, "run", "--url", flaky.URL, "--api-key", adminSecret, "--tenant", "acme", "--", "sh", "-c", "exit 4")
	if exitCode(err) != 4 {
		t.Errorf("exit %v", err)
	}
	mustContain(t, errOut, "NOT recorded")

	// Refused (a key of another tenant): said at once.
	nk, err := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: "globex", Role: hashtrail.RoleIngest})
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		l.CreateTenant(t.Context(), &hashtrail.Tenant{ID: "globex"})
		nk, err = l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: "globex", Role: hashtrail.RoleIngest})
	}
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, err = cliErr(t, "run", "--url", target, "--api-key", nk.Secret, "--tenant", "acme", "--", "true")
	if err != nil {
		t.Errorf("exit %v", err)
	}
	mustContain(t, errOut, "NOT recorded", "not found")
}

func TestRunOffline(t *testing.T) {
	clearEnv(t)
	dir := newDataDir(t)
	cli(t, "tenants", "create", "acme", "--data", dir)
	if _, errOut, err := cliErr(t, "run", "--data", dir, "--tenant", "acme", "--", "echo", "offline"); err != nil || errOut != "" {
		t.Fatal(err, errOut)
	}
	l, _ := MustOpen(t, dir)
	if ev := lastEvent(t, l, "acme"); ev.Output.Stdout != "offline\n" {
		t.Errorf("offline: %+v", ev.Output)
	}
}

func TestCapture(t *testing.T) {
	c := newCapture(100)
	for i := 0; i < 100; i++ {
		c.Write([]byte(strings.Repeat(string(rune('a'+i%26)), 7)))
	}
	s := c.String()
	if !c.truncated() || c.total != 700 || !strings.HasPrefix(s, strings.Repeat("a", 7)) || !strings.Contains(s, "[… 600 bytes left out by hashtrail run …]") {
		t.Errorf("capture: %q", s)
	}
	// The tail is the last 50 bytes, in order.
	var want strings.Builder
	for i := 0; i < 100; i++ {
		want.WriteString(strings.Repeat(string(rune('a'+i%26)), 7))
	}
	if !strings.HasSuffix(s, want.String()[650:]) {
		t.Errorf("tail: %q", s)
	}
	c = newCapture(100)
	c.Write([]byte("short\xff"))
	if c.truncated() || c.String() != "short\uFFFD" {
		t.Errorf("short: %q", c.String())
	}
}

func TestRedactArgs(t *testing.T) {
	got := commandLine(redactArgs([]string{"deploy", "--token", "abc", "-p", "22", "--token-type", "bearer", "--secret=x",
		"GITHUB_TOKEN=ghp_x", "HOME=/root", "https://u:p@h/x", "curl://nouser@h", "app:web"}))
	want := "deploy --token [redacted] -p 22 --token-type bearer --secret=[redacted] GITHUB_TOKEN=[redacted] HOME=/root https://u:[redacted]@h/x curl://nouser@h app:web"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCatalogCommands(t *testing.T) {
	clearEnv(t)
	l, url := newServer(t)
	if _, err := l.CreateTenant(t.Context(), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTenant(t.Context(), &hashtrail.Tenant{ID: "globex"}); err != nil {
		t.Fatal(err)
	}
	key := func(tenant string, role hashtrail.Role) string {
		nk, err := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: tenant, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return nk.Secret
	}
	acmeAdmin := key("acme", hashtrail.RoleAdmin)
	file := filepath.Join(t.TempDir(), "catalog.json")
	os.WriteFile(file, []byte(`{"mode":"strict","actions":[{"action":"invoice.pay","severity":"high",
		"metadata_schema":{"type":"object","required":["amount"]}}]}`), 0o644)
	api := func(k string, args ...string) (string, string, error) {
		return cliErr(t, append(args, "--url", url, "--api-key", k)...)
	}
	out, errOut, err := api(acmeAdmin, "catalog", "set", "--tenant", "acme", "-f", file)
	if err != nil {
		t.Fatalf("set: %v %s", err, errOut)
	}
	mustContain(t, out, "version 1, mode strict, 1 actions")
	out, _, err = api(acmeAdmin, "catalog", "show", "--tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "version 1, mode strict", "invoice.pay", "high")
	// Again without a version: replaces the current one.
	if out, _, err = api(acmeAdmin, "catalog", "set", "--tenant", "acme", "-f", file); err != nil || !strings.Contains(out, "version 2") {
		t.Fatalf("set again: %v %s", err, out)
	}
	_, _, err = api(acmeAdmin, "catalog", "set", "--tenant", "acme", "-f", file, "--version", "1")
	mustContain(t, err.Error(), "version 2, not 1", "409")

	out = cli(t, "catalog", "standard")
	mustContain(t, out, "user.login_failed", "3002/1", "command.run")

	// Roles and isolation.
	_, _, err = api(key("acme", hashtrail.RoleRead), "catalog", "show", "--tenant", "acme")
	mustContain(t, err.Error(), "403")
	_, _, err = api(key("globex", hashtrail.RoleAdmin), "catalog", "show", "--tenant", "acme")
	mustContain(t, err.Error(), "404")

	// The strict catalog applies to hashtrail run too.
	_, errOut, err = cliErr(t, "run", "--url", url, "--api-key", acmeAdmin, "--tenant", "acme", "--action", "widget.frobnicate", "--", "true")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, errOut, "NOT recorded", "action", "strict")
	// Over HTTP with ?partial=true: the unknown action is left out and listed.
	body := `{"events":[{"action":"user.login"},{"action":"widget.frobnicate"},{"action":"invoice.pay","metadata":{"amount":1}}]}`
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/tenants/acme/events?partial=true", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+acmeAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Events   []hashtrail.Receipt `json:"events"`
		Rejected []struct {
			Index  int                    `json:"index"`
			Errors []hashtrail.FieldError `json:"errors"`
		} `json:"rejected"`
	}
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ans.Events) != 2 || len(ans.Rejected) != 1 || ans.Rejected[0].Index != 1 || ans.Rejected[0].Errors[0].Field != "events[1].action" {
		t.Errorf("partial: %d %+v", resp.StatusCode, ans)
	}
	// Offline, as the local operator.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := l.TenantCatalog(ctx, "acme")
	if err != nil || c.Version != 2 {
		t.Errorf("offline: %+v %v", c, err)
	}
}
