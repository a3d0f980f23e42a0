package httpapi_test

// The route walk (issue #6, point 1): every route the router registers is
// called with every kind of credential, against the real engine over a real
// SQLite store, and the status is checked against DESIGN §3: 401 for
// missing, malformed, unknown, expired or revoked credentials; 404 for a
// tenant the credentials cannot see; 403 for a role (or a tenant-scoped key
// on an installation route) that may not do this; anything else below 500
// when allowed. A route without a row in routeRules fails the test, so a new
// route cannot ship without deciding who may call it.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/jackc/pgx/v5"
)

// scope says whose resource a route touches.
type scope int

const (
	scopeOpen    scope = iota // no credentials needed
	scopeAny                  // any tenant's key whose role allows perm (answers are filtered by the engine)
	scopeTenant               // one tenant's resource: the key's tenant or an installation key
	scopeInstall              // installation-level: an installation-wide key only
)

type routeRule struct {
	scope scope
	perm  hashtrail.Permission
}

// routeRules has one row per registered pattern. Add a row when you add a
// route; the walk fails on a pattern without one.
var routeRules = map[string]routeRule{
	"POST /v1/tenants/{tenant}/events":                     {scopeTenant, hashtrail.PermWrite},
	"POST /v1/events":                                      {scopeInstall, hashtrail.PermWrite},
	"GET /v1/tenants/{tenant}/events":                      {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/events/{id}":                 {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/events/{id}/receipt":         {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/export":                      {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/stats":                       {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/searches":                    {scopeTenant, hashtrail.PermRead},
	"POST /v1/tenants/{tenant}/searches":                   {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/searches/{search}":           {scopeTenant, hashtrail.PermRead},
	"PUT /v1/tenants/{tenant}/searches/{search}":           {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/searches/{search}":        {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/log/checkpoint":              {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/log/witnessed":               {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/log/proof/inclusion":         {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/log/proof/consistency":       {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants/{tenant}/log/tile/{path...}":          {scopeTenant, hashtrail.PermRead},
	"GET /v1/tenants":                                      {scopeAny, hashtrail.PermRead},
	"POST /v1/tenants":                                     {scopeInstall, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}":                             {scopeTenant, hashtrail.PermRead},
	"PATCH /v1/tenants/{tenant}":                           {scopeInstall, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}":                          {scopeInstall, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/keys":                        {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/keys":                       {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/keys/{key}":               {scopeTenant, hashtrail.PermManage},
	"GET /v1/keys":                                         {scopeInstall, hashtrail.PermManage},
	"POST /v1/keys":                                        {scopeInstall, hashtrail.PermManage},
	"DELETE /v1/keys/{key}":                                {scopeInstall, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/catalog":                     {scopeTenant, hashtrail.PermManage},
	"PUT /v1/tenants/{tenant}/catalog":                     {scopeTenant, hashtrail.PermManage},
	"PUT /v1/tenants/{tenant}/catalog/actions/{action}":    {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/catalog/actions/{action}": {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/sinks":                       {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/sinks":                      {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/sinks/{sink}":                {scopeTenant, hashtrail.PermManage},
	"PATCH /v1/tenants/{tenant}/sinks/{sink}":              {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/sinks/{sink}":             {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/sinks/{sink}/pause":         {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/sinks/{sink}/resume":        {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/sinks/{sink}/replay":        {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/alerts":                      {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/alerts":                     {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/alerts/{alert}":              {scopeTenant, hashtrail.PermManage},
	"PATCH /v1/tenants/{tenant}/alerts/{alert}":            {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/alerts/{alert}":           {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/alerts/{alert}/firings":      {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/digest":                      {scopeTenant, hashtrail.PermManage},
	"PUT /v1/tenants/{tenant}/digest":                      {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/digest/send":                {scopeTenant, hashtrail.PermManage},
	"GET /v1/sinks":                                        {scopeInstall, hashtrail.PermManage},
	"POST /v1/sinks":                                       {scopeInstall, hashtrail.PermManage},
	"GET /v1/sinks/{sink}":                                 {scopeInstall, hashtrail.PermManage},
	"PATCH /v1/sinks/{sink}":                               {scopeInstall, hashtrail.PermManage},
	"DELETE /v1/sinks/{sink}":                              {scopeInstall, hashtrail.PermManage},
	"POST /v1/sinks/{sink}/pause":                          {scopeInstall, hashtrail.PermManage},
	"POST /v1/sinks/{sink}/resume":                         {scopeInstall, hashtrail.PermManage},
	"POST /v1/sinks/{sink}/replay":                         {scopeInstall, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/retention":                   {scopeTenant, hashtrail.PermManage},
	"PUT /v1/tenants/{tenant}/retention":                   {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/holds":                       {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/holds":                      {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/holds/{hold}":             {scopeTenant, hashtrail.PermManage},
	"GET /v1/retention/floor":                              {scopeAny, hashtrail.PermManage}, // every admin may see the floor
	"PUT /v1/retention/floor":                              {scopeInstall, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/subjects/{subject}/erase":   {scopeTenant, hashtrail.PermManage},
	"POST /v1/subjects/{subject}/erase":                    {scopeInstall, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/subjects/{subject}/events":   {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/viewer-tokens":              {scopeTenant, hashtrail.PermManage},
	"DELETE /v1/tenants/{tenant}/viewer-tokens/{token}":    {scopeTenant, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/redaction":                   {scopeTenant, hashtrail.PermManage},
	"PUT /v1/tenants/{tenant}/redaction":                   {scopeTenant, hashtrail.PermManage},
	"POST /v1/tenants/{tenant}/keys/{key}/rotate":          {scopeTenant, hashtrail.PermManage},
	"POST /v1/keys/{key}/rotate":                           {scopeInstall, hashtrail.PermManage},
	"GET /v1/tenants/{tenant}/read-audit":                  {scopeTenant, hashtrail.PermManage},
	"PUT /v1/tenants/{tenant}/read-audit":                  {scopeTenant, hashtrail.PermManage},
	"GET /v1/log/key":                                      {scopeOpen, 0},
	"GET /v1/log/keys":                                     {scopeOpen, 0},
	"GET /v1/log/installation/checkpoint":                  {scopeOpen, 0},
	"GET /v1/catalog":                                      {scopeOpen, 0},
	"GET /v1/openapi.json":                                 {scopeOpen, 0},
	"GET /healthz":                                         {scopeOpen, 0},
	"GET /readyz":                                          {scopeOpen, 0},
	"GET /metrics":                                         {scopeOpen, 0},
}

// credential is one kind of caller.
type credential struct {
	name   string
	header string // the Authorization header
	// For a valid credential: the principal it stands for. Empty tenant
	// means the credential must be refused with 401.
	tenant string
	role   hashtrail.Role
	viewer bool // a viewer token: reads events within its filter, nothing else
	// filtered is a key with a read filter (KeyScope.Filter): like its role,
	// but no proofs, tiles, checkpoints or exports.
	filtered bool
}

// logReads are the read routes whose answers reach past a filter.
var logReads = map[string]bool{
	"GET /v1/tenants/{tenant}/events/{id}/receipt":   true,
	"GET /v1/tenants/{tenant}/log/checkpoint":        true,
	"GET /v1/tenants/{tenant}/log/witnessed":         true,
	"GET /v1/tenants/{tenant}/log/proof/inclusion":   true,
	"GET /v1/tenants/{tenant}/log/proof/consistency": true,
	"GET /v1/tenants/{tenant}/log/tile/{path...}":    true,
	"GET /v1/tenants/{tenant}/export":                true,
}

// viewerReads are the routes a viewer token may call (with role read);
// every other route answers it 403, or 404 for another tenant.
var viewerReads = map[string]bool{
	"GET /v1/tenants/{tenant}/events":      true,
	"GET /v1/tenants/{tenant}/stats":       true, // counts within its filter, not by hidden fields
	"GET /v1/tenants/{tenant}/events/{id}": true, // ?proof=true too
	"GET /v1/tenants":                      true,
	// the receipt of an event inside the filter whose leaf shows no hidden field
	"GET /v1/tenants/{tenant}/events/{id}/receipt": true,
	"GET /v1/tenants/{tenant}":                     true,
}

// walkTenant is the tenant every tenant route is called on; otherTenant is
// the tenant of the wrong-tenant keys.
const walkTenant, otherTenant = "acme", "globex"

func TestRouteWalk(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	walkRoutes(t, st)
}

// TestRouteWalkPostgres walks the routes over PostgreSQL when
// HASHTRAIL_TEST_POSTGRES names a database (in a fresh schema, dropped after).
func TestRouteWalkPostgres(t *testing.T) {
	base := os.Getenv("HASHTRAIL_TEST_POSTGRES")
	if base == "" {
		t.Skip("HASHTRAIL_TEST_POSTGRES is not set")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "ht_walk_" + hex.EncodeToString(b[:])
	st, err := postgres.Open(t.Context(), base, postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
		}
	})
	walkRoutes(t, st)
}

// walkStore is a store the walk can run over and close.
type walkStore interface {
	hashtrail.Store
	Close() error
}

func walkRoutes(t *testing.T, st walkStore) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMicro())
	now := func() time.Time { return time.UnixMicro(clock.Load()) }
	ctx := t.Context() // no principal: the local operator
	signer, err := checkpoint.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const serverName = "walk.example"
	if _, err := ledger.SetupLog(ctx, st, ledger.LogSetup{ServerName: serverName, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{Now: now, KeyCacheTTL: time.Millisecond, Signer: signer, ServerName: serverName,
		CheckpointInterval: 20 * time.Millisecond})
	t.Cleanup(func() {
		l.Close(context.Background())
		st.Close()
	})
	for _, id := range []string{walkTenant, otherTenant} {
		if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	sub, errs := hashtrail.DecodeEvent(json.RawMessage(`{"id":"ev1","action":"user.login","actor":{"type":"user","id":"1"}}`),
		"", hashtrail.DecodeOptions{PathTenant: walkTenant}, hashtrail.NewTime(now()))
	if errs != nil {
		t.Fatal(errs)
	}
	if _, err := l.Ingest(ctx, &hashtrail.IngestRequest{Tenant: walkTenant, Submissions: []*hashtrail.Submission{sub}}); err != nil {
		t.Fatal(err)
	}

	// Wait for the first checkpoint, so the log routes have something to serve.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if cp, err := l.Checkpoint(ctx, walkTenant); err == nil && cp.Size >= 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no checkpoint: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	key := func(tenant string, role hashtrail.Role, expires time.Duration) *hashtrail.NewKey {
		t.Helper()
		req := &hashtrail.KeyRequest{Tenant: tenant, Role: role, Name: "walk"}
		if expires > 0 {
			req.ExpiresAt = hashtrail.NewTime(now().Add(expires))
		}
		k, err := l.CreateKey(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	creds := []credential{
		{name: "none"},
		{name: "malformed", header: "Bearer not-a-key"},
		{name: "wrong scheme", header: "Basic dXNlcjpwYXNz"},
	}
	for _, tenant := range []string{walkTenant, otherTenant, hashtrail.AllTenants} {
		for _, role := range hashtrail.Roles {
			k := key(tenant, role, 0)
			name := fmt.Sprintf("%s %s", tenant, role)
			if tenant == hashtrail.AllTenants {
				name = "installation " + string(role)
			}
			creds = append(creds, credential{name: name, header: "Bearer " + k.Secret, tenant: tenant, role: role})
		}
	}
	filtered, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: walkTenant, Role: hashtrail.RoleRead, Scope: &hashtrail.KeyScope{Filter: "action:user.*"}})
	if err != nil {
		t.Fatal(err)
	}
	creds = append(creds, credential{name: "acme read with a filter", header: "Bearer " + filtered.Secret, tenant: walkTenant, role: hashtrail.RoleRead, filtered: true})
	expired := key(walkTenant, hashtrail.RoleAdmin, time.Hour)
	expiredInstall := key(hashtrail.AllTenants, hashtrail.RoleAdmin, time.Hour)
	revoked := key(walkTenant, hashtrail.RoleAdmin, 0)
	revokedInstall := key(hashtrail.AllTenants, hashtrail.RoleAdmin, 0)
	for _, k := range []*hashtrail.NewKey{revoked, revokedInstall} {
		if err := l.RevokeKey(ctx, k.Tenant, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	viewer := func(tenant, expiresIn string) *hashtrail.ViewerToken {
		t.Helper()
		v, err := l.CreateViewerToken(ctx, &hashtrail.ViewerTokenRequest{Tenant: tenant, Filter: "action:user.*", ExpiresIn: expiresIn})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	viewerExpired := viewer(walkTenant, "1h")
	viewerRevoked := viewer(walkTenant, "")
	if err := l.RevokeViewerToken(ctx, walkTenant, viewerRevoked.TokenID); err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(2 * time.Hour / time.Microsecond))
	creds = append(creds,
		credential{name: "viewer token", header: "Bearer " + viewer(walkTenant, "").Token, tenant: walkTenant, role: hashtrail.RoleRead, viewer: true},
		credential{name: "other tenant's viewer token", header: "Bearer " + viewer(otherTenant, "").Token, tenant: otherTenant, role: hashtrail.RoleRead, viewer: true},
		credential{name: "expired viewer token", header: "Bearer " + viewerExpired.Token},
		credential{name: "revoked viewer token", header: "Bearer " + viewerRevoked.Token},
		credential{name: "forged viewer token", header: "Bearer " + forge(viewer(walkTenant, "").Token)},
	)
	creds = append(creds,
		credential{name: "expired tenant admin", header: "Bearer " + expired.Secret},
		credential{name: "expired installation admin", header: "Bearer " + expiredInstall.Secret},
		credential{name: "revoked tenant admin", header: "Bearer " + revoked.Secret},
		credential{name: "revoked installation admin", header: "Bearer " + revokedInstall.Secret},
	)

	s := httpapi.New(l, httpapi.Config{Now: now})
	patterns := httpapi.Patterns(s)
	seen := map[string]bool{}
	var created atomic.Int64
	for _, pattern := range patterns {
		seen[pattern] = true
		rule, ok := routeRules[pattern]
		if !ok {
			t.Errorf("route %q has no row in routeRules: decide who may call it and add one", pattern)
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		for _, bad := range []bool{false, true} {
			for _, c := range creds {
				name := pattern + "/" + c.name
				if bad {
					name += "/bad input"
				}
				t.Run(name, func(t *testing.T) {
					target := walkTarget(path) + walkQuery[pattern]
					body := walkBody(pattern, created.Add(1))
					if bad {
						// Input the handler would refuse: the caller must still
						// learn only what its credentials allow (401, 403,
						// 404), never a validation detail.
						target += map[bool]string{true: "&", false: "?"}[strings.Contains(target, "?")] + "no_such_param=1"
						if body != "" {
							body = `{"truncated": `
						}
					}
					r := httptest.NewRequest(method, target, strings.NewReader(body))
					if body != "" {
						r.Header.Set("Content-Type", "application/json")
					}
					if c.header != "" {
						r.Header.Set("Authorization", c.header)
					}
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, r)
					checkWalk(t, pattern, rule, c, rec, bad)
				})
			}
		}
	}
	for p := range routeRules {
		if !seen[p] {
			t.Errorf("routeRules has a row for %q, which the router does not register", p)
		}
	}
}

// walkQuery holds the query parameters a route requires, so the walk sees the
// authorization answer rather than a 400 for a missing parameter.
var walkQuery = map[string]string{
	"GET /v1/tenants/{tenant}/log/proof/inclusion":   "?seq=1&size=1",
	"GET /v1/tenants/{tenant}/log/proof/consistency": "?from=1&to=1",
}

var placeholder = regexp.MustCompile(`\{[a-z]+(\.\.\.)?\}`)

// walkTarget fills a pattern's wildcards: the walk tenant, the event it
// holds, and ids of keys and sinks that do not exist (so an allowed caller
// gets a 404 that names the key or sink, not the tenant).
func walkTarget(path string) string {
	return placeholder.ReplaceAllStringFunc(path, func(w string) string {
		switch w {
		case "{tenant}":
			return walkTenant
		case "{id}":
			return "ev1"
		case "{key}":
			return "key_missing"
		case "{sink}":
			return "snk_missing"
		case "{alert}":
			return "alr_missing"
		case "{hold}":
			return "hold_missing"
		case "{token}":
			return "vt_missing"
		case "{subject}":
			return "user:42"
		case "{action}":
			return "user.login"
		case "{path...}":
			return "0/000"
		}
		return "x"
	})
}

// walkBody is a plausible request body for pattern (n makes it unique).
func walkBody(pattern string, n int64) string {
	switch pattern {
	case "POST /v1/tenants/{tenant}/events":
		return `{"action":"user.login","actor":{"type":"user","id":"2"}}`
	case "POST /v1/events":
		return `{"tenant":"` + walkTenant + `","action":"user.login","actor":{"type":"user","id":"3"}}`
	case "POST /v1/tenants":
		return fmt.Sprintf(`{"id":"walk-%d"}`, n)
	case "POST /v1/tenants/{tenant}/keys", "POST /v1/keys":
		return `{"role":"read","name":"walk"}`
	case "POST /v1/tenants/{tenant}/viewer-tokens":
		return `{"filter":"action:user.*"}`
	case "PATCH /v1/tenants/{tenant}":
		return `{"name":"Acme"}`
	case "POST /v1/tenants/{tenant}/alerts":
		return `{"filter":"action:user.login outcome:failure","threshold":{"count":5,"window":"10m","group_by":"actor"},"email":["sec@example.com"]}`
	case "PUT /v1/tenants/{tenant}/digest":
		return `{"schedule":"weekly","to":["sec@example.com"],"hour":7}`
	case "POST /v1/tenants/{tenant}/sinks", "POST /v1/sinks":
		return `{"type":"file","settings":{"path":"/nonexistent/walk.jsonl"}}`
	}
	if strings.HasPrefix(pattern, "POST") || strings.HasPrefix(pattern, "PUT") || strings.HasPrefix(pattern, "PATCH") {
		return `{}`
	}
	return ""
}

// checkWalk checks one answer; with bad input an allowed caller may get a
// 400 (or 404 for the missing key or sink the walk names), nothing more.
func checkWalk(t *testing.T, pattern string, rule routeRule, c credential, rec *httptest.ResponseRecorder, bad bool) {
	t.Helper()
	got := rec.Code
	if got >= 500 {
		t.Fatalf("status %d: %s", got, rec.Body)
	}
	if rule.scope == scopeOpen {
		if got == http.StatusUnauthorized || got == http.StatusForbidden {
			t.Fatalf("open route answered %d: %s", got, rec.Body)
		}
		return
	}
	want := 0 // allowed
	switch {
	case c.tenant == "":
		want = http.StatusUnauthorized
	case rule.scope == scopeInstall && c.tenant != hashtrail.AllTenants:
		want = http.StatusForbidden
	case rule.scope == scopeTenant && c.tenant != hashtrail.AllTenants && c.tenant != walkTenant:
		want = http.StatusNotFound
	case !c.role.Allows(rule.perm):
		want = http.StatusForbidden
	case c.viewer && !viewerReads[pattern]:
		want = http.StatusForbidden
	case c.filtered && logReads[pattern]:
		want = http.StatusForbidden
	}
	// The router's first check covers the tenant and the role; what a
	// viewer token or a key's read filter may see within its role the
	// engine decides with the request's input, so with bad input such a
	// caller may learn of the input first.
	fine := c.viewer || c.filtered
	if want != 0 {
		if bad && fine && got == http.StatusBadRequest && c.tenant == walkTenant {
			return
		}
		if got != want {
			t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
		}
		if want == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		return
	}
	if got == http.StatusUnauthorized || got == http.StatusForbidden {
		t.Fatalf("allowed caller got %d: %s", got, rec.Body)
	}
	if bad && got != http.StatusBadRequest && got != http.StatusNotFound {
		t.Fatalf("allowed caller with bad input got %d, want 400: %s", got, rec.Body)
	}
	if got == http.StatusNotFound && strings.Contains(rec.Body.String(), `tenant \"`+walkTenant+`\" not found`) {
		t.Fatalf("allowed caller got a tenant 404: %s", rec.Body)
	}
}

// forge returns a viewer token with its claims widened (another filter) and
// the original signature.
func forge(token string) string {
	signed, sig, _ := strings.Cut(token, ".")
	body, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(signed, hashtrail.ViewerTokenPrefix))
	if err != nil {
		panic(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		panic(err)
	}
	delete(claims, "f")
	body, _ = json.Marshal(claims)
	return hashtrail.ViewerTokenPrefix + base64.RawURLEncoding.EncodeToString(body) + "." + sig
}
