package ledger

// Rate limits (issue #6, point 3): a token bucket per API key or viewer
// token, checked when a request authenticates (so every route counts, and
// an unauthenticated request costs no bucket). The rate depends on the
// principal's kind: ingest, read, admin or viewer (Config.RateLimits),
// unless the key's scope sets a limit of its own (KeyScope.RateLimit).
//
// Buckets live in each node's memory: with N nodes behind a load balancer
// a key may make up to N times its rate in total. The answer to an empty
// bucket is ERATELIMIT (HTTP 429) with Retry-After: the time until the
// bucket holds a whole token again.

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// RateLimit is a token bucket: Rate requests a second on average, bursts
// of up to Burst. A zero Rate is no limit.
type RateLimit struct {
	Rate  float64
	Burst int
}

// RateLimits gives the limit of each kind of principal.
type RateLimits struct {
	Ingest, Read, Admin, Viewer RateLimit
}

// DefaultRateLimits limits only viewer tokens (they live in browsers): 20
// requests a second, bursts of 40. API keys are unlimited unless
// configured.
var DefaultRateLimits = RateLimits{Viewer: RateLimit{Rate: 20, Burst: 40}}

// ParseRateLimits reads "ingest=1000,read=50,admin=10,viewer=20" (requests
// a second per key; a burst of twice the rate, or "read=50:200" to name
// it; 0 for no limit). Kinds not named keep DefaultRateLimits.
func ParseRateLimits(s string) (RateLimits, error) {
	out := DefaultRateLimits
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		kind, spec, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return out, fmt.Errorf("rate limit %q: want kind=rate[:burst], such as read=50", part)
		}
		rate, burstText, hasBurst := strings.Cut(spec, ":")
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			return out, fmt.Errorf("rate limit %q: the rate must be a number of requests a second", part)
		}
		burst := int(math.Ceil(2 * r))
		if hasBurst {
			if burst, err = strconv.Atoi(burstText); err != nil || burst < 1 {
				return out, fmt.Errorf("rate limit %q: the burst must be a whole number of at least 1", part)
			}
		}
		lim := RateLimit{Rate: r, Burst: max(burst, 1)}
		switch kind {
		case "ingest":
			out.Ingest = lim
		case "read":
			out.Read = lim
		case "admin":
			out.Admin = lim
		case "viewer":
			out.Viewer = lim
		default:
			return out, fmt.Errorf("rate limit %q: the kind must be ingest, read, admin or viewer", part)
		}
	}
	return out, nil
}

func (r *RateLimits) of(p *hashtrail.Principal) RateLimit {
	if p.Scope != nil && p.Scope.RateLimit != nil {
		k := p.Scope.RateLimit
		return RateLimit{Rate: k.Rate, Burst: max(cmp.Or(k.Burst, int(math.Ceil(2*k.Rate))), 1)}
	}
	switch {
	case p.Viewer != nil:
		return r.Viewer
	case p.Role == hashtrail.RoleIngest:
		return r.Ingest
	case p.Role == hashtrail.RoleRead:
		return r.Read
	case p.Role == hashtrail.RoleAdmin:
		return r.Admin
	}
	return RateLimit{}
}

type bucket struct {
	tokens float64
	last   time.Time
}

type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

// rateLimitError is ERATELIMIT with the time until a retry can succeed.
type rateLimitError struct {
	err   *hashtrail.Error
	after time.Duration
}

func (e *rateLimitError) Error() string             { return e.err.Error() }
func (e *rateLimitError) Unwrap() error             { return e.err }
func (e *rateLimitError) RetryAfter() time.Duration { return e.after }

// allow takes a token from p's bucket, or answers ERATELIMIT.
func (l *Ledger) allow(p *hashtrail.Principal) error {
	lim := l.cfg.RateLimits.of(p)
	if lim.Rate <= 0 {
		return nil
	}
	now := l.now()
	rl := &l.limits
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.buckets == nil || len(rl.buckets) > 100000 {
		rl.buckets = map[string]*bucket{}
	}
	b := rl.buckets[p.KeyID]
	if b == nil {
		b = &bucket{tokens: float64(lim.Burst), last: now}
		rl.buckets[p.KeyID] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(lim.Burst), b.tokens+el*lim.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	l.metrics.rateLimited.WithLabelValues("key").Inc()
	after := time.Duration((1 - b.tokens) / lim.Rate * float64(time.Second))
	return &rateLimitError{hashtrail.Errorf(hashtrail.ERATELIMIT, "this key made more than %g requests a second (bursts of %d); retry after the Retry-After seconds", lim.Rate, lim.Burst), after}
}
