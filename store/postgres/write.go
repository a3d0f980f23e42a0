package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// writeRows are the columns of everything one Append writes, as arrays for
// INSERT ... SELECT FROM unnest.
type writeRows struct {
	// tenants: heads to update
	hNum, hNext, hBytes []int64 // hBytes: what each tenant's storage_bytes grows by
	hEdge               [][]byte
	// events and event_ids
	eTenant, eSeq      []int64
	eRecv, eTime       []time.Time
	eID, eAction, eKey []string
	eFacet             []int16
	eActor, eEmail     []*string
	eIP                []*netip.Addr
	eLeaf, eBody       [][]byte
	eHash              [][]byte
	eType, eCountry    []*string
	eDoc               []pgtype.TSVector
	// event_tags
	gTenant, gSeq []int64
	gTag          []string
	// event_targets
	tTenant, tSeq []int64
	tTarget       []string
	tRecv         []time.Time
	// event_pii
	pTenant, pSeq            []int64
	pRole                    []string
	pSubject                 []*string
	pValues, pSalt, pCommits [][]byte
	// tree_hashes
	xTenant, xIdx []int64
	xHash         [][]byte
	// event_months
	mTenant            []int64
	mMonth, mMin, mMax []time.Time
}

// addEvent adds the rows of one new event.
func (w *writeRows) addEvent(num int64, en *hashtrail.Entry, sl *hashtrail.Sealed, p *prepared) {
	e := en.Event
	recv := e.ReceivedAt.Time
	w.eTenant, w.eSeq, w.eRecv, w.eTime = append(w.eTenant, num), append(w.eSeq, e.Seq), append(w.eRecv, recv), append(w.eTime, e.Time.Time)
	w.eID, w.eAction, w.eKey, w.eFacet = append(w.eID, e.ID), append(w.eAction, e.Action), append(w.eKey, e.KeyID), append(w.eFacet, p.facet)
	actor, email := ingest.Actor(e)
	w.eActor, w.eEmail = append(w.eActor, nullString(actor)), append(w.eEmail, nullString(email))
	var ip *netip.Addr
	if a, ok := ingest.IP(e); ok {
		a = a.Unmap()
		ip = &a
	}
	w.eIP = append(w.eIP, ip)
	w.eType, w.eCountry, w.eDoc = append(w.eType, p.search.actorType), append(w.eCountry, p.search.country), append(w.eDoc, p.search.doc)
	for _, t := range p.search.tags {
		w.gTenant, w.gSeq, w.gTag = append(w.gTenant, num), append(w.gSeq, e.Seq), append(w.gTag, t)
	}
	hash := en.ContentHash
	if hash == nil {
		hash = []byte{}
	}
	w.eLeaf, w.eBody, w.eHash = append(w.eLeaf, sl.LeafHash[:]), append(w.eBody, p.body), append(w.eHash, hash)
	for _, k := range ingest.TargetKeys(e) {
		w.tTenant, w.tSeq, w.tTarget, w.tRecv = append(w.tTenant, num), append(w.tSeq, e.Seq), append(w.tTarget, k), append(w.tRecv, recv)
	}
	for _, r := range p.pii {
		w.pTenant, w.pSeq, w.pRole, w.pSubject = append(w.pTenant, num), append(w.pSeq, e.Seq), append(w.pRole, r.Role), append(w.pSubject, nullString(r.Subject))
		w.pValues, w.pSalt, w.pCommits = append(w.pValues, r.Values), append(w.pSalt, r.Salt), append(w.pCommits, r.Commitment)
	}
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// write writes the heads and month ranges (one round trip of UPDATE and
// INSERT ... ON CONFLICT over unnest arrays) and the rows of the new events
// with one COPY per table: COPY into a table (or a partitioned one) inserts
// in multi-row batches, which costs the server about half of INSERT ...
// SELECT FROM unnest for the same rows.
func (w *writeRows) write(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE tenants SET next_seq = u.next, edge = u.edge, storage_bytes = tenants.storage_bytes + u.bytes
		FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[]) AS u (num, next, edge, bytes) WHERE tenants.num = u.num`,
		w.hNum, w.hNext, w.hEdge, w.hBytes)
	b.Queue(`INSERT INTO event_months (tenant, month, min_time, max_time)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[])
		ON CONFLICT (tenant, month) DO UPDATE SET min_time = least(event_months.min_time, excluded.min_time),
			max_time = greatest(event_months.max_time, excluded.max_time)`,
		w.mTenant, w.mMonth, w.mMin, w.mMax)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if err := w.writeCounts(ctx, tx); err != nil {
		return err
	}
	n := len(w.eSeq)
	copies := []struct {
		table string
		cols  []string
		rows  int
		row   func(i int) []any
	}{
		{"events", []string{"tenant", "seq", "received_at", "id", "time", "action", "facet", "actor", "actor_email", "ip", "key_id",
			"leaf_hash", "body", "actor_type", "country", "doc"}, n,
			func(i int) []any {
				return []any{w.eTenant[i], w.eSeq[i], w.eRecv[i], w.eID[i], w.eTime[i], w.eAction[i], w.eFacet[i],
					w.eActor[i], w.eEmail[i], w.eIP[i], w.eKey[i], w.eLeaf[i], w.eBody[i], w.eType[i], w.eCountry[i], w.eDoc[i]}
			}},
		{"event_tags", []string{"tenant", "tag", "seq"}, len(w.gSeq),
			func(i int) []any { return []any{w.gTenant[i], w.gTag[i], w.gSeq[i]} }},
		{"event_ids", []string{"tenant", "id", "seq", "received_at", "content_hash", "leaf_hash"}, n,
			func(i int) []any {
				return []any{w.eTenant[i], w.eID[i], w.eSeq[i], w.eRecv[i], w.eHash[i], w.eLeaf[i]}
			}},
		{"event_targets", []string{"tenant", "target", "seq", "received_at"}, len(w.tSeq),
			func(i int) []any { return []any{w.tTenant[i], w.tTarget[i], w.tSeq[i], w.tRecv[i]} }},
		{"event_pii", []string{"tenant", "seq", "role", "subject", "values_jcs", "salt", "commitment"}, len(w.pSeq),
			func(i int) []any {
				return []any{w.pTenant[i], w.pSeq[i], w.pRole[i], w.pSubject[i], w.pValues[i], w.pSalt[i], w.pCommits[i]}
			}},
		{"tree_hashes", []string{"tenant", "idx", "hash"}, len(w.xIdx),
			func(i int) []any { return []any{w.xTenant[i], w.xIdx[i], w.xHash[i]} }},
	}
	for _, c := range copies {
		if c.rows == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromSlice(c.rows, func(i int) ([]any, error) {
			return c.row(i), nil
		})); err != nil {
			return fmt.Errorf("copy into %s: %w", c.table, err)
		}
	}
	return nil
}
