-- Retention purges (hashtrail.EventPurger, store/sqlite/purge.go) delete an
-- event's events, event_targets, event_tags, event_text and event_pii rows
-- and never its tree_hashes. The idempotency record of each purged event
-- (its id, pos, received_at, content hash and leaf hash) moves here in the
-- same transaction, so that a replayed id still gets its original receipt
-- and an id reused with other content is still refused: Append looks ids
-- up in events and here.
CREATE TABLE purged_events (
    tenant       INTEGER NOT NULL,          -- tenants.num
    id           TEXT    NOT NULL,
    pos          INTEGER NOT NULL,          -- tenant << 40 | seq
    received_at  INTEGER NOT NULL,
    content_hash BLOB    NOT NULL,
    leaf_hash    BLOB,
    purged_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
