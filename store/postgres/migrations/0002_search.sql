-- 0002: search (DESIGN §4, hashtrail.Term). What each search term reads:
--
--   action, category, severity, outcome (facet), id, actor (key and email),
--   ip: the columns of events, with the indexes of 0001;
--   actor.type   events.actor_type (new): the actor's type, which the key
--                does not carry for an actor known only by email;
--   country      events.country (new): context.location.country,
--                upper-case. It is personal (the /actor role), like ip and
--                actor_email: erasing the actor's subject sets it to NULL;
--   target, target.type   event_targets (0001);
--   tag          event_tags (new), keyed as event_targets;
--   meta.KEY     the metadata in events.body, read as jsonb per row;
--   free text    events.doc (new), a tsvector with a GIN index.
--
-- actor_type, country and meta have no index of their own: few values each
-- (or arbitrary members), they are evaluated on the rows the other
-- conditions or the walk of (tenant, seq) in order bring, which stops once
-- a page is full. Tags, targets and words, which an event has any number
-- of, have their own indexes.
ALTER TABLE events ADD COLUMN actor_type text COLLATE "C";  -- actor.type, NULL without an actor
ALTER TABLE events ADD COLUMN country    text COLLATE "C";  -- context.location.country, upper-case; personal

-- The words of the event's free text (ingest.SearchText: description,
-- actor name, email and impersonator name, target names, metadata string
-- and number values), cut by hashtrail.SearchTokens (runs of letters and
-- digits, lower-cased) in Go and stored as tsvector lexemes with their
-- positions, so that a phrase is lexemes at consecutive positions
-- ('signed' <-> 'in') and a prefix is 'sign':*. The tsvector is built from
-- those words, not by to_tsvector, whose parser cuts text otherwise (an
-- email address is one token there). Personal values are in it: erasing a
-- subject rewrites doc of the events it touches from the event as it is
-- after the erasure, in the erasure's transaction. NULL when there is no
-- text.
--
-- events_doc (GIN, on every partition): a text term drives a listing
-- through it (a bitmap of the matching rows, then the page's sort) when
-- the planner expects few matches, else the walk of (tenant, seq) filters
-- on doc @@ query. fastupdate (the default) keeps inserts cheap by
-- batching them in the index's pending list.
ALTER TABLE events ADD COLUMN doc tsvector;
CREATE INDEX events_doc ON events USING gin (doc);

-- Tags of events (an event has any number), as event_targets: keyed
-- (tenant, tag, seq), so one tag's events of one tenant are one range in
-- seq order (a listing driven by a tag, a prefix of tags), and whether an
-- event has one of some tags is one probe of the key with its seq.
CREATE TABLE event_tags (
    tenant bigint NOT NULL,                     -- tenants.num
    tag    text   COLLATE "C" NOT NULL,
    seq    bigint NOT NULL,
    PRIMARY KEY (tenant, tag, seq)
);

-- Databases that already hold events: their actor_type, country, doc and
-- tags are filled right after this migration, in its transaction, from
-- each event read whole (indexForSearch in search.go).
