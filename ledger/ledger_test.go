package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// MustOpen returns a ledger over a fresh SQLite store, closed with the test.
func MustOpen(tb testing.TB, cfg ledger.Config) (*ledger.Ledger, *sqlite.Store) {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	l := ledger.New(st, cfg)
	tb.Cleanup(func() {
		l.Close(context.Background())
		st.Close()
	})
	return l, st
}

func submission(t testing.TB, tenant, raw string) *hashtrail.Submission {
	t.Helper()
	sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", hashtrail.DecodeOptions{PathTenant: tenant}, hashtrail.NewTime(time.Now()))
	if errs != nil {
		t.Fatalf("decode %s: %v", raw, errs)
	}
	return sub
}

func as(ctx context.Context, tenant string, role hashtrail.Role) context.Context {
	return hashtrail.WithPrincipal(ctx, &hashtrail.Principal{KeyID: "key_test_" + string(role), Tenant: tenant, Role: role})
}

func ingest(t testing.TB, ctx context.Context, l *ledger.Ledger, tenant string, raws ...string) ([]hashtrail.Receipt, error) {
	t.Helper()
	req := &hashtrail.IngestRequest{Tenant: tenant}
	for i, r := range raws {
		s := submission(t, tenant, r)
		s.Index = i
		req.Submissions = append(req.Submissions, s)
	}
	return l.Ingest(ctx, req)
}

func TestGroupCommitSharesTransactions(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	const workers, perWorker = 16, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[int64]bool{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				rs, err := ingest(t, ctx, l, "acme", fmt.Sprintf(`{"id":"w%d-%d","action":"user.login","actor":{"type":"user","id":"1"}}`, w, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs[rs[0].Seq] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for s := range int64(workers * perWorker) {
		if !seqs[s] {
			t.Fatalf("seq %d missing: the log has a gap", s)
		}
	}
}

func TestIdempotency(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleIngest)
	ev := `{"id":"evt-1","action":"user.login","actor":{"type":"user","id":"1"}}`
	first, err := ingest(t, ctx, l, "acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ingest(t, ctx, l, "acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	if first[0] != again[0] {
		t.Fatalf("replay answered %+v, first answer was %+v", again[0], first[0])
	}
	_, err = ingest(t, ctx, l, "acme", `{"id":"evt-1","action":"user.logout","actor":{"type":"user","id":"1"}}`)
	if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Fatalf("same id, other content: got %v, want conflict", err)
	}
}

func TestAuthorization(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	admin := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(admin, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateTenant(admin, &hashtrail.Tenant{ID: "globex"}); err != nil {
		t.Fatal(err)
	}
	ev := `{"action":"user.login","actor":{"type":"user","id":"1"}}`
	for _, tc := range []struct {
		name string
		ctx  context.Context
		op   func(ctx context.Context) error
		want string
	}{
		{"ingest key writes", as(t.Context(), "acme", hashtrail.RoleIngest), func(ctx context.Context) error { _, err := ingest(t, ctx, l, "acme", ev); return err }, ""},
		{"ingest key cannot read", as(t.Context(), "acme", hashtrail.RoleIngest), func(ctx context.Context) error {
			_, err := l.Events(ctx, &hashtrail.Query{Tenant: "acme"})
			return err
		}, hashtrail.EFORBIDDEN},
		{"read key cannot write", as(t.Context(), "acme", hashtrail.RoleRead), func(ctx context.Context) error { _, err := ingest(t, ctx, l, "acme", ev); return err }, hashtrail.EFORBIDDEN},
		{"other tenant is not found", as(t.Context(), "acme", hashtrail.RoleAdmin), func(ctx context.Context) error {
			_, err := l.Events(ctx, &hashtrail.Query{Tenant: "globex"})
			return err
		}, hashtrail.ENOTFOUND},
		{"other tenant write is not found", as(t.Context(), "acme", hashtrail.RoleAdmin), func(ctx context.Context) error { _, err := ingest(t, ctx, l, "globex", ev); return err }, hashtrail.ENOTFOUND},
		{"tenant key cannot use /v1/events", as(t.Context(), "acme", hashtrail.RoleIngest), func(ctx context.Context) error { _, err := ingest(t, ctx, l, "", ev); return err }, hashtrail.EFORBIDDEN},
		{"nobody writes the system log", admin, func(ctx context.Context) error { _, err := ingest(t, ctx, l, hashtrail.SystemTenant, ev); return err }, hashtrail.EFORBIDDEN},
		{"tenant admin cannot create tenants", as(t.Context(), "acme", hashtrail.RoleAdmin), func(ctx context.Context) error {
			_, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "x"})
			return err
		}, hashtrail.EFORBIDDEN},
		{"tenant admin cannot make installation keys", as(t.Context(), "acme", hashtrail.RoleAdmin), func(ctx context.Context) error {
			_, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleRead})
			return err
		}, hashtrail.EFORBIDDEN},
		{"read key cannot make keys", as(t.Context(), "acme", hashtrail.RoleRead), func(ctx context.Context) error {
			_, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead})
			return err
		}, hashtrail.EFORBIDDEN},
		{"tenant list shows only own tenant", as(t.Context(), "acme", hashtrail.RoleRead), func(ctx context.Context) error {
			ts, err := l.Tenants(ctx)
			if err == nil && (len(ts) != 1 || ts[0].ID != "acme") {
				return fmt.Errorf("saw %d tenants", len(ts))
			}
			return err
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hashtrail.ErrorCode(tc.op(tc.ctx)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAutoCreateTenants(t *testing.T) {
	ev := `{"action":"user.login","actor":{"type":"user","id":"1"}}`
	off, _ := MustOpen(t, ledger.Config{AutoCreateTenants: false})
	if _, err := ingest(t, as(t.Context(), hashtrail.AllTenants, hashtrail.RoleIngest), off, "fresh", ev); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("auto-create off: got %v, want not found", err)
	}
	on, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	if _, err := ingest(t, as(t.Context(), hashtrail.AllTenants, hashtrail.RoleIngest), on, "fresh", ev); err != nil {
		t.Fatalf("auto-create on: %v", err)
	}
}

func TestKeysAuthenticateRevokeAndAudit(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	boot, err := l.Bootstrap(t.Context(), "")
	if err != nil || boot == nil {
		t.Fatalf("bootstrap: %v %v", boot, err)
	}
	if again, err := l.Bootstrap(t.Context(), ""); err != nil || again != nil {
		t.Fatalf("second bootstrap made a key: %v %v", again, err)
	}
	p, err := l.Authenticate(t.Context(), boot.Secret)
	if err != nil || p.Tenant != hashtrail.AllTenants || p.Role != hashtrail.RoleAdmin {
		t.Fatalf("bootstrap key: %+v %v", p, err)
	}
	admin := hashtrail.WithPrincipal(t.Context(), p)
	if _, err := l.CreateTenant(admin, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	k, err := l.CreateKey(admin, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead, Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), k.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), k.Secret+"x"); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := l.RevokeKey(admin, "acme", k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), k.Secret); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Fatalf("revoked key still authenticates: %v", err)
	}
	// The tenant's own log shows who made and revoked the key.
	list, err := l.Events(admin, &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Events) != 2 || list.Events[0].Action != "api_key.create" || list.Events[1].Action != "api_key.revoke" ||
		list.Events[0].Actor.ID != p.KeyID || list.Events[0].Category != hashtrail.CategorySystem {
		for _, e := range list.Events {
			t.Logf("%d %s %+v", e.Seq, e.Action, e.Actor)
		}
		t.Fatal("self-audit events differ")
	}
}

func TestExpiredKeyIsRefused(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixMicro())
	l, _ := MustOpen(t, ledger.Config{Now: func() time.Time { return time.UnixMicro(now.Load()) }, KeyCacheTTL: time.Hour})
	k, err := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleRead,
		ExpiresAt: hashtrail.NewTime(time.UnixMicro(now.Load()).Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), k.Secret); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	now.Add(int64(2 * time.Hour / time.Microsecond))
	if _, err := l.Authenticate(t.Context(), k.Secret); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Fatalf("after expiry (even from the cache): %v", err)
	}
}

func TestPagingIsStableUnderConcurrentWrites(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	for i := range 50 {
		if _, err := ingest(t, ctx, l, "acme", fmt.Sprintf(`{"id":"e%d","action":"user.login"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			ingest(t, ctx, l, "acme", fmt.Sprintf(`{"id":"late%d","action":"user.login"}`, i))
		}
	}()
	seen := map[int64]bool{}
	q := &hashtrail.Query{Tenant: "acme", Limit: 7}
	last := int64(-1)
	for {
		page, err := l.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if seen[e.Seq] {
				t.Fatalf("seq %d returned twice", e.Seq)
			}
			if last >= 0 && e.Seq >= last {
				t.Fatalf("seq %d after %d in a newest-first walk", e.Seq, last)
			}
			seen[e.Seq], last = true, e.Seq
		}
		if page.NextCursor == "" {
			break
		}
		c, err := hashtrail.ParseCursor(page.NextCursor)
		if err != nil {
			t.Fatal(err)
		}
		q.BeforeSeq = &c.Seq
	}
	<-done
	if last != 0 {
		t.Fatalf("walk ended at seq %d, not 0", last)
	}
}
