package ledger_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestRateLimitPerKey(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMicro())
	limits, err := ledger.ParseRateLimits("read=2:3")
	if err != nil {
		t.Fatal(err)
	}
	l, _ := MustOpen(t, ledger.Config{Now: func() time.Time { return time.UnixMicro(clock.Load()) }, RateLimits: limits})
	a, _ := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleRead})
	b, _ := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleRead})
	adm, _ := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin})
	for i := range 3 {
		if _, err := l.Authenticate(t.Context(), a.Secret); err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
	}
	_, err = l.Authenticate(t.Context(), a.Secret)
	if hashtrail.ErrorCode(err) != hashtrail.ERATELIMIT {
		t.Fatalf("past the burst: %v", err)
	}
	if ra, ok := err.(interface{ RetryAfter() time.Duration }); !ok || ra.RetryAfter() <= 0 || ra.RetryAfter() > time.Second {
		t.Errorf("retry after: %v", err)
	}
	if _, err := l.Authenticate(t.Context(), b.Secret); err != nil {
		t.Errorf("another key shares the bucket: %v", err)
	}
	for range 10 {
		if _, err := l.Authenticate(t.Context(), adm.Secret); err != nil {
			t.Fatalf("admin keys are unlimited here: %v", err)
		}
	}
	clock.Add(int64(500 * time.Millisecond / time.Microsecond)) // one token at 2/s
	if _, err := l.Authenticate(t.Context(), a.Secret); err != nil {
		t.Errorf("after refill: %v", err)
	}
	for _, bad := range []string{"read", "read=x", "nosuch=1", "read=1:0"} {
		if _, err := ledger.ParseRateLimits(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if d, _ := ledger.ParseRateLimits(""); d.Viewer.Rate != 20 || d.Read.Rate != 0 {
		t.Errorf("defaults %+v", d)
	}
}

// TestRateLimitKeyOverride: a key's own limit (KeyScope.RateLimit) replaces
// the server's limit for its role, tighter or looser, and is validated.
func TestRateLimitKeyOverride(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMicro())
	limits, err := ledger.ParseRateLimits("ingest=1:1")
	if err != nil {
		t.Fatal(err)
	}
	l, _ := MustOpen(t, ledger.Config{Now: func() time.Time { return time.UnixMicro(clock.Load()) }, RateLimits: limits})
	loose, err := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleIngest,
		Scope: &hashtrail.KeyScope{RateLimit: &hashtrail.KeyRateLimit{Rate: 100, Burst: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	tight, err := l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin,
		Scope: &hashtrail.KeyScope{RateLimit: &hashtrail.KeyRateLimit{Rate: 1}}}) // admin is unlimited on this server
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := l.Authenticate(t.Context(), loose.Secret); err != nil {
			t.Fatalf("request %d within the key's own burst of 5 (the role's is 1): %v", i, err)
		}
	}
	if _, err := l.Authenticate(t.Context(), loose.Secret); hashtrail.ErrorCode(err) != hashtrail.ERATELIMIT {
		t.Fatalf("past the key's own burst: %v", err)
	}
	for i := range 2 { // rate 1, burst defaults to twice the rate
		if _, err := l.Authenticate(t.Context(), tight.Secret); err != nil {
			t.Fatalf("request %d within burst 2: %v", i, err)
		}
	}
	if _, err := l.Authenticate(t.Context(), tight.Secret); hashtrail.ErrorCode(err) != hashtrail.ERATELIMIT {
		t.Fatalf("an admin key with its own limit of 1/s: %v", err)
	}
	_, err = l.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleRead,
		Scope: &hashtrail.KeyScope{RateLimit: &hashtrail.KeyRateLimit{Rate: -1, Burst: -2}}})
	var he *hashtrail.Error
	if !errors.As(err, &he) || he.Code != hashtrail.EINVALID || len(he.Fields) != 2 ||
		he.Fields[0].Field != "scope.rate_limit.rate" || he.Fields[1].Field != "scope.rate_limit.burst" {
		t.Fatalf("negative limit: %v", err)
	}
}
