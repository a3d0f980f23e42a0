package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/notify/notifytest"
)

func TestAlertsAndDigestsCommands(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, _ := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)

			out := cli(t, with("alerts", "add", "--tenant", "acme", "--name", "brute force", "--filter", "action:user.login outcome:failure",
				"--threshold", "5/10m", "--group-by", "actor", "--email", "sec@example.com")...)
			mustContain(t, out, "name:      brute force", "condition: 5 in 10m per actor of action:user.login outcome:failure", "notify:    sec@example.com")
			id := field(out, "id:")
			var hook hashtrail.AlertRule
			decode(t, cli(t, with("alerts", "add", "--tenant", "acme", "--name", "new country", "--novelty", "country", "--per", "actor",
				"--webhook", "https://hooks.example.com/a", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "--json")...), &hook)
			if hook.Novelty == nil || hook.Novelty.Field != "country" || hook.Webhook.Secrets[0] != hashtrail.RedactedSecret {
				t.Errorf("add --json = %+v", hook)
			}
			mustContain(t, cli(t, with("alerts", "list", "--tenant", "acme")...), "ID", id, hook.ID, "brute force", "new country per actor", "webhook hooks.example.com")
			var list api.AlertList
			decode(t, cli(t, with("alerts", "list", "--tenant", "acme", "--json")...), &list)
			if len(list.Alerts) != 2 {
				t.Errorf("list --json: %+v", list)
			}
			mustContain(t, cli(t, with("alerts", "show", "--tenant", "acme", id)...), "cooldown:  15m (default)")
			mustContain(t, cli(t, with("alerts", "firings", "--tenant", "acme", id)...), "FIRED", "REASON")

			_, _, err := cliErr(t, with("alerts", "add", "--tenant", "acme", "--threshold", "five", "--email", "a@example.com")...)
			if err == nil || !strings.Contains(err.Error(), "--threshold") {
				t.Errorf("a bad --threshold: %v", err)
			}
			_, _, err = cliErr(t, with("alerts", "add", "--tenant", "acme", "--threshold", "5/10m", "--group-by", "shoe", "--email", "a@example.com")...)
			if err == nil || !strings.Contains(err.Error(), "threshold.group_by") {
				t.Errorf("a bad --group-by: %v", err)
			}

			// update: only the flags given change.
			out = cli(t, with("alerts", "update", "--tenant", "acme", id, "--disabled", "--cooldown", "1h", "--novelty", "ip_range", "--per", "actor")...)
			mustContain(t, out, "condition: new ip_range per actor of action:user.login outcome:failure", "cooldown:  1h", "state:     off", "notify:    sec@example.com")
			var up hashtrail.AlertRule
			decode(t, cli(t, with("alerts", "update", "--tenant", "acme", hook.ID, "--webhook", "https://hooks.example.com/b", "--json")...), &up)
			if up.Webhook == nil || up.Webhook.URL != "https://hooks.example.com/b" || len(up.Webhook.Secrets) != 1 {
				t.Errorf("update --webhook: %+v", up.Webhook)
			}
			up = hashtrail.AlertRule{}
			decode(t, cli(t, with("alerts", "update", "--tenant", "acme", hook.ID, "--no-webhook", "--email", "ops@example.com", "--json")...), &up)
			if up.Webhook != nil || len(up.Email) != 1 || up.Novelty == nil {
				t.Errorf("update --no-webhook: %+v", up)
			}

			mustContain(t, cli(t, with("alerts", "remove", "--tenant", "acme", id)...), "removed alert rule "+id)
			_, _, err = cliErr(t, with("alerts", "show", "--tenant", "acme", id)...)
			if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
				t.Errorf("show of a removed rule: %v", err)
			}

			mustContain(t, cli(t, with("digests", "show", "--tenant", "acme")...), "digest: off")
			mustContain(t, cli(t, with("digests", "set", "--tenant", "acme", "--weekly", "--to", "sec@example.com", "--to", "cto@example.com")...),
				"digest: weekly, after 07:00 UTC, to sec@example.com, cto@example.com")
			_, _, err = cliErr(t, with("digests", "set", "--tenant", "acme", "--daily", "--to", "not an address")...)
			if err == nil || !strings.Contains(err.Error(), "to[0]") {
				t.Errorf("a bad --to: %v", err)
			}
			_, _, err = cliErr(t, with("digests", "send", "--tenant", "acme", "--now")...)
			if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
				t.Errorf("send without a mail server: %v", err)
			}
		})
	}
}

// TestServeSendsAlertsAndDigestsByEmail runs `hashtrail serve` with
// --smtp-url pointing at a real SMTP server: a rule added with the CLI
// fires on events ingested over HTTP, and `digests send --now` mails the
// digest; both arrive in the mailbox with links under --public-url.
func TestServeSendsAlertsAndDigestsByEmail(t *testing.T) {
	mbox := notifytest.StartPlain(t)
	isolateEnv(t)
	srv := runServeCmd(t, "--data", t.TempDir(), "--smtp-url", mbox.URL, "--smtp-from", "Hashtrail <audit@example.com>",
		"--public-url", "https://audit.example.com")
	key := srv.bootstrapKey()
	c := &http.Client{Timeout: 10 * time.Second}
	if st := callJSON(t, c, http.MethodPost, srv.url+"/v1/tenants", key, map[string]any{"id": "acme"}, nil); st != http.StatusCreated {
		t.Fatalf("create tenant: %d", st)
	}
	remote := []string{"--url", srv.url, "--api-key", key}
	out := cli(t, append([]string{"alerts", "add", "--tenant", "acme", "--name", "brute force", "--filter", "action:user.login outcome:failure",
		"--threshold", "3/10m", "--group-by", "actor", "--email", "sec@example.com"}, remote...)...)
	id := field(out, "id:")
	var got api.IngestResponse
	evs := []any{}
	for range 3 {
		e := loginEvent("")
		delete(e, "id")
		e["outcome"] = "failure"
		evs = append(evs, e)
	}
	if st := callJSON(t, c, http.MethodPost, srv.url+"/v1/tenants/acme/events", key, map[string]any{"events": evs}, &got); st != http.StatusOK {
		t.Fatalf("ingest: %d", st)
	}
	m := mbox.Wait(t, 1, 20*time.Second)[0]
	link := "https://audit.example.com/ui/t/acme/events/" + got.Events[2].ID
	if m.Subject != "[Hashtrail] Alert: brute force (acme)" || !strings.Contains(m.Text, link) || m.Header.Get("X-Hashtrail-Alert") != id {
		t.Errorf("alert mail %q:\n%s", m.Subject, m.Text)
	}
	mustContain(t, cli(t, append([]string{"alerts", "firings", "--tenant", "acme", id}, remote...)...), "3 events in 10m0s for one actor", "user:42", "yes")

	cli(t, append([]string{"digests", "set", "--tenant", "acme", "--daily", "--to", "sec@example.com"}, remote...)...)
	mustContain(t, cli(t, append([]string{"digests", "send", "--tenant", "acme", "--now"}, remote...)...), `sent "[Hashtrail] daily digest for acme`)
	ms := mbox.Wait(t, 2, 20*time.Second)
	d := ms[1]
	if !strings.Contains(d.Text, "Authentication failures: 3") || !strings.Contains(d.Text, "Alerts fired: 1") || len(d.Links) == 0 {
		t.Errorf("digest %q:\n%s\nlinks %v", d.Subject, d.Text, d.Links)
	}
}

// TestServeAppliesDeclaredAlerts: alert rules declared in the config file
// are created on start (with their tenant) and found again by name on the
// next start, not duplicated; a changed declaration updates the rule.
func TestServeAppliesDeclaredAlerts(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "hashtrail.yaml")
	write := func(window string) {
		y := `data: ` + filepath.Join(dir, "data") + `
alerts:
  - name: brute force
    tenant: acme
    filter: "action:user.login outcome:failure"
    threshold: {count: 5, window: ` + window + `, group-by: actor}
    email: [sec@example.com]
  - name: new key
    tenant: acme
    novelty: {field: api_key}
    webhook: {url: "https://hooks.example.com/a", secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}
`
		if err := os.WriteFile(conf, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("10m")
	srv := runServeCmd(t, "--config", conf)
	key := srv.bootstrapKey()
	c := &http.Client{Timeout: 10 * time.Second}
	var list api.AlertList
	if st := callJSON(t, c, http.MethodGet, srv.url+"/v1/tenants/acme/alerts", key, nil, &list); st != http.StatusOK || len(list.Alerts) != 2 {
		t.Fatalf("after the first start: %d %+v", st, list)
	}
	id := list.Alerts[0].ID
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	write("15m")
	srv = runServeCmd(t, "--config", conf)
	list = api.AlertList{}
	if st := callJSON(t, c, http.MethodGet, srv.url+"/v1/tenants/acme/alerts", key, nil, &list); st != http.StatusOK || len(list.Alerts) != 2 {
		t.Fatalf("after a restart: %d %+v", st, list)
	}
	if list.Alerts[0].ID != id || list.Alerts[0].Threshold.Window != "15m" || list.Alerts[1].Novelty.Field != "api_key" {
		t.Errorf("rules after the change: %+v %+v", list.Alerts[0], list.Alerts[1])
	}
	// A bad declaration stops serve with the field named.
	if err := os.WriteFile(conf, []byte("alerts:\n  - name: x\n    tenant: Not Valid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadTestConfig(t, []string{"--config", conf}, nil)
	if err == nil || !strings.Contains(err.Error(), "alerts") {
		t.Errorf("a bad tenant: %+v, %v", cfg, err)
	}
}

// TestServeSendsSignedAlertWebhooks: a served rule's webhook goes through
// the sinks' guard (--sinks-allow-private lets it reach the loopback
// receiver) and its signature verifies with the npm standardwebhooks
// library.
func TestServeSendsSignedAlertWebhooks(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rcv := notifytest.StartReceiver(t, secret)
	isolateEnv(t)
	srv := runServeCmd(t, "--data", t.TempDir(), "--sinks-allow-private", "--public-url", "https://audit.example.com")
	key := srv.bootstrapKey()
	remote := []string{"--url", srv.url, "--api-key", key}
	cli(t, append([]string{"tenants", "create", "acme"}, remote...)...)
	out := cli(t, append([]string{"alerts", "add", "--tenant", "acme", "--name", "new key", "--novelty", "api_key",
		"--webhook", rcv.URL + "/hook", "--secret", secret}, remote...)...)
	id := field(out, "id:")
	c := &http.Client{Timeout: 10 * time.Second}
	ev := map[string]any{"action": "project.deploy", "actor": map[string]any{"type": "service", "id": "ci",
		"auth": map[string]any{"method": "api_token", "credential_id": "tok_7"}}}
	if st := callJSON(t, c, http.MethodPost, srv.url+"/v1/tenants/acme/events", key, ev, nil); st != http.StatusOK {
		t.Fatalf("ingest: %d", st)
	}
	recs := rcv.Wait(t, 1, 20*time.Second)
	if !recs[0].Verified[0] || !strings.HasPrefix(recs[0].ID, "alert:"+id+":") {
		t.Fatalf("webhook %+v", recs[0])
	}
	var n struct {
		Value string `json:"value"`
		Rule  struct {
			Name string `json:"name"`
		} `json:"rule"`
		LastEventURL string `json:"last_event_url"`
	}
	if err := json.Unmarshal(recs[0].Payload, &n); err != nil || n.Value != "tok_7" || n.Rule.Name != "new key" ||
		!strings.HasPrefix(n.LastEventURL, "https://audit.example.com/ui/t/acme/events/") {
		t.Errorf("payload %s (%v)", recs[0].Payload, err)
	}
}
