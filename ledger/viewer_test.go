package ledger_test

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestViewerTokens(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMicro())
	now := func() time.Time { return time.UnixMicro(clock.Load()) }
	l, _ := MustOpen(t, ledger.Config{Now: now, KeyCacheTTL: time.Millisecond})
	op := t.Context() // the local operator
	if _, err := l.CreateTenant(op, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, op, l, "acme",
		`{"id":"in1","action":"project.update","actor":{"type":"user","id":"1","email":"a@example.com"},"targets":[{"type":"project","id":"7"}],"context":{"ip":"203.0.113.9","user_agent":"ua/1"},"metadata":{"plan":"pro"}}`,
		`{"id":"out1","action":"project.update","actor":{"type":"user","id":"2"},"targets":[{"type":"project","id":"8"}]}`,
		`{"id":"in2","action":"project.delete","actor":{"type":"user","id":"1"},"targets":[{"type":"project","id":"7"}],"context":{"ip":"203.0.113.10"}}`,
		`{"id":"out2","action":"user.login","actor":{"type":"user","id":"1"}}`,
	); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	tok, err := l.CreateViewerToken(admin, &hashtrail.ViewerTokenRequest{Tenant: "acme", Filter: "target:project:7", AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, hashtrail.ViewerTokenPrefix) || !tok.ExpiresAt.Equal(now().Add(15*time.Minute).Truncate(time.Second)) {
		t.Fatalf("token %+v", tok)
	}
	p, err := l.Authenticate(t.Context(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if p.Viewer == nil || p.Tenant != "acme" || p.Role != hashtrail.RoleRead || p.KeyID != tok.TokenID || p.Viewer.Origins[0] != "https://app.example.com" {
		t.Fatalf("principal %+v", p)
	}
	v := hashtrail.WithPrincipal(t.Context(), p)

	ids := func(q *hashtrail.Query) []string {
		t.Helper()
		var out []string
		for {
			list, err := l.Events(v, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list.Events {
				out = append(out, e.ID)
				if e.Context != nil && (e.Context.IP != "" || e.Context.UserAgent != "") {
					t.Errorf("%s: hidden context shown: %+v", e.ID, e.Context)
				}
				for role, c := range e.PII {
					if c.Salt != nil {
						t.Errorf("%s: salt of %s shown", e.ID, role)
					}
				}
			}
			if list.NextCursor == "" {
				return out
			}
			c, _ := hashtrail.ParseCursor(list.NextCursor)
			q.BeforeSeq = &c.Seq
		}
	}
	if got := strings.Join(ids(&hashtrail.Query{Tenant: "acme", Limit: 1}), ","); got != "in2,in1" {
		t.Errorf("paged list = %s, want in2,in1", got)
	}
	if got := ids(&hashtrail.Query{Tenant: "acme", Target: "project:8"}); len(got) != 0 {
		t.Errorf("a query widened the filter: %v", got)
	}
	if got := ids(&hashtrail.Query{Tenant: "acme", Terms: []hashtrail.Term{{Field: hashtrail.TermTarget, Values: []string{"project:7"}, Not: true}}}); len(got) != 0 {
		t.Errorf("a negated query widened the filter: %v", got)
	}
	if _, err := l.Events(v, &hashtrail.Query{Tenant: "acme", IP: mustPrefix(t, "203.0.113.9")}); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("search by a hidden field: %v", err)
	}
	if e, err := l.Event(v, "acme", "in1"); err != nil || e.Context.IP != "" || e.Actor.Email == "" {
		t.Errorf("event in the filter: %+v %v", e, err)
	}
	if _, err := l.Event(v, "acme", "out1"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("event outside the filter: %v", err)
	}
	if _, err := l.Checkpoint(v, "acme"); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("checkpoint with a viewer token: %v", err)
	}
	if _, err := l.CreateKey(v, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead}); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("viewer made a key: %v", err)
	}
	if _, err := ingest(t, v, l, "acme", `{"action":"x.y","actor":{"type":"user","id":"1"}}`); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("viewer wrote: %v", err)
	}
	if _, err := l.Events(v, &hashtrail.Query{Tenant: "other"}); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("other tenant: %v", err)
	}

	// A hidden metadata member is gone from answers and cannot be searched.
	tok2, err := l.CreateViewerToken(admin, &hashtrail.ViewerTokenRequest{Tenant: "acme", HiddenFields: []string{"metadata.plan", "actor.email"}})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := l.Authenticate(t.Context(), tok2.Token)
	if err != nil {
		t.Fatal(err)
	}
	v2 := hashtrail.WithPrincipal(t.Context(), p2)
	if e, err := l.Event(v2, "acme", "in1"); err != nil || strings.Contains(string(e.Metadata), "plan") || e.Actor.Email != "" || e.Context.IP == "" {
		t.Errorf("hidden metadata: %+v %v", e, err)
	}
	for _, term := range []hashtrail.Term{{Field: hashtrail.TermMeta, Key: "plan", Values: []string{"pro"}}, {Field: hashtrail.TermText, Values: []string{"pro"}}, {Field: hashtrail.TermActor, Values: []string{"a@example.com"}}} {
		if _, err := l.Events(v2, &hashtrail.Query{Tenant: "acme", Terms: []hashtrail.Term{term}}); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
			t.Errorf("search %+v: %v", term, err)
		}
	}

	// Forged, revoked and expired tokens are refused.
	signed, _, _ := strings.Cut(tok.Token, ".")
	_, sig2, _ := strings.Cut(tok2.Token, ".")
	if _, err := l.Authenticate(t.Context(), signed+"."+sig2); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Errorf("forged: %v", err)
	}
	if err := l.RevokeViewerToken(admin, "acme", tok.TokenID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), tok.Token); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Errorf("revoked: %v", err)
	}
	clock.Add(int64(16 * time.Minute / time.Microsecond))
	if _, err := l.Authenticate(t.Context(), tok2.Token); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Errorf("expired: %v", err)
	}

	// Validation, the maximum lifetime, and who may mint.
	for _, req := range []hashtrail.ViewerTokenRequest{
		{Filter: "nosuch:x"}, {ExpiresIn: "25h"}, {ExpiresIn: "-1m"}, {HiddenFields: []string{"tenant"}}, {AllowedOrigins: []string{"https://a.example.com/path"}},
	} {
		req.Tenant = "acme"
		if _, err := l.CreateViewerToken(admin, &req); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
			t.Errorf("%+v: %v", req, err)
		}
	}
	if _, err := l.CreateViewerToken(as(t.Context(), "acme", hashtrail.RoleRead), &hashtrail.ViewerTokenRequest{Tenant: "acme"}); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("read key minted: %v", err)
	}

	// Minting and revoking are in the tenant's log.
	list, err := l.Events(op, &hashtrail.Query{Tenant: "acme", Actions: []string{"viewer_token.*"}, Order: hashtrail.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range list.Events {
		acts = append(acts, e.Action+" "+e.Targets[0].ID)
	}
	want := "viewer_token.create " + tok.TokenID + ",viewer_token.create " + tok2.TokenID + ",viewer_token.revoke " + tok.TokenID
	if strings.Join(acts, ",") != want {
		t.Errorf("self-audit = %v, want %s", acts, want)
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := hashtrail.ParseIPFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
