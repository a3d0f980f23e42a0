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

// printDemoUI tells the user of `serve --demo` where to open the web UI and
// what to sign in with: the bootstrap key just printed, or, on a later
// start, the key printed on the first one (a restart changes nothing in
// the logs, so it makes no key of its own).
// chosen is set when the bootstrap key was the operator's own
// (HASHTRAIL_BOOTSTRAP_KEY) and so not printed.
func printDemoUI(w io.Writer, base string, bootstrapped, chosen bool) {
	with := "the admin key printed above"
	switch {
	case bootstrapped && chosen:
		with = "the value of " + bootstrapEnv
	case !bootstrapped:
		with = "the admin key printed on the first start (lost it? `hashtrail keys create --installation --role admin`,\nrun with the server stopped, makes another)"
	}
	fmt.Fprintf(w, "\nDemo data is loaded (tenants acme, globex, initech). Open the web UI at\n\n    %s/ui/\n\nand sign in with %s.\n\n", base, with)
}
