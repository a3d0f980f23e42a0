package sqlite

import (
	"fmt"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// backfillChunk is how many events the backfill reads at a time.
const backfillChunk = 512

// sealUnsealed seals the events of a database from before migration 0002
// (unreleased), in the migration's transaction: those events were stored
// whole, with no leaf, personal-value rows or tree. Each tenant's events
// are sealed in seq order as Append would have sealed them, with fresh salts
// and the default personal fields: the event body loses its personal values
// to event_pii, leaf_hash is set and the tree is built. No leaf of theirs
// was ever published, so nothing that anyone saw changes; their leaves date
// from the upgrade. It does nothing on a database without such events.
func (s *Store) sealUnsealed(tx *wtx) error {
	row, err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM events)`)
	if err != nil {
		return err
	}
	var exists bool
	if err := row.Scan(&exists); err != nil || !exists {
		return err
	}
	ts, err := tenantsWithEvents(tx)
	if err != nil {
		return fmt.Errorf("sqlite: backfill: %w", err)
	}
	for _, t := range ts {
		if err := sealTenant(tx, t.num, t.id, t.size); err != nil {
			return err
		}
		s.log.Info("sqlite: sealed the events of a tenant stored before tamper evidence", "tenant", t.id, "events", t.size)
	}
	return nil
}

// sealTenant seals the size events of one tenant, in chunks.
func sealTenant(tx *wtx, num int64, id string, size int64) error {
	e := &ingest.Edge{}
	for lo := int64(0); lo < size; lo += backfillChunk {
		hi := min(lo+backfillChunk, size) - 1
		rows, err := tx.query(`SELECT `+eventSelect+` FROM events e WHERE e.pos BETWEEN ? AND ? ORDER BY e.pos`,
			pos(num, lo), pos(num, hi))
		if err != nil {
			return err
		}
		var events []*hashtrail.Event
		for rows.Next() {
			ev, err := scanEvent(rows, id)
			if err != nil {
				rows.Close()
				return err
			}
			events = append(events, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: backfill: %w", err)
		}
		var hashes, pii []any
		for i, ev := range events {
			if want := lo + int64(i); ev.Seq != want {
				return fmt.Errorf("sqlite: backfill: tenant %q has no event at seq %d", id, want)
			}
			sl, err := (&hashtrail.Entry{Event: ev}).Seal()
			if err != nil {
				return fmt.Errorf("sqlite: backfill: tenant %q seq %d: %w", id, ev.Seq, err)
			}
			body, err := encodeBody(nil, sl.Public)
			if err != nil {
				return err
			}
			if _, err := tx.exec(`UPDATE events SET body = ?, leaf_hash = ? WHERE pos = ?`, body, sl.LeafHash[:], pos(num, ev.Seq)); err != nil {
				return err
			}
			hs, err := e.Add(sl.LeafHash)
			if err != nil {
				return fmt.Errorf("sqlite: backfill: %w", err)
			}
			first := merkle.StoredHashIndex(0, ev.Seq)
			for j := range hs {
				hashes = append(hashes, num, first+int64(j), hs[j][:])
			}
			if pii, err = piiRows(pii, num, ev.Seq, sl.Roles); err != nil {
				return err
			}
		}
		if len(events) != int(hi-lo+1) {
			return fmt.Errorf("sqlite: backfill: tenant %q has %d events in seqs %d..%d", id, len(events), lo, hi)
		}
		if err := tx.insertRows(`INSERT INTO event_pii (tenant, seq, role, subject, values_jcs, salt, commitment) VALUES `, piiCols, pii); err != nil {
			return err
		}
		if err := tx.insertRows(`INSERT INTO tree_hashes (tenant, idx, hash) VALUES `, hashCols, hashes); err != nil {
			return err
		}
	}
	return nil
}

// storedTenant is a tenant whose log holds events, as upgrades walk them.
type storedTenant struct {
	num, size int64
	id        string
}

// tenantsWithEvents lists the tenants whose logs hold events, by num.
func tenantsWithEvents(tx *wtx) ([]storedTenant, error) {
	rows, err := tx.query(`SELECT num, id, next_seq FROM tenants WHERE next_seq > 0 ORDER BY num`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []storedTenant
	for rows.Next() {
		var t storedTenant
		if err := rows.Scan(&t.num, &t.id, &t.size); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}
