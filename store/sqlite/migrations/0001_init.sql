-- 0001: the initial schema. Every time is microseconds since the Unix epoch,
-- UTC. Index count is kept minimal because ingest throughput is a headline
-- goal: each index is one more B-tree insert per event. Each one is justified
-- where it is declared.

-- Installation-wide settings such as the server name (InitSetting).
-- The primary key is the only index: lookups by name.
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Tenants and their log heads. num is the tenant's compact internal number,
-- which prefixes every event position (see events.pos). AUTOINCREMENT makes
-- sqlite_sequence remember the largest num ever used, so a num is never
-- reused after DeleteTenant, even when nums are assigned explicitly by Append.
-- next_seq is the log head: the size of the log and the seq of the next event.
CREATE TABLE tenants (
    num        INTEGER PRIMARY KEY AUTOINCREMENT,
    -- UNIQUE index: every public call names a tenant by id.
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    next_seq   INTEGER NOT NULL DEFAULT 0
);

-- API keys. Only the hash of a secret is stored. tenant is a tenant id or '*'
-- (installation-wide), so it is not a foreign key.
CREATE TABLE api_keys (
    -- primary key index: Key, RevokeKey, TouchKey by id.
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    name         TEXT    NOT NULL DEFAULT '',
    hint         TEXT    NOT NULL DEFAULT '',
    -- UNIQUE index: KeyByHash authenticates every request.
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT '',
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
-- Keys(tenant) and DeleteTenant; keys are few and rarely written.
CREATE INDEX api_keys_tenant ON api_keys (tenant);

-- The event logs of all tenants, one row per event.
--
-- pos = tenant num << 40 | seq is the rowid, so the table B-tree itself is
-- keyed (tenant, seq): a tenant's log is one contiguous, seq-ordered range,
-- listings and cursors are rowid range scans, and the (possibly large) body
-- sits in the table B-tree where SQLite stores big rows best, with no
-- separate (tenant, seq) index to maintain on insert. 40 bits of seq allow
-- 2^40 events per tenant (more than a SQLite file can hold); tenant nums
-- below 2^23.
--
-- The filterable fields are columns; everything else of the event is in
-- body (compact JSON of the remaining fields). Filters other than target
-- are evaluated on these columns while scanning the tenant's range in seq
-- order, which stops as soon as a page is full (about 0.3 µs per event
-- scanned, BenchmarkEvents). They have no index on purpose: an index on
-- (tenant, actor) alone cost 17% of ingest throughput in BenchmarkAppend,
-- and random-key indexes cost more still once they outgrow the cache
-- (TestAppendAtScale).
-- Selective lookups by person will be served by the subject table that
-- personal-data erasure needs anyway (DESIGN §1, §2).
CREATE TABLE events (
    pos          INTEGER PRIMARY KEY,
    tenant       INTEGER NOT NULL,          -- tenants.num
    id           TEXT    NOT NULL,          -- the client's idempotency id
    time         INTEGER NOT NULL,          -- the event's time
    received_at  INTEGER NOT NULL,
    action       TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    severity     INTEGER NOT NULL,          -- Severity.Rank, so MinSeverity is >=
    outcome      TEXT    NOT NULL,
    actor        TEXT,                      -- Event.ActorKey: "type:id" or "email:<address>"
    actor_email  TEXT,                      -- actor.email, lower-cased
    ip           BLOB,                      -- context.ip, 16 bytes (IPv4 mapped), so CIDR is a range
    key_id       TEXT    NOT NULL DEFAULT '',
    content_hash BLOB    NOT NULL,          -- idempotency: the event as submitted
    leaf_hash    BLOB,                      -- raw bytes of Event.LeafHash, NULL until integrated
    body         BLOB    NOT NULL
);
-- UNIQUE index: idempotency (Append looks every new id up) and Event(tenant, id).
CREATE UNIQUE INDEX events_tenant_id ON events (tenant, id);

-- Targets of events, for the target filter (an event has any number).
-- The one secondary index that ingest pays heavily for: target keys arrive
-- in random order, so at scale each row dirties a page of its own (at a
-- million events, with two targets per event, it halves throughput).
-- Keyed (target, pos): one target's events of one tenant are one contiguous
-- range ordered by seq, so a filtered page is a range scan joined to events
-- by rowid that stops at the page size. WITHOUT ROWID: the table is its own
-- (only) index.
CREATE TABLE event_targets (
    target TEXT    NOT NULL,                -- Target.Key: "type:id"
    pos    INTEGER NOT NULL,                -- events.pos
    PRIMARY KEY (target, pos)
) WITHOUT ROWID;
