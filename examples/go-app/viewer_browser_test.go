package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/httpapi/ui"
	chromium "github.com/hashtrail/hashtrail/internal/browser"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestViewerPagesInBrowser opens the app's project history and security
// pages in Chromium against a signing Hashtrail server that serves the
// embed: the events appear in the embedded viewer, an event's proof is
// verified in the browser, and the security page shows the user's own
// address while the project page does not.
func TestViewerPagesInBrowser(t *testing.T) {
	path := os.Getenv(chromium.Env)
	if path == "" {
		t.Skipf("browser test: set %s to a Chromium binary (e.g. /usr/bin/chromium) to run it", chromium.Env)
	}
	h := startSigningHashtrail(t)
	ingest := h.ingestKey("acme")
	var vk map[string]any
	h.api("POST", "/v1/tenants/acme/keys", api.KeyRequest{Role: hashtrail.RoleAdmin, Name: "go-app viewer"}, &vk)
	a, err := open(t.Context(), config{
		DB:           filepath.Join(t.TempDir(), "app.db"),
		HashtrailURL: h.url,
		HashtrailKey: ingest,
		ViewerKey:    vk["secret"].(string),
		Tenant:       "acme",
		BcryptCost:   bcrypt.MinCost,
		RelayPoll:    5 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})

	b, err := chromium.Start(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := b.Tab(t, time.Minute)
	// The app has no HTML forms: sign up, in and make a project as its
	// JSON API's scripts would, from a page of the app's origin.
	chromium.Navigate(t, ctx, srv.URL+"/nowhere")
	status := chromium.Eval[[]int](t, ctx, `(async () => {
		const post = (path, body, method = "POST") => fetch(path, {method, body: JSON.stringify(body)}).then((r) => r.status);
		return [
			await post("/signup", {email: "ada@example.com", name: "Ada", password: "correct horse"}),
			await post("/login", {email: "ada@example.com", password: "wrong horse"}),
			await post("/login", {email: "ada@example.com", password: "correct horse"}),
			await post("/projects", {name: "Apollo"}),
			await post("/projects/1", {description: "to the moon"}, "PATCH"),
		];
	})()`)
	if want := []int{201, 401, 200, 201, 204}; !slices.Equal(status, want) {
		t.Fatalf("statuses %v, want %v", status, want)
	}

	const shadow = `document.querySelector("hashtrail-log").shadowRoot`
	articles := shadow + `.querySelectorAll("article")`
	// The outbox relays within milliseconds here; reload until both arrive.
	deadline := time.Now().Add(15 * time.Second)
	for {
		chromium.Navigate(t, ctx, srv.URL+"/projects/1/history")
		chromium.WaitFor(t, ctx, 10*time.Second, "the viewer to load", shadow+` && `+shadow+`.querySelector("[role=feed]").getAttribute("aria-busy") === "false" && (`+articles+`.length > 0 || `+shadow+`.querySelector(".status").textContent !== "Loading…")`, "")
		if chromium.Eval[int](t, ctx, articles+`.length`) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sentences := chromium.Eval[string](t, ctx, `Array.from(`+articles+`, (a) => a.querySelector(".sentence").textContent).join(" | ")`)
	if !strings.Contains(sentences, "Ada updated project Apollo") || !strings.Contains(sentences, "Ada created project Apollo") {
		t.Fatalf("project history: %q", sentences)
	}
	chromium.Eval[bool](t, ctx, articles+`[0].click(); true`)
	chromium.WaitFor(t, ctx, 20*time.Second, "the proof verified",
		shadow+`.querySelector('[part~="receipt"]') && `+shadow+`.querySelector('[part~="receipt"]').dataset.state === "verified"`,
		shadow+`.querySelector('[part~="detail"]').textContent`)
	if detail := chromium.Eval[string](t, ctx, shadow+`.querySelector('[part~="detail"]').textContent`); strings.Contains(detail, "127.0.0.1") {
		t.Errorf("the project page shows an address: %q", detail)
	}

	chromium.Navigate(t, ctx, srv.URL+"/me/security")
	chromium.WaitFor(t, ctx, 10*time.Second, "the security history", shadow+` && `+articles+`.length >= 3`, shadow+` && `+shadow+`.textContent`)
	sentences = chromium.Eval[string](t, ctx, `Array.from(`+articles+`, (a) => a.querySelector(".sentence").textContent).join(" | ")`)
	if !strings.Contains(sentences, "Ada signed in") || !strings.Contains(sentences, "Ada failed to sign in") || strings.Contains(sentences, "project") {
		t.Errorf("security history: %q", sentences)
	}
	chromium.Eval[bool](t, ctx, articles+`[0].click(); true`)
	chromium.WaitFor(t, ctx, 20*time.Second, "the sign-in's details with its address",
		shadow+`.querySelector('[part~="detail"]').textContent.includes("127.0.0.1")`, shadow+`.querySelector('[part~="detail"]').textContent`)
}

// startSigningHashtrail is startHashtrail with checkpoint signing and the
// web UI (which serves embed.js), as `hashtrail serve` runs them.
func startSigningHashtrail(t *testing.T) *hashtrailServer {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := ledger.SetupLog(t.Context(), st, ledger.LogSetup{ServerName: "audit.example.com", Signer: key}); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{Signer: key, ServerName: "audit.example.com", CheckpointInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if _, err := l.Bootstrap(t.Context(), adminKey); err != nil {
		t.Fatal(err)
	}
	uih, err := ui.New(l, ui.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", uih)
	mux.Handle("/", httpapi.New(l, httpapi.Config{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		l.Close(context.Background())
		st.Close()
	})
	return &hashtrailServer{t: t, url: srv.URL}
}
