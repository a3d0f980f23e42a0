package postgres

import (
	"context"
	"time"

	"github.com/hashtrail/hashtrail"
)

// AcquireLease takes or renews the lease name for holder; see
// hashtrail.LeaseStore. Expiry is on the database's clock
// (clock_timestamp()), so the nodes' clocks need not agree; one statement
// decides atomically among racing nodes.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, hashtrail.Errorf(hashtrail.EINVALID, "lease %q: ttl must be positive", name)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires_at)
		VALUES ($1, $2, clock_timestamp() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()`,
		name, holder, ttl.Microseconds())
	if err != nil {
		return false, wrap("acquire lease", err)
	}
	return tag.RowsAffected() > 0, nil
}

// ReleaseLease gives the lease up if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
	return wrap("release lease", err)
}
