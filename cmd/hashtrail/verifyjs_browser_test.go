package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/hashtrail/hashtrail/internal/browser"
)

// verifyPage loads verify.js without its auto-run and exposes it as
// window.V; verifyAutoPage lets it check a [data-hashtrail-verify] element.
const (
	verifyPage = `<!doctype html><html lang="en"><title>verify.js</title>
<script>globalThis.__hashtrailNoAutoVerify = true</script>
<script type="module">import * as v from "/static/verify.js"; window.V = v;</script>`
	verifyAutoPage = `<!doctype html><html lang="en"><title>verify.js</title>
<p id="receipt" data-hashtrail-verify data-proof-url="/proof"><span data-hashtrail-verify-status>Checking…</span></p>
<script type="module" src="/static/verify.js"></script>`
)

// TestVerifyJSVectors runs verify.js's RFC 9162 inclusion check in Chromium
// over the shared RFC 6962 vectors (transparency-dev/merkle's testdata).
func TestVerifyJSVectors(t *testing.T) {
	b := chromium.Get(t)
	dir := repoFile(t, "../shared/vectors/rfc6962/inclusion")
	var files []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skipf("no RFC 6962 vectors in %s (../shared/vectors is not on this machine)", dir)
	}
	type vector struct {
		Name     string      `json:"name"`
		LeafIdx  json.Number `json:"leafIdx"` // up to 2^64-1: a string for JavaScript's BigInt
		TreeSize json.Number `json:"treeSize"`
		Root     string      `json:"root"`
		LeafHash string      `json:"leafHash"`
		Proof    []string    `json:"proof"`
		WantErr  bool        `json:"wantErr"`
	}
	var vs []vector
	var js []map[string]any
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v.Name, _ = filepath.Rel(dir, f)
		vs = append(vs, v)
		js = append(js, map[string]any{"name": v.Name, "leafIdx": v.LeafIdx.String(), "treeSize": v.TreeSize.String(),
			"root": v.Root, "leafHash": v.LeafHash, "proof": v.Proof})
	}
	mux := http.NewServeMux()
	mux.Handle("/static/", staticHandler(t))
	mux.Handle("/", servePage(verifyPage))
	page := httptest.NewServer(mux)
	defer page.Close()

	ctx := b.Tab(t, 30*time.Second)
	browser.Navigate(t, ctx, page.URL)
	browser.WaitFor(t, ctx, 5*time.Second, "verify.js to load", "window.V", "")
	got := browser.Eval[map[string]bool](t, ctx, `(async () => {
		const b64 = (s) => (s === null || s === undefined) ? new Uint8Array(0) : V.fromBase64(s);
		const out = {};
		for (const v of `+browser.JSON(js)+`) {
			out[v.name] = await V.verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), (v.proof || []).map(b64), b64(v.root));
		}
		return out;
	})()`)
	for _, v := range vs {
		if got[v.Name] == v.WantErr {
			t.Errorf("%s: verify.js says %v, the vector wants an error: %v", v.Name, got[v.Name], v.WantErr)
		}
	}
	t.Logf("%d inclusion vectors", len(vs))
}

// TestVerifyJSServerProofs verifies real proofs of a running server in
// Chromium: a good proof passes; a tampered leaf, a wrong key, a wrong
// origin, a changed root or a proof of another event fail; a viewer
// token's proof with the leaf withheld passes on the leaf hash; and a page
// that is not a secure context says verification is unavailable.
func TestVerifyJSServerProofs(t *testing.T) {
	b := chromium.Get(t)
	isolateEnv(t)
	s := runServeCmd(t, "--data", t.TempDir(), "--server-name", "audit.example.com")
	key := s.bootstrapKey()
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants", key, map[string]any{"id": "acme"}, nil); code != 201 {
		t.Fatalf("create tenant: %d", code)
	}
	events := []map[string]any{
		{"id": "e1", "action": "project.update", "actor": map[string]any{"type": "user", "id": "1", "email": "ada@example.com"},
			"targets": []any{map[string]any{"type": "project", "id": "7"}}, "context": map[string]any{"ip": "203.0.113.9"},
			"metadata": map[string]any{"plan": "pro", "note": "launch friday"}},
		{"id": "e2", "action": "user.login", "actor": map[string]any{"type": "user", "id": "2"}},
		{"id": "e3", "action": "project.delete", "actor": map[string]any{"type": "user", "id": "1"}, "targets": []any{map[string]any{"type": "project", "id": "7"}}},
	}
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/events", key, map[string]any{"events": events}, nil); code != 200 {
		t.Fatalf("ingest: %d", code)
	}
	proof := func(id, secret string) map[string]any {
		var p map[string]any
		if code := callJSON(t, http.DefaultClient, "GET", s.url+"/v1/tenants/acme/events/"+id+"?proof=true&wait=5s", secret, nil, &p); code != 200 {
			t.Fatalf("proof of %s: %d", id, code)
		}
		return p
	}
	keys := strings.Fields(httpGet(t, s.url+"/v1/log/keys"))
	const origin = "audit.example.com/acme"
	good := proof("e1", key)
	other := proof("e3", key)

	// A viewer token that hides a metadata member, which the leaf holds.
	var tok struct{ Token string }
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/viewer-tokens", key,
		map[string]any{"filter": "target:project:7", "hidden_fields": []string{"context.ip", "metadata.note"}}, &tok); code != 201 {
		t.Fatalf("viewer token: %d", code)
	}
	withheld := proof("e1", tok.Token)
	if withheld["leaf"] != nil || strings.Contains(fmt.Sprint(withheld), "launch friday") || strings.Contains(fmt.Sprint(withheld), "203.0.113.9") {
		t.Fatalf("the viewer's proof shows hidden values: %v", withheld)
	}

	_, wrong, _ := ed25519.GenerateKey(rand.Reader)
	wrongKey, err := note.NewEd25519VerifierKey("audit.example.com", wrong.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	proofAnswer := map[string]any{}
	for k, v := range good {
		proofAnswer[k] = v
	}
	proofAnswer["log_keys"] = keys
	proofAnswer["origin"] = origin

	mux := http.NewServeMux()
	mux.Handle("/static/", staticHandler(t))
	mux.Handle("/auto", servePage(verifyAutoPage))
	mux.Handle("/proof", serveJSON(proofAnswer))
	mux.Handle("/", servePage(verifyPage))
	page := httptest.NewServer(mux)
	defer page.Close()

	ctx := b.Tab(t, 60*time.Second)
	browser.Navigate(t, ctx, page.URL)
	browser.WaitFor(t, ctx, 5*time.Second, "verify.js to load", "window.V", "")
	type outcome struct {
		State    string `json:"state"`
		Reason   string `json:"reason"`
		LeafOnly bool   `json:"leafOnly"`
		Size     int64  `json:"size"`
	}
	run := func(answer any, keys []string, origin string) outcome {
		t.Helper()
		return browser.Eval[outcome](t, ctx, fmt.Sprintf(`V.verifyEventProof(%s, {keys: %s, origin: %s})`,
			browser.JSON(answer), browser.JSON(keys), browser.JSON(origin)))
	}
	change := func(m map[string]any, k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	if o := run(good, keys, origin); o.State != "verified" || o.LeafOnly || o.Size != 3 {
		t.Errorf("good proof: %+v", o)
	}
	perProof := browser.Eval[float64](t, ctx, fmt.Sprintf(`(async () => {
		const a = %s, opts = {keys: %s, origin: %s}, n = 200, t0 = performance.now();
		for (let i = 0; i < n; i++) if ((await V.verifyEventProof(a, opts)).state !== "verified") throw new Error("not verified");
		return (performance.now() - t0) / n;
	})()`, browser.JSON(good), browser.JSON(keys), browser.JSON(origin)))
	t.Logf("verify.js: %.2f ms per proof (leaf hash, path, Ed25519 signature)", perProof)
	leaf, _ := base64.StdEncoding.DecodeString(good["leaf"].(string))
	tampered := strings.Replace(string(leaf), "launch friday", "launch monday", 1)
	if tampered == string(leaf) {
		t.Fatalf("the leaf does not hold the metadata: %s", leaf)
	}
	tamperedB64 := base64.StdEncoding.EncodeToString([]byte(tampered))
	kp := strings.SplitN(keys[0], "+", 3)
	badHash := kp[0] + "+" + map[bool]string{true: "1", false: "0"}[kp[1][0] == '0'] + kp[1][1:] + "+" + kp[2]
	cp := good["checkpoint"].(string)
	lines := strings.SplitN(cp, "\n", 4)
	rootBytes, _ := base64.StdEncoding.DecodeString(lines[2])
	rootBytes[0] ^= 1
	changedRoot := lines[0] + "\n" + lines[1] + "\n" + base64.StdEncoding.EncodeToString(rootBytes) + "\n" + lines[3]
	for _, c := range []struct {
		name   string
		answer map[string]any
		keys   []string
		origin string
		reason string
	}{
		{"tampered leaf", change(good, "leaf", tamperedB64), keys, origin, "does not hash to the event's leaf_hash"},
		{"tampered leaf and leaf hash", change(change(good, "leaf", tamperedB64), "leaf_hash", nil), keys, origin, "does not lead to the checkpoint's root"},
		{"wrong key", good, []string{wrongKey}, origin, "no valid signature by a pinned key"},
		{"wrong origin", good, keys, "audit.example.com/globex", "not audit.example.com/globex"},
		{"changed root", change(good, "checkpoint", changedRoot), keys, origin, "no valid signature"},
		{"another event's proof", change(good, "proof", other["proof"]), keys, origin, ""},
		{"another event's leaf", change(change(good, "leaf", other["leaf"]), "leaf_hash", nil), keys, origin, "the leaf's id is not the event's"},
		{"no keys", good, nil, origin, "no verifier key is pinned"},
		{"a malformed key", good, []string{"audit.example.com+00000000+AQID"}, origin, "not an Ed25519 note key"},
		{"a key with a wrong key hash", good, []string{badHash}, origin, "has a wrong key hash"},
	} {
		if o := run(c.answer, c.keys, c.origin); o.State != "failed" || !strings.Contains(o.Reason, c.reason) {
			t.Errorf("%s: %+v, want failed: …%s…", c.name, o, c.reason)
		}
	}
	if o := run(good, append([]string{"junk", wrongKey}, keys...), origin); o.State != "verified" {
		t.Errorf("a good key after a malformed and a wrong one: %+v", o)
	}
	if o := run(withheld, keys, origin); o.State != "verified" || !o.LeafOnly {
		t.Errorf("viewer proof with the leaf withheld: %+v", o)
	}
	if o := run(change(withheld, "leaf_hash", other["leaf_hash"]), keys, origin); o.State != "failed" {
		t.Errorf("viewer proof with another leaf hash: %+v", o)
	}

	// The page contract: an element with data-proof-url shows the outcome.
	browser.Navigate(t, ctx, page.URL+"/auto")
	browser.WaitFor(t, ctx, 10*time.Second, "the receipt to be verified",
		`document.getElementById("receipt").dataset.state === "verified"`, `document.getElementById("receipt").textContent`)
	if text := browser.Eval[string](t, ctx, `document.getElementById("receipt").textContent`); !strings.Contains(text, "Verified in your browser") || !strings.Contains(text, "checkpoint 3 of audit.example.com/acme") {
		t.Errorf("receipt text %q", text)
	}

	// http://verify.test is not a secure context: no WebCrypto, so the
	// page says verification is unavailable rather than passing.
	browser.Navigate(t, ctx, hostURL(page.URL, "verify.test")+"/auto")
	browser.WaitFor(t, ctx, 10*time.Second, "the receipt to be unavailable",
		`document.getElementById("receipt").dataset.state === "unavailable"`, `document.getElementById("receipt").textContent`)
	if text := browser.Eval[string](t, ctx, `document.getElementById("receipt").textContent`); !strings.Contains(text, "not a secure context") {
		t.Errorf("insecure receipt text %q", text)
	}
}
