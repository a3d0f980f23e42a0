package ledger

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

type cachedKey struct {
	key     *hashtrail.APIKey
	fetched time.Time
}

// keyCache keeps recently authenticated keys by secret hash, and the last
// use of each key until the next flush to the store.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]cachedKey // by string(hash)
	used    map[string]time.Time // key id -> last use not yet stored
}

func (c *keyCache) get(hash []byte, now time.Time, ttl time.Duration) *hashtrail.APIKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(hash)]
	if !ok || now.Sub(e.fetched) > ttl {
		return nil
	}
	return e.key
}

func (c *keyCache) put(hash []byte, k *hashtrail.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 10000 {
		clear(c.entries)
	}
	c.entries[string(hash)] = cachedKey{k, now}
}

func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, h)
		}
	}
}

func (c *keyCache) touch(id string, now time.Time) {
	c.mu.Lock()
	c.used[id] = now
	c.mu.Unlock()
}

func (c *keyCache) takeUsed() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.used
	c.used = map[string]time.Time{}
	return u
}

// Authenticate returns the principal a bearer secret stands for. Unknown,
// expired and revoked keys get the same EUNAUTHORIZED answer.
func (l *Ledger) Authenticate(ctx context.Context, secret string) (*hashtrail.Principal, error) {
	denied := hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "invalid, expired or revoked API key")
	if secret == "" {
		return nil, hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "an API key is required: send Authorization: Bearer <key>")
	}
	if strings.HasPrefix(secret, hashtrail.ViewerTokenPrefix) {
		p, err := l.authenticateViewer(ctx, secret)
		if err != nil {
			return nil, err
		}
		if err := l.allow(p); err != nil {
			return nil, err
		}
		return p, nil
	}
	if len(secret) > 512 {
		return nil, denied
	}
	now := l.now()
	hash := hashtrail.HashKey(secret)
	k := l.keys.get(hash, now, l.cfg.KeyCacheTTL)
	if k == nil {
		var err error
		k, err = l.store.KeyByHash(ctx, hash)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			return nil, denied
		}
		if err != nil {
			l.log.Error("key lookup failed", "err", err)
			return nil, hashtrail.Errorf(hashtrail.EUNAVAILABLE, "cannot check credentials now; retry later")
		}
		l.keys.put(hash, k, now)
	}
	// The lookup was by hash; compare in constant time all the same, so a
	// store that matched loosely can never let a wrong secret through.
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 || !k.Active(hashtrail.NewTime(now)) {
		return nil, denied
	}
	l.keys.touch(k.ID, now)
	p := &hashtrail.Principal{KeyID: k.ID, Tenant: k.Tenant, Role: k.Role, Scope: k.Scope}
	if err := l.allow(p); err != nil {
		return nil, err
	}
	return p, nil
}

// touchLoop writes keys' last use to the store every few seconds, off the
// request path.
func (l *Ledger) touchLoop() {
	defer l.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.flushTouches()
		case <-l.stop:
			l.flushTouches()
			return
		}
	}
}

func (l *Ledger) flushTouches() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for id, at := range l.keys.takeUsed() {
		if err := l.store.TouchKey(ctx, id, hashtrail.NewTime(at)); err != nil && hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			l.log.Warn("recording key use failed", "key_id", id, "err", err)
		}
	}
}
