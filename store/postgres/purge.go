package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

var _ hashtrail.EventPurger = (*Store)(nil)

// purgeChunk is the most events one purge transaction deletes the rows of,
// so that no purge transaction runs long.
const purgeChunk = 1000

// dropLockTimeout bounds how long dropping a partition waits for its
// locks: DETACH PARTITION needs an ACCESS EXCLUSIVE lock on events, which
// queues behind running queries and makes new ones queue behind it. Past
// it the purge deletes the partition's rows instead (or the next upkeep
// drops the partition once it is empty).
const dropLockTimeout = 2 * time.Second

// PurgeEvents deletes the events of tenant in ranges; see
// hashtrail.EventPurger. Idempotency records (event_ids) and tree hashes
// stay.
//
// Event bodies live in monthly partitions of events (by received_at). A
// partition of a month before the current one whose every remaining row
// lies in ranges (every event in it is expired and unheld, whatever its
// tenant) is detached and dropped whole: no dead rows, no vacuum, the
// space returned at once. Otherwise the rows are deleted, purgeChunk
// events per transaction. Either way the events' targets, tags and
// personal values go first, in the same bounded transactions.
func (s *Store) PurgeEvents(ctx context.Context, tenant string, ranges [][2]int64) (int64, error) {
	for _, r := range ranges {
		if r[0] < 0 || r[0] > r[1] {
			return 0, hashtrail.Errorf(hashtrail.EINVALID, "invalid seq range [%d, %d]", r[0], r[1])
		}
	}
	var num int64
	var drop []string
	err := s.tx(ctx, "purge", func(tx pgx.Tx) error {
		var err error
		if num, err = tenantNum(ctx, tx, tenant); err != nil {
			return err
		}
		drop, err = s.droppable(ctx, tx, num, ranges)
		return err
	})
	if err != nil || len(ranges) == 0 {
		return 0, err
	}
	var total int64
	for _, r := range ranges {
		for lo := r[0]; lo <= r[1]; {
			var n, found, last int64
			err := s.tx(ctx, "purge", func(tx pgx.Tx) error {
				var err error
				n, found, last, err = purgeRows(ctx, tx, num, lo, r[1], drop)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if found < purgeChunk {
				break
			}
			lo = last + 1
		}
	}
	for _, p := range drop {
		n, err := s.dropPartition(ctx, num, p, ranges)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// rangeArgs returns ranges as two arrays for unnest.
func rangeArgs(ranges [][2]int64) ([]int64, []int64) {
	lo, hi := make([]int64, len(ranges)), make([]int64, len(ranges))
	for i, r := range ranges {
		lo[i], hi[i] = r[0], r[1]
	}
	return lo, hi
}

// inRanges is the condition that e.seq lies in the ranges given as $2 and
// $3 (rangeArgs), for tenant $1.
const inRanges = `e.tenant = $1 AND EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) WHERE e.seq BETWEEN r.lo AND r.hi)`

// droppable returns the partitions of months before the current one that
// hold rows of tenant num in ranges and no other rows.
func (s *Store) droppable(ctx context.Context, tx pgx.Tx, num int64, ranges [][2]int64) ([]string, error) {
	lo, hi := rangeArgs(ranges)
	rows, err := tx.Query(ctx, `SELECT e.tableoid::regclass::text, count(*) FROM events e WHERE `+inRanges+` GROUP BY 1`, num, lo, hi)
	if err != nil {
		return nil, err
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (partCount, error) {
		var p partCount
		err := r.Scan(&p.name, &p.n)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	current := partitionName(monthOf(s.now()))
	var out []string
	for _, c := range counts {
		name := unquote(c.name)
		if !strings.HasPrefix(name, "events_p") || name >= current {
			continue
		}
		var all int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{name}.Sanitize()).Scan(&all); err != nil {
			return nil, err
		}
		if all == c.n {
			out = append(out, name)
		}
	}
	return out, nil
}

type partCount struct {
	name string
	n    int64
}

// unquote strips the quotes regclass::text may put around a name.
func unquote(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Trim(s, `"`)
}

// purgeRows deletes the targets, tags and personal values of the first
// purgeChunk events of tenant num with seqs in [lo, hi], and their events
// rows except those in the partitions of drop (dropPartition drops them
// whole). It returns how many events rows it deleted, how many events it
// found and the last one's seq.
func purgeRows(ctx context.Context, tx pgx.Tx, num, lo, hi int64, drop []string) (n, found, last int64, err error) {
	rows, err := tx.Query(ctx, `SELECT seq, body FROM events WHERE tenant = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq LIMIT `+fmt.Sprint(purgeChunk), num, lo, hi)
	if err != nil {
		return 0, 0, 0, err
	}
	var tSeqs, gSeqs []int64
	var targets, tags []string
	var stored int64 // what the events stored (ingest.StoredBytes) but their personal values
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			rows.Close()
			return 0, 0, 0, err
		}
		found, last = found+1, seq
		var e hashtrail.Event
		if err := ingest.DecodeBody(body, &e); err != nil {
			rows.Close()
			return 0, 0, 0, err
		}
		stored += ingest.StoredBytes(&e, body, nil)
		for _, k := range ingest.TargetKeys(&e) {
			tSeqs, targets = append(tSeqs, seq), append(targets, k)
		}
		for _, t := range e.Tags {
			gSeqs, tags = append(gSeqs, seq), append(tags, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, 0, err
	}
	if len(targets) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM event_targets t USING unnest($2::text[], $3::bigint[]) AS d(target, seq)
			WHERE t.tenant = $1 AND t.target = d.target AND t.seq = d.seq`, num, targets, tSeqs); err != nil {
			return 0, 0, 0, err
		}
	}
	if len(tags) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM event_tags t USING unnest($2::text[], $3::bigint[]) AS d(tag, seq)
			WHERE t.tenant = $1 AND t.tag = d.tag AND t.seq = d.seq`, num, tags, gSeqs); err != nil {
			return 0, 0, 0, err
		}
	}
	if found == 0 {
		return 0, 0, 0, nil
	}
	if _, err := tx.Exec(ctx, `WITH d AS (DELETE FROM event_pii WHERE tenant = $1 AND seq BETWEEN $2 AND $3
			RETURNING coalesce(octet_length(values_jcs), 0) + coalesce(octet_length(salt), 0) + octet_length(commitment) AS n)
		UPDATE tenants SET storage_bytes = greatest(0, storage_bytes - $4 - coalesce((SELECT sum(n) FROM d), 0)) WHERE num = $1`,
		num, lo, last, stored); err != nil {
		return 0, 0, 0, err
	}
	q := `DELETE FROM events WHERE tenant = $1 AND seq BETWEEN $2 AND $3`
	args := []any{num, lo, last}
	if len(drop) > 0 {
		q += ` AND tableoid <> ALL ($4::text[]::regclass[])`
		args = append(args, drop)
	}
	deleted, err := deleteCounted(ctx, tx, q, args...)
	if err != nil {
		return 0, 0, 0, err
	}
	return deleted, found, last, nil
}

// dropPartition detaches and drops partition name, provided every row left
// in it is an event of tenant num in ranges (checked again under an
// exclusive lock on the partition); it returns how many events it held.
// When the lock does not come within dropLockTimeout, or rows of other
// events arrived meanwhile, it deletes the rows in ranges instead.
func (s *Store) dropPartition(ctx context.Context, num int64, name string, ranges [][2]int64) (int64, error) {
	id := pgx.Identifier{name}.Sanitize()
	lo, hi := rangeArgs(ranges)
	var n int64
	dropped := false
	err := s.tx(ctx, "purge: drop partition", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.lockKey("partitions")); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errPartitionGone
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, dropLockTimeout.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE `+id+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			return err
		}
		var all, in int64
		if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE `+inRanges+`) FROM `+id+` e`, num, lo, hi).Scan(&all, &in); err != nil {
			return err
		}
		if all != in {
			return errNotDroppable
		}
		if err := uncountPartition(ctx, tx, num, id); err != nil {
			return err
		}
		for _, q := range []string{`ALTER TABLE events DETACH PARTITION ` + id, `DROP TABLE ` + id} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		n, dropped = in, true
		return nil
	})
	if err == nil && dropped {
		s.forgetMonths()
		s.log.Info("postgres: retention dropped a partition", "schema", s.schema, "partition", name, "events", n)
		return n, nil
	}
	if errors.Is(err, errPartitionGone) {
		return 0, nil // dropped meanwhile (another purge, upkeep): its rows are gone
	}
	if err != nil && !errors.Is(err, errNotDroppable) && !isLockTimeout(err) {
		return 0, err
	}
	s.log.Info("postgres: retention deletes rows instead of dropping a partition", "schema", s.schema, "partition", name, "reason", err)
	var total int64
	for {
		err := s.tx(ctx, "purge", func(tx pgx.Tx) error {
			var err error
			n, err = deleteCounted(ctx, tx, `DELETE FROM `+id+` WHERE ctid = ANY (ARRAY(SELECT e.ctid FROM `+id+` e WHERE `+inRanges+` LIMIT `+fmt.Sprint(purgeChunk)+`))`, num, lo, hi)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < purgeChunk {
			return total, nil
		}
	}
}

var (
	errNotDroppable  = errors.New("rows other than those purged are in the partition")
	errPartitionGone = errors.New("the partition was dropped meanwhile")
)

// isLockTimeout reports whether err is PostgreSQL's lock_not_available.
func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// dropEmptyPartitions drops the partitions of months before the current
// one that hold no rows (left behind by per-tenant purges that deleted
// rows). Upkeep runs it.
func (s *Store) dropEmptyPartitions(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE i.inhparent = 'events'::regclass AND n.nspname = $1 ORDER BY 1`, s.schema)
	if err != nil {
		return wrap("list partitions", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return wrap("list partitions", err)
	}
	current := partitionName(monthOf(s.now()))
	for _, name := range names {
		if !strings.HasPrefix(name, "events_p") || name >= current {
			continue
		}
		id := pgx.Identifier{name}.Sanitize()
		dropped := false
		err := s.tx(ctx, "upkeep: drop empty partition", func(tx pgx.Tx) error {
			// Nodes running upkeep at once take turns (as createPartitions
			// does); a later one finds the partition gone.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.lockKey("partitions")); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, id).Scan(&exists); err != nil || !exists {
				return err
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, dropLockTimeout.Milliseconds())); err != nil {
				return err
			}
			var any bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+id+`)`).Scan(&any); err != nil || any {
				return err
			}
			if _, err := tx.Exec(ctx, `LOCK TABLE `+id+` IN ACCESS EXCLUSIVE MODE`); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+id+`)`).Scan(&any); err != nil || any {
				return err
			}
			for _, q := range []string{`ALTER TABLE events DETACH PARTITION ` + id, `DROP TABLE ` + id} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			dropped = true
			return nil
		})
		if err != nil {
			if isLockTimeout(err) {
				continue // the next upkeep tries again
			}
			return err
		}
		if dropped {
			s.forgetMonths()
			s.log.Info("postgres: upkeep dropped an empty partition", "schema", s.schema, "partition", name)
		}
	}
	return nil
}
