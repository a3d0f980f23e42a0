package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestUISessionKey: the first call makes and stores a key; every later
// call, as another node or a restarted one makes it, reads the same key.
func TestUISessionKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), dbFile)
	st, err := sqlite.Open(t.Context(), path, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := uiSessionKey(t.Context(), st)
	if err != nil || len(first) != 32 {
		t.Fatalf("first key: %d bytes, %v", len(first), err)
	}
	again, err := uiSessionKey(t.Context(), st)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("second call: a different key (%v)", err)
	}
	st.Close()
	st, err = sqlite.Open(t.Context(), path, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reopened, err := uiSessionKey(t.Context(), st)
	if err != nil || !bytes.Equal(first, reopened) {
		t.Fatalf("after a restart: a different key (%v)", err)
	}
	doc, err := st.TenantConfig(t.Context(), hashtrail.SystemTenant, configUISessionKey)
	if err != nil || doc.Version != 1 {
		t.Fatalf("stored document: %+v, %v", doc, err)
	}
}

func TestPrintDemoUI(t *testing.T) {
	for _, tc := range []struct {
		bootstrapped, chosen bool
		want                 string
	}{
		{true, false, "the admin key printed above"},
		{true, true, "the value of " + bootstrapEnv},
		{false, false, "printed on the first start"},
	} {
		var b strings.Builder
		printDemoUI(&b, "http://127.0.0.1:8080", tc.bootstrapped, tc.chosen)
		if !strings.Contains(b.String(), "http://127.0.0.1:8080/ui/") || !strings.Contains(b.String(), tc.want) {
			t.Errorf("bootstrapped %v chosen %v:\n%s", tc.bootstrapped, tc.chosen, b.String())
		}
	}
}
