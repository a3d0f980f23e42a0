package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

var _ hashtrail.EventPurger = (*Store)(nil)

// purgeChunk is the most events one purge transaction deletes, so that the
// writer connection is free for appends between chunks.
const purgeChunk = 256

// PurgeEvents deletes the events of tenant in ranges; see
// hashtrail.EventPurger. Each chunk of up to purgeChunk events is one write
// transaction: it moves the events' idempotency records to purged_events
// and deletes their events, event_targets, event_tags, event_text and
// event_pii rows; tree_hashes stay. Freed pages are overwritten with zeros
// (PRAGMA secure_delete, on for the writer during the purge) and the
// full-text index runs with its own secure-delete option (0005), so the
// deleted bodies do not linger in the database file.
func (s *Store) PurgeEvents(ctx context.Context, tenant string, ranges [][2]int64) (int64, error) {
	for _, r := range ranges {
		if r[0] < 0 || r[0] > r[1] {
			return 0, hashtrail.Errorf(hashtrail.EINVALID, "invalid seq range [%d, %d]", r[0], r[1])
		}
	}
	var num int64
	err := s.r.QueryRowContext(ctx, `SELECT num FROM tenants WHERE id = ?`, tenant).Scan(&num)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", tenant)
		}
		return 0, fmt.Errorf("sqlite: purge: %w", err)
	}
	if err := s.secureDelete(ctx, true); err != nil {
		return 0, err
	}
	defer s.secureDelete(context.Background(), false)
	var total int64
	for _, r := range ranges {
		lo, hi := min(r[0], seqMask), min(r[1], seqMask)
		for lo <= hi {
			var n int64
			var last int64
			err := s.write(ctx, func(tx *wtx) error {
				var err error
				n, last, err = purgeChunkTx(tx, num, pos(num, lo), pos(num, hi), hashtrail.NewTime(s.now()))
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < purgeChunk {
				break
			}
			lo = last&seqMask + 1
		}
	}
	return total, nil
}

// secureDelete turns PRAGMA secure_delete on or off on the writer
// connection.
func (s *Store) secureDelete(ctx context.Context, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := "OFF"
	if on {
		v = "ON"
	}
	if _, err := s.wc.ExecContext(ctx, "PRAGMA secure_delete = "+v); err != nil {
		return fmt.Errorf("sqlite: purge: secure_delete: %w", err)
	}
	return nil
}

// purgeChunkTx purges up to purgeChunk events of tenant num with pos in
// [lo, hi], the first ones; it returns how many and the last pos.
func purgeChunkTx(tx *wtx, num, lo, hi int64, now hashtrail.Time) (int64, int64, error) {
	rows, err := tx.query(`SELECT `+eventSelect+` FROM events e WHERE e.pos BETWEEN ? AND ? ORDER BY e.pos LIMIT ?`, lo, hi, purgeChunk)
	if err != nil {
		return 0, 0, err
	}
	var events []*hashtrail.Event
	for rows.Next() {
		e, err := scanEvent(rows, "")
		if err != nil {
			rows.Close()
			return 0, 0, err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, 0, fmt.Errorf("sqlite: purge: %w", err)
	}
	rows.Close()
	if len(events) == 0 {
		return 0, 0, nil
	}
	first, last := pos(num, events[0].Seq), pos(num, events[len(events)-1].Seq)
	if _, err := tx.exec(`INSERT OR IGNORE INTO purged_events (tenant, id, pos, received_at, content_hash, leaf_hash, purged_at)
		SELECT tenant, id, pos, received_at, content_hash, leaf_hash, ? FROM events WHERE pos BETWEEN ? AND ?`, now.Micros(), first, last); err != nil {
		return 0, 0, err
	}
	if err := deleteEventRows(tx, num, events); err != nil {
		return 0, 0, err
	}
	return int64(len(events)), last, nil
}

// deleteEventRows deletes the rows of events (consecutive in pos, all of
// tenant num) but their tree hashes: events, event_targets, event_tags,
// event_text and event_pii, and their counts; it takes what they stored
// from the tenant's storage_bytes.
func deleteEventRows(tx *wtx, num int64, events []*hashtrail.Event) error {
	first, last := pos(num, events[0].Seq), pos(num, events[len(events)-1].Seq)
	var stored int64
	for _, e := range events {
		p := pos(num, e.Seq)
		stored += ingest.StoredBytes(e, nil, nil)
		for _, k := range ingest.TargetKeys(e) {
			if _, err := tx.exec(`DELETE FROM event_targets WHERE target = ? AND pos = ?`, k, p); err != nil {
				return err
			}
		}
		for _, t := range e.Tags {
			if _, err := tx.exec(`DELETE FROM event_tags WHERE tag = ? AND pos = ?`, t, p); err != nil {
				return err
			}
		}
	}
	row, err := tx.queryRow(`SELECT coalesce((SELECT sum(length(body)) FROM events WHERE pos BETWEEN ?1 AND ?2), 0)
		+ coalesce((SELECT sum(coalesce(length(values_jcs), 0) + coalesce(length(salt), 0) + length(commitment))
			FROM event_pii WHERE tenant = ?3 AND seq BETWEEN ?4 AND ?5), 0)`, first, last, num, first&seqMask, last&seqMask)
	if err != nil {
		return err
	}
	var rows int64
	if err := row.Scan(&rows); err != nil {
		return fmt.Errorf("sqlite: storage bytes: %w", err)
	}
	if _, err := tx.exec(`UPDATE tenants SET storage_bytes = max(0, storage_bytes - ?) WHERE num = ?`, stored+rows, num); err != nil {
		return err
	}
	if err := uncount(tx, first, last); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM event_text WHERE rowid BETWEEN ? AND ?`,
		`DELETE FROM events WHERE pos BETWEEN ? AND ?`,
	} {
		if _, err := tx.exec(q, first, last); err != nil {
			return err
		}
	}
	_, err = tx.exec(`DELETE FROM event_pii WHERE tenant = ? AND seq BETWEEN ? AND ?`, num, first&seqMask, last&seqMask)
	return err
}
