package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/httpapi/ui"
)

// configUISessionKey is the installation document (in the reserved
// tenant's configuration) that holds the web UI's session key.
const configUISessionKey = "ui_session_key"

// uiSessionKey returns the web UI's session-sealing key: 32 random bytes
// made on the first start and kept in the store, so every node that shares
// the store opens every node's session cookies and sessions survive
// restarts. Two nodes starting at once agree: the second one's write
// conflicts and it reads the first one's key.
func uiSessionKey(ctx context.Context, st hashtrail.Store) ([]byte, error) {
	if err := st.CreateTenant(ctx, &hashtrail.Tenant{ID: hashtrail.SystemTenant, Name: "Hashtrail installation log"}); err != nil && hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		return nil, fmt.Errorf("ui session key: %w", err)
	}
	for range 3 {
		doc, err := st.TenantConfig(ctx, hashtrail.SystemTenant, configUISessionKey)
		if err == nil {
			var v struct {
				Key string `json:"key"`
			}
			if json.Unmarshal(doc.Value, &v) != nil {
				return nil, fmt.Errorf("ui session key: the stored document is not JSON")
			}
			key, derr := base64.StdEncoding.DecodeString(v.Key)
			if derr != nil || len(key) != 32 {
				return nil, fmt.Errorf("ui session key: the stored key is not 32 bytes of base64")
			}
			return key, nil
		}
		if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			return nil, fmt.Errorf("ui session key: %w", err)
		}
		key := make([]byte, 32)
		rand.Read(key)
		value, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString(key)})
		err = st.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: hashtrail.SystemTenant, Kind: configUISessionKey, Value: value, UpdatedBy: "serve"})
		if err == nil {
			return key, nil
		}
		if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
			return nil, fmt.Errorf("ui session key: %w", err)
		}
	}
	return nil, fmt.Errorf("ui session key: the stored key keeps changing")
}

// newUI makes the web UI over svc, its sessions sealed with the store's key.
func newUI(ctx context.Context, st hashtrail.Store, svc hashtrail.LogService, log *slog.Logger) (http.Handler, error) {
	key, err := uiSessionKey(ctx, st)
	if err != nil {
		return nil, err
	}
	return ui.New(svc, ui.Config{SessionKey: key, Logger: log})
}

// demoUIKeyName names the key `serve --demo` makes for signing in to the UI.
const demoUIKeyName = "demo web UI"

// printDemoUI tells the user of `serve --demo` where to open the web UI and
// what to sign in with: the bootstrap key just printed, or else a fresh
// installation-wide admin key named demoUIKeyName (the previous ones of
// that name are revoked, so restarts do not pile keys up).
func printDemoUI(ctx context.Context, w io.Writer, svc hashtrail.LogService, base string, bootstrapShown bool) error {
	if bootstrapShown {
		fmt.Fprintf(w, "\nDemo data is loaded (tenants acme, globex, initech). Open the web UI at\n\n    %s/ui/\n\nand sign in with the admin key printed above.\n\n", base)
		return nil
	}
	keys, err := svc.Keys(ctx, hashtrail.AllTenants)
	if err != nil {
		return fmt.Errorf("demo: listing keys: %w", err)
	}
	for _, k := range keys {
		if k.Name == demoUIKeyName && k.RevokedAt.IsZero() {
			if err := svc.RevokeKey(ctx, hashtrail.AllTenants, k.ID); err != nil {
				return fmt.Errorf("demo: revoking the previous UI key: %w", err)
			}
		}
	}
	k, err := svc.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin, Name: demoUIKeyName})
	if err != nil {
		return fmt.Errorf("demo: creating a key for the UI: %w", err)
	}
	fmt.Fprintf(w, "\nDemo data is loaded (tenants acme, globex, initech). Open the web UI at\n\n    %s/ui/\n\nand sign in with this key (a new one on every start; the previous one is revoked):\n\n    %s\n\n", base, k.Secret)
	return nil
}
