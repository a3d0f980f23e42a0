package ledger_test

import (
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestRotateKey(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMicro())
	l, _ := MustOpen(t, ledger.Config{Now: func() time.Time { return time.UnixMicro(clock.Load()) }, KeyCacheTTL: time.Millisecond})
	admin := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(admin, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	old, err := l.CreateKey(admin, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleIngest, Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	nk, err := l.RotateKey(admin, "acme", old.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if nk.Role != hashtrail.RoleIngest || nk.Tenant != "acme" || nk.Name != "ci" || nk.ID == old.ID {
		t.Fatalf("new key %+v", nk)
	}
	for _, s := range []string{old.Secret, nk.Secret} {
		if _, err := l.Authenticate(t.Context(), s); err != nil {
			t.Fatalf("during the grace period: %v", err)
		}
	}
	clock.Add(int64(2 * time.Hour / time.Microsecond))
	if _, err := l.Authenticate(t.Context(), old.Secret); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Fatalf("old key after the grace period: %v", err)
	}
	if _, err := l.Authenticate(t.Context(), nk.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RotateKey(admin, "acme", old.ID, 0); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Errorf("rotating a revoked key: %v", err)
	}
	// Revoking during a grace period takes effect at once.
	nk2, err := l.RotateKey(admin, "acme", nk.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RevokeKey(admin, "acme", nk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Authenticate(t.Context(), nk.Secret); hashtrail.ErrorCode(err) != hashtrail.EUNAUTHORIZED {
		t.Fatalf("revoked during the grace period: %v", err)
	}
	if _, err := l.Authenticate(t.Context(), nk2.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RotateKey(as(t.Context(), "acme", hashtrail.RoleRead), "acme", nk2.ID, 0); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("read key rotated: %v", err)
	}
}
