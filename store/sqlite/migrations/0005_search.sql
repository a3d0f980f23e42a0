-- 0005: search (DESIGN §4, hashtrail.Term). What each search term reads:
--
--   action, category, severity, outcome, id, actor (key and email), ip:
--       the columns of events, as before;
--   actor.type   events.actor_type (new): the actor's type, which the key
--                does not carry for an actor known only by email;
--   country      events.country (new): context.location.country, upper-case.
--                It is personal (the /actor role), like ip and actor_email:
--                an erasure of the actor's subject sets it to NULL with them;
--   target, target.type   event_targets, as before;
--   tag          event_tags (new), keyed (tag, pos) like event_targets;
--   meta.KEY     the metadata in events.body, with SQLite's JSON functions;
--   free text    event_text (new), an FTS5 index.
--
-- Like the actor and ip filters, the new columns have no index: filters
-- are evaluated while scanning a tenant's range of positions in seq order,
-- which stops once a page is full (see 0001). Tags and targets, which an
-- event has any number of, and free text are driven by their own indexes.
ALTER TABLE events ADD COLUMN actor_type TEXT;  -- actor.type, NULL without an actor
ALTER TABLE events ADD COLUMN country    TEXT;  -- context.location.country, upper-case; personal

-- Tags of events (an event has any number): WITHOUT ROWID, (tag, pos) as
-- event_targets: one tag's events of one tenant are one range in seq order.
CREATE TABLE event_tags (
    tag TEXT    NOT NULL,
    pos INTEGER NOT NULL,                  -- events.pos
    PRIMARY KEY (tag, pos)
) WITHOUT ROWID;

-- The free-text index: one document per event, rowid = events.pos, whose
-- text is the event's description, actor name, actor email, impersonator
-- name, target names and metadata string and number values
-- (hashtrail.SearchText), personal values included.
-- It keeps its text (in event_text_content), so that deleting a document
-- can remove each of its words from the index, and secure-delete makes it
-- do so at once, rewriting the index pages that held them, rather than
-- leaving them behind a deletion marker until some later merge (which is
-- what a contentless table does: its words stay in the file). columnsize=0:
-- no per-document sizes, which only ranking uses.
-- Erasure (a later feature) removes a person's values from the index by
-- rebuilding the documents of the events it touches from the events as
-- they are after the erasure (body plus the personal values of roles not
-- erased), in the erasure's transaction (reindexForSearch in search.go):
--   DELETE FROM event_text WHERE rowid = :pos;
--   INSERT INTO event_text (rowid, text, keys) VALUES (:pos, SearchText(event), keysDoc(event));
-- then, as for every table, PRAGMA secure_delete, the WAL checkpoint and
-- VACUUM that the erasure procedure runs clear the freed pages and the WAL.
-- The column keys holds the actor's key (Event.ActorKey, "user:42") and
-- email (lower-case), each as one word of hex digits ("k"/"e" and the hex
-- of its bytes), so that a search for an actor is driven by this index
-- (one word, or a prefix of it, then the exact actor column) rather than by
-- a scan of the tenant's events: the actor column has no B-tree index
-- because one cost 17% of ingest (see 0001), while two more words here
-- cost little. Free text searches only the column text; the words of a
-- metadata string drive meta.KEY:<string> the same way.
-- The tokenizer keeps diacritics, matching hashtrail.SearchTokens, which
-- cuts search words the same way (runs of letters and digits, lower-cased).
CREATE VIRTUAL TABLE event_text USING fts5(
    text,
    keys,
    columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO event_text (event_text, rank) VALUES ('secure-delete', 1);

-- Time ranges (created:, since, until): for each tenant and hour of event
-- time (time / 3,600,000,000 µs), the lowest and highest position of its
-- events in that hour. Event times follow arrival closely but not exactly
-- (clients' clocks, late sends), so a range of hours maps to a stretch of
-- the log that holds every event of those hours: a listing of last year's
-- events scans last year's stretch instead of the whole log since. Append
-- widens a row or two per call; rows only ever widen (a purge may leave
-- them wider than needed, which is still correct).
CREATE TABLE event_hours (
    tenant INTEGER NOT NULL,                -- tenants.num
    hour   INTEGER NOT NULL,                -- events.time / 3600000000
    lo     INTEGER NOT NULL,                -- min(events.pos) of that hour
    hi     INTEGER NOT NULL,                -- max(events.pos) of that hour
    PRIMARY KEY (tenant, hour)
) WITHOUT ROWID;
INSERT INTO event_hours (tenant, hour, lo, hi)
    SELECT tenant, time / 3600000000, min(pos), max(pos) FROM events GROUP BY tenant, time / 3600000000;

-- Databases that already hold events: their actor_type, country, tags and
-- text are indexed right after this migration, in its transaction, from
-- each event read whole (indexForSearch in search.go).
