package hashtrail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestRoleAllows(t *testing.T) {
	perms := []hashtrail.Permission{hashtrail.PermWrite, hashtrail.PermRead, hashtrail.PermManage}
	for _, tc := range []struct {
		role hashtrail.Role
		want []bool // write, read, manage
	}{
		{hashtrail.RoleIngest, []bool{true, false, false}},
		{hashtrail.RoleRead, []bool{false, true, false}},
		{hashtrail.RoleAdmin, []bool{true, true, true}},
		{"", []bool{false, false, false}},
		{"Admin", []bool{false, false, false}},
		{"root", []bool{false, false, false}},
	} {
		for i, p := range perms {
			if got := tc.role.Allows(p); got != tc.want[i] {
				t.Errorf("%q.Allows(%d) = %v, want %v", tc.role, p, got, tc.want[i])
			}
		}
		if got := tc.role.Allows(hashtrail.Permission(99)); got != (tc.role == hashtrail.RoleAdmin) {
			t.Errorf("%q.Allows(unknown) = %v", tc.role, got)
		}
		if tc.role.Valid() != (tc.want[0] || tc.want[1]) {
			t.Errorf("%q.Valid() = %v", tc.role, tc.role.Valid())
		}
	}
}

func TestAPIKeyActive(t *testing.T) {
	at := func(d time.Duration) hashtrail.Time { return hashtrail.NewTime(now.Add(d)) }
	for _, tc := range []struct {
		name string
		key  hashtrail.APIKey
		want bool
	}{
		{"plain", hashtrail.APIKey{}, true},
		{"expires later", hashtrail.APIKey{ExpiresAt: at(time.Microsecond)}, true},
		{"expires now", hashtrail.APIKey{ExpiresAt: now}, false},
		{"expired", hashtrail.APIKey{ExpiresAt: at(-time.Hour)}, false},
		{"revoked now", hashtrail.APIKey{RevokedAt: now}, false},
		{"revoked", hashtrail.APIKey{RevokedAt: at(-time.Hour)}, false},
		{"revocation takes effect later", hashtrail.APIKey{RevokedAt: at(time.Hour)}, true},
		{"revoked, not expired", hashtrail.APIKey{RevokedAt: at(-time.Hour), ExpiresAt: at(time.Hour)}, false},
		{"expired, revoked later", hashtrail.APIKey{RevokedAt: at(time.Hour), ExpiresAt: at(-time.Hour)}, false},
	} {
		if got := tc.key.Active(now); got != tc.want {
			t.Errorf("%s: Active = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !(&hashtrail.APIKey{Tenant: hashtrail.AllTenants}).Installation() || (&hashtrail.APIKey{Tenant: "acme"}).Installation() {
		t.Error("Installation")
	}
}

var keySecretRE = regexp.MustCompile(`^htk_[A-Za-z0-9_-]{43}$`)

func TestNewKeySecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := hashtrail.NewKeySecret()
		if !keySecretRE.MatchString(s) {
			t.Fatalf("NewKeySecret() = %q", s)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(s, hashtrail.KeyPrefix))
		if err != nil || len(raw) != 32 {
			t.Fatalf("%q does not carry 32 bytes: %d, %v", s, len(raw), err)
		}
		if seen[s] {
			t.Fatalf("NewKeySecret repeated %q", s)
		}
		seen[s] = true
		if hint := hashtrail.KeyHint(s); hint != s[:12]+"…" {
			t.Errorf("KeyHint(%q) = %q", s, hint)
		}
	}
	if hint := hashtrail.KeyHint("short"); hint != "htk_short…" {
		t.Errorf("KeyHint(short) = %q", hint)
	}
	// The hint of a bootstrap key never shows more than 8 characters of it.
	if hint := hashtrail.KeyHint(strings.Repeat("s", 40)); hint != "htk_ssssssss…" {
		t.Errorf("KeyHint(bootstrap) = %q", hint)
	}
}

func TestNewKeyID(t *testing.T) {
	re := regexp.MustCompile(`^key_[a-z0-9_-]{12}$`)
	a, b := hashtrail.NewKeyID(), hashtrail.NewKeyID()
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Errorf("NewKeyID() = %q, %q", a, b)
	}
}

func TestHashKey(t *testing.T) {
	// SHA-256 test vector of FIPS 180-2.
	want, _ := hex.DecodeString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	if got := hashtrail.HashKey("abc"); !bytes.Equal(got, want) {
		t.Errorf("HashKey(abc) = %x", got)
	}
	s := hashtrail.NewKeySecret()
	if !bytes.Equal(hashtrail.HashKey(s), hashtrail.HashKey(s)) {
		t.Error("HashKey is not deterministic")
	}
	if bytes.Equal(hashtrail.HashKey(s), hashtrail.HashKey(s+"x")) || bytes.Equal(hashtrail.HashKey(s), hashtrail.HashKey(hashtrail.NewKeySecret())) {
		t.Error("HashKey collides")
	}
	if h := hashtrail.HashKey(s); len(h) != 32 || bytes.Contains(h, []byte(s)) {
		t.Errorf("HashKey = %x", h)
	}
}

func TestPrincipal(t *testing.T) {
	var nobody *hashtrail.Principal
	if nobody.Sees("acme") {
		t.Error("a nil principal sees a tenant")
	}
	p := &hashtrail.Principal{KeyID: "key_1", Tenant: "acme", Role: hashtrail.RoleRead}
	if !p.Sees("acme") || p.Sees("globex") || p.Sees("") || p.Sees(hashtrail.AllTenants) {
		t.Error("a tenant key sees other tenants")
	}
	inst := &hashtrail.Principal{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin}
	if !inst.Sees("acme") || !inst.Sees(hashtrail.SystemTenant) {
		t.Error("an installation key does not see every tenant")
	}
	ctx := context.Background()
	if hashtrail.PrincipalFrom(ctx) != nil {
		t.Error("principal in an empty context")
	}
	if got := hashtrail.PrincipalFrom(hashtrail.WithPrincipal(ctx, p)); got != p {
		t.Errorf("PrincipalFrom = %v", got)
	}
}
