package ledger

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
)

// Settings that name the installation's log (DESIGN §2).
const (
	// SettingServerName holds the server name of every checkpoint origin,
	// "<server name>/<tenant>". It is set on the first start and never
	// changes.
	SettingServerName = "server_name"
	// settingLogKeyPrefix + i holds the i-th checkpoint signing key ever used
	// (0-based), as a note verifier key under the server name. The list only
	// grows: each entry is written once with InitSetting, so two nodes adding
	// keys at once can never lose one.
	settingLogKeyPrefix = "log_key_"
)

// maxLogKeys bounds the key list, as a guard against a runaway loop.
const maxLogKeys = 10000

// serverNameRE is what a server name may look like: a host name, optionally
// followed by path segments, as C2SP recommends for origins (a URL without
// its scheme). It keeps origins valid note key names (no spaces, no '+').
var serverNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,127})(/[A-Za-z0-9._-]{1,64}){0,4}$`)

// ValidServerName reports whether name can be an installation's server name:
// a host name such as audit.example.com, optionally followed by up to four
// path segments (audit.example.com/logs), of letters, digits, '.', '_' and '-'.
func ValidServerName(name string) bool { return serverNameRE.MatchString(name) }

// DefaultServerName returns a new random server name, hashtrail-<8 hex>.local,
// drawn from r (crypto/rand if nil).
func DefaultServerName(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("ledger: drawing a server name: %w", err)
	}
	return "hashtrail-" + hex.EncodeToString(b) + ".local", nil
}

// LogSetup is what SetupLog needs: the configuration of the installation's
// log identity.
type LogSetup struct {
	// ServerName is the configured server name; "" keeps the stored one, or
	// on the first start draws DefaultServerName.
	ServerName string
	// Signer is the signing key in use from now on.
	Signer crypto.Signer
	// RotateFrom is the previous signing key when the key is being rotated;
	// it must be a key the installation used before.
	RotateFrom crypto.Signer
	// AcceptNewKey records a Signer the installation never used without
	// RotateFrom, for when the previous key is lost: checkpoints then change
	// keys without one signed by both.
	AcceptNewKey bool
	// Rand draws the default server name (crypto/rand if nil).
	Rand io.Reader
}

// LogIdentity is the installation's log identity as SetupLog settled it.
type LogIdentity struct {
	ServerName string
	// Current is the verifier key of Signer under the server name.
	Current string
	// Keys are the verifier keys of every signing key ever used, oldest
	// first, Current included.
	Keys []string
	// Added reports that Current was recorded now (a first start or a
	// rotation).
	Added bool
}

// SetupLog settles the installation's log identity before the ledger starts
// signing: it stores the server name on the first start (and refuses a
// configured one that differs from the stored one), and records the signing
// key's public key in the list of every key ever used. A key not in the list
// is refused unless the installation has no key yet, s.RotateFrom holds a key
// from the list, or s.AcceptNewKey is set. The private keys are never stored.
func SetupLog(ctx context.Context, st hashtrail.SettingStore, s LogSetup) (*LogIdentity, error) {
	name, err := setupServerName(ctx, st, s.ServerName, s.Rand)
	if err != nil {
		return nil, err
	}
	cur, err := verifierKey(name, s.Signer)
	if err != nil {
		return nil, err
	}
	keys, err := LogKeyList(ctx, st)
	if err != nil {
		return nil, err
	}
	id := &LogIdentity{ServerName: name, Current: cur, Keys: keys}
	if s.RotateFrom != nil {
		old, err := verifierKey(name, s.RotateFrom)
		if err != nil {
			return nil, fmt.Errorf("the key to rotate from: %w", err)
		}
		if !slices.Contains(keys, old) {
			return nil, hashtrail.Errorf(hashtrail.EINVALID, "the key to rotate from (%s) was never used by this installation; its keys are %v", old, keys)
		}
		if old == cur {
			return nil, hashtrail.Errorf(hashtrail.EINVALID, "the key to rotate from is the signing key itself; point the signing key at the new key")
		}
	}
	if slices.Contains(keys, cur) {
		return id, nil
	}
	if len(keys) > 0 && s.RotateFrom == nil && !s.AcceptNewKey {
		return nil, hashtrail.Errorf(hashtrail.ECONFLICT,
			"the signing key %s is not one this installation used (its keys are %v): restore the previous key, rotate to the new one with the previous key as the key to rotate from, or accept the new key if the previous one is lost", cur, keys)
	}
	if id.Keys, err = addLogKey(ctx, st, keys, cur); err != nil {
		return nil, err
	}
	id.Added = true
	return id, nil
}

func setupServerName(ctx context.Context, st hashtrail.SettingStore, want string, r io.Reader) (string, error) {
	if want != "" && !ValidServerName(want) {
		return "", hashtrail.Errorf(hashtrail.EINVALID, "the server name %.80q is not valid: use a host name such as audit.example.com, optionally with path segments", want)
	}
	stored, err := st.Setting(ctx, SettingServerName)
	switch {
	case err == nil:
	case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
		return "", err
	default:
		name := want
		if name == "" {
			if name, err = DefaultServerName(r); err != nil {
				return "", err
			}
		}
		if stored, err = st.InitSetting(ctx, SettingServerName, name); err != nil {
			return "", err
		}
	}
	if want != "" && stored != want {
		return "", hashtrail.Errorf(hashtrail.ECONFLICT, "the server name is %q, set on the first start, and it never changes (it names every checkpoint); the configuration asks for %q", stored, want)
	}
	return stored, nil
}

// LogKeyList returns the verifier keys (under the server name) of every
// checkpoint signing key the installation ever used, oldest first.
func LogKeyList(ctx context.Context, st hashtrail.SettingStore) ([]string, error) {
	var keys []string
	for i := range maxLogKeys {
		v, err := st.Setting(ctx, settingLogKeyPrefix+strconv.Itoa(i))
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			return keys, nil
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, v)
	}
	return keys, nil
}

// addLogKey appends key to the list unless it is there already.
func addLogKey(ctx context.Context, st hashtrail.SettingStore, keys []string, key string) ([]string, error) {
	for i := len(keys); i < maxLogKeys; i++ {
		v, err := st.InitSetting(ctx, settingLogKeyPrefix+strconv.Itoa(i), key)
		if err != nil {
			return nil, err
		}
		keys = append(keys, v)
		if v == key {
			return keys, nil
		}
	}
	return nil, fmt.Errorf("ledger: more than %d signing keys", maxLogKeys)
}

func verifierKey(name string, key crypto.Signer) (string, error) {
	pub, err := checkpoint.PublicKey(key)
	if err != nil {
		return "", err
	}
	return checkpoint.VerifierKey(name, pub)
}

// LogKeys returns the verifier keys of the checkpoint signing keys: the
// current one and every one ever used. It needs no credentials.
func (l *Ledger) LogKeys(ctx context.Context) (*hashtrail.LogKeys, error) {
	if l.sig == nil {
		return nil, errNoSigning
	}
	all, err := LogKeyList(ctx, l.store)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(all, l.sig.current) {
		all = append(all, l.sig.current)
	}
	return &hashtrail.LogKeys{Current: l.sig.current, All: all}, nil
}

var errNoSigning = hashtrail.Errorf(hashtrail.EUNAVAILABLE, "this server signs no checkpoints (it has no signing key)")
