-- 0001: the initial PostgreSQL schema (DESIGN §5). Applied by Open (or
-- `hashtrail migrate up`) in one transaction under an advisory lock, into the
-- schema named by Config.Schema (the search_path). Never edited once released;
-- changes are new files.
--
-- Types: times are timestamptz (microsecond precision, as hashtrail.Time);
-- hashes, salts and notes are bytea; identifiers and filter values that are
-- compared as ranges or prefixes are text COLLATE "C", so an index range
-- scan for a prefix ("user.*") compares bytes, whatever the database's
-- collation.
--
-- Each index costs every Append one more B-tree insert per row, so each is
-- justified where it is declared by the query it serves.

-- Installation-wide settings such as the server name (Setting, InitSetting,
-- SetSetting). The primary key is the only index: lookups by name.
CREATE TABLE settings (
    name  text NOT NULL PRIMARY KEY,
    value text NOT NULL
);

-- Tenants and their log heads. num is the tenant's compact internal number,
-- which every per-event table is keyed by (8 bytes instead of the id's text);
-- an identity never hands a number out twice, so a tenant made again after
-- DeleteTenant starts a new log under a new num.
--
-- The row is the tenant's log head: next_seq is the log size (the seq of the
-- next event) and edge the right edge of its Merkle tree at that size (for
-- each set bit of next_seq, highest first, the 32-byte hash of the complete
-- subtree ending at the last leaf: the only stored hashes appending a leaf
-- reads). Append locks the heads it needs with SELECT ... FOR UPDATE, in id
-- order so that two nodes never deadlock on them, and so serialises every
-- append to one tenant across all nodes: seq stays gapless, and the tree is
-- always extended from the edge committed with next_seq, never from a stale
-- one another node has moved on from.
CREATE TABLE tenants (
    num        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- UNIQUE index: every public call names a tenant by id; Append locks
    -- heads by id.
    id         text        COLLATE "C" NOT NULL UNIQUE,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    next_seq   bigint      NOT NULL DEFAULT 0 CHECK (next_seq >= 0),
    edge       bytea       NOT NULL DEFAULT ''::bytea
);

-- API keys. Only the hash of a secret is stored. tenant is a tenant id or '*'
-- (installation-wide), so it is not a foreign key. ord keeps insertion order
-- for Keys ("oldest first") among keys created in the same microsecond.
CREATE TABLE api_keys (
    -- primary key index: Key, RevokeKey, TouchKey by id.
    id           text        NOT NULL PRIMARY KEY,
    ord          bigint      GENERATED ALWAYS AS IDENTITY,
    tenant       text        NOT NULL,
    role         text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    hint         text        NOT NULL DEFAULT '',
    -- UNIQUE index: KeyByHash authenticates every request.
    hash         bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL DEFAULT '',
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
-- Keys(tenant) and DeleteTenant; keys are few and rarely written.
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at, ord);

-- The event bodies of all tenants, one row per event, partitioned by
-- received_at (never the client's time: received_at only grows, so the
-- newest partition takes every insert and old partitions can be dropped
-- whole by retention), one partition per calendar month in UTC, named
-- events_pYYYYMM. Partitions are created ahead by Store.Upkeep (the current
-- month and the next ones), and by Append itself, in a short transaction of
-- its own, for any month an event arrives in that has none yet (an imported
-- history, a clock far off). There is no DEFAULT partition: PostgreSQL
-- refuses to create a partition while the default one holds rows of its
-- range, so rows that landed there would have to be moved under an ACCESS
-- EXCLUSIVE lock before the month could get its own partition; since
-- Append makes the partition before it writes, no row ever needs one.
--
-- The filterable fields are columns; everything else of the event, without
-- its personal values (those are in event_pii), is in body: compact JSON,
-- kept as bytes because metadata and changes must come back byte for byte
-- (jsonb would reorder and reformat them).
--
-- facet packs the three low-cardinality filters into one small integer,
--     facet = category * 15 + severity * 3 + outcome
-- with category the index in hashtrail.Categories (authentication = 0 ..
-- security = 8), severity its rank (info = 0 .. critical = 4) and outcome
-- the index in success, failure, unknown. One index on (tenant, facet, seq)
-- then serves a category filter, a minimum severity, an outcome filter and
-- any combination of them as facet = ANY(list of codes), where three
-- indexes would cost ingest three inserts.
--
-- Indexes (created on every partition, each partition's indexes cover one
-- month):
--   events_seq     (tenant, seq)          listings without a selective
--                  filter, in either order, and cursors (seq bounds): a
--                  range scan per partition, merged in seq order, stopping
--                  at the page size; also Event by (tenant, seq).
--   events_action  (tenant, action, seq)  the action filter: exact names
--                  (= ANY) and prefixes ("user.*" is a range of action).
--   events_facet   (tenant, facet, seq)   category, severity, outcome.
--   events_actor   (tenant, actor, seq)   actor "type:id" (and
--                  "email:<address>" keys of actors known only by address).
--   events_email   (tenant, actor_email, seq) WHERE actor_email IS NOT NULL:
--                  actor given as an email address.
--   events_ip      (tenant, ip, seq) WHERE ip IS NOT NULL: ip as an address
--                  or CIDR prefix; ip is inet, and a btree on inet serves
--                  ip <<= 'prefix' as a range scan.
--   events_time    (tenant, time)         since / until on the client's time
--                  within the partitions the time range can touch (see
--                  event_months for how those are found).
-- No unique index: a unique index of a partitioned table must include
-- received_at, which would guarantee nothing useful. Uniqueness lives in
-- the unpartitioned tables: event_ids (tenant, id) for ids, and tree_hashes
-- (tenant, idx), whose level 0 holds one leaf hash per (tenant, seq).
CREATE TABLE events (
    tenant      bigint      NOT NULL,           -- tenants.num
    seq         bigint      NOT NULL,
    received_at timestamptz NOT NULL,           -- the partition key
    id          text        COLLATE "C" NOT NULL,
    time        timestamptz NOT NULL,           -- the event's (client's) time
    action      text        COLLATE "C" NOT NULL,
    facet       smallint    NOT NULL,           -- category, severity, outcome (above)
    actor       text        COLLATE "C",        -- Event.ActorKey
    actor_email text        COLLATE "C",        -- actor.email, lower-cased
    ip          inet,                           -- context.ip, IPv4-mapped IPv6 stored as IPv4
    key_id      text        NOT NULL DEFAULT '',
    leaf_hash   bytea       NOT NULL,           -- SHA-256(0x00 || leaf), 32 bytes
    body        bytea       NOT NULL            -- compact JSON of the other fields, without personal values
) PARTITION BY RANGE (received_at);
CREATE INDEX events_seq    ON events (tenant, seq);
CREATE INDEX events_action ON events (tenant, action, seq);
CREATE INDEX events_facet  ON events (tenant, facet, seq);
CREATE INDEX events_actor  ON events (tenant, actor, seq);
CREATE INDEX events_email  ON events (tenant, actor_email, seq) WHERE actor_email IS NOT NULL;
CREATE INDEX events_ip     ON events (tenant, ip, seq) WHERE ip IS NOT NULL;
CREATE INDEX events_time   ON events (tenant, time);

-- Which months of received_at hold events of a tenant, and the range of the
-- client's time among them: the bound that lets a query on time (since,
-- until), which partitions by received_at cannot prune directly, touch only
-- the partitions it needs. Append widens the row of (tenant, month) by the
-- times of the events it writes there, in the same transaction, so for every
-- stored event min_time <= time <= max_time holds in its month's row. A
-- query for time in [since, until) first reads the months whose range
-- overlaps it (a range scan of this table's primary key) and then bounds
-- received_at to [first such month, end of the last one), which PostgreSQL
-- prunes partitions by. It is sound whatever the clients' clocks say (an
-- event back-dated by a year only widens its month's range, costing pruning,
-- never a result), and tight when time is close to received_at, as it is
-- for live events. Rows are small: one per tenant and month.
CREATE TABLE event_months (
    tenant   bigint      NOT NULL,              -- tenants.num
    month    timestamptz NOT NULL,              -- first instant of the month, UTC
    min_time timestamptz NOT NULL,
    max_time timestamptz NOT NULL,
    PRIMARY KEY (tenant, month)
);

-- Idempotency (DESIGN §1): one row per event ever appended, NOT partitioned,
-- so that a retention purge, which drops or empties the body, keeps the id
-- and a replay still gets its original answer (seq, received_at, leaf hash).
-- The primary key (tenant, id) serves Append's lookup of the ids a call
-- names (after it has locked their tenants' heads) and Event(tenant, id),
-- which then reads the body from the one partition received_at names.
CREATE TABLE event_ids (
    tenant       bigint      NOT NULL,          -- tenants.num
    id           text        COLLATE "C" NOT NULL,
    seq          bigint      NOT NULL,
    received_at  timestamptz NOT NULL,
    content_hash bytea       NOT NULL,          -- the event as submitted
    leaf_hash    bytea       NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Targets of events, for the target filter (an event has any number).
-- Keyed (tenant, target, seq): one target's events of one tenant are one
-- contiguous range ordered by seq, so a filtered page is an index range scan
-- in either order that stops at the page size; received_at (INCLUDEd, so the
-- scan needs no heap visit for it) lets the join to events touch exactly the
-- partition of each event. Not partitioned, so the scan is one range, not
-- one per month; a retention purge deletes the purged events' rows.
CREATE TABLE event_targets (
    tenant      bigint      NOT NULL,           -- tenants.num
    target      text        COLLATE "C" NOT NULL, -- Target.Key: "type:id"
    seq         bigint      NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, target, seq) INCLUDE (received_at)
);

-- The personal values of each event by role (DESIGN §1, §2), erasable: one
-- row per role that holds values ("/actor", "/targets/N"), written with the
-- event. values_jcs is JCS(P_R) exactly, so
--     commitment = SHA-256(salt || values_jcs)
-- holds for every row that is not erased, and the leaf carries
-- "pii": {role: lower-case hex of commitment}. subject is whom the role is
-- about ("user:42", "email:<address>"), the role -> subject link kept here
-- and never in the leaf. Erasing a subject sets values_jcs, salt and subject
-- to NULL and erased_at; reads then answer pii {commitment, erased: true}.
-- Keyed (tenant, seq, role): reads fetch an event's rows with one index
-- lookup. Not partitioned: erasure updates rows of any age, and the rows of
-- a page are found by seq alone.
CREATE TABLE event_pii (
    tenant     bigint      NOT NULL,            -- tenants.num
    seq        bigint      NOT NULL,
    role       text        COLLATE "C" NOT NULL,
    subject    text,
    values_jcs bytea,
    salt       bytea,
    commitment bytea       NOT NULL,
    erased_at  timestamptz,
    PRIMARY KEY (tenant, seq, role)
);

-- The stored hash sequence of each tenant's Merkle tree (golang.org/x/mod/
-- sumdb/tlog layout; package merkle documents it): the hash of the complete
-- subtree at (level L, index K) is at idx = merkle.StoredHashIndex(L, K).
-- Appending seq n writes the rows from StoredHashIndex(0, n) up to
-- StoredHashCount(n+1) - 1 (about two per event), in the event's own
-- transaction. A tenant of size N has exactly the rows 0 ..
-- StoredHashCount(N) - 1. Rows are only ever inserted. NOT partitioned:
-- proofs of any age read it, and a purge keeps it (level 0 holds every leaf
-- hash). The primary key serves ReadHashes (proofs, tiles) and guarantees
-- that no seq of a tenant is written twice.
CREATE TABLE tree_hashes (
    tenant bigint NOT NULL,                     -- tenants.num
    idx    bigint NOT NULL,
    hash   bytea  NOT NULL,                     -- 32 bytes
    PRIMARY KEY (tenant, idx)
);

-- Every checkpoint published for a tenant's log: size, root and the signed
-- note exactly as served. One per size; the primary key serves
-- LatestCheckpoint (the largest size), CheckpointCovering (the smallest size
-- above a seq) and Checkpoints (in order).
CREATE TABLE checkpoints (
    tenant     bigint      NOT NULL,            -- tenants.num
    size       bigint      NOT NULL,
    root       bytea       NOT NULL,
    note       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, size)
);

-- The installation log (DESIGN §2, Witnesses): one Merkle log whose entries
-- are the tenants' signed checkpoints. AppendInstallation serialises on an
-- advisory lock. Primary key: entries by index (proofs, size); UNIQUE
-- (tenant, size): HasInstallationEntry, InstallationIndex (the latest entry
-- of a tenant below an index) and no checkpoint entered twice.
CREATE TABLE installation_entries (
    idx    bigint NOT NULL PRIMARY KEY,
    tenant text   COLLATE "C" NOT NULL,
    size   bigint NOT NULL,
    note   bytea  NOT NULL,
    UNIQUE (tenant, size)
);

-- The installation log's tree, laid out as tree_hashes.
CREATE TABLE installation_hashes (
    idx  bigint NOT NULL PRIMARY KEY,
    hash bytea  NOT NULL
);

-- Every checkpoint of the installation log; primary key: by size.
CREATE TABLE installation_checkpoints (
    size       bigint      NOT NULL PRIMARY KEY,
    root       bytea       NOT NULL,
    note       bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

-- Witness cosignatures of installation checkpoints, one signature line per
-- witness key ("<name> <key hash>") and checkpoint; primary key: the lines
-- of one checkpoint in key order, and one line per key.
CREATE TABLE installation_cosignatures (
    size       bigint      NOT NULL,
    key        text        COLLATE "C" NOT NULL,
    line       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (size, key)
);

-- Leases for background jobs (hashtrail.LeaseStore), shared by every node.
-- expires_at is on the database's clock (clock_timestamp()), so the nodes'
-- clocks need not agree. Primary key: one holder per lease name, taken
-- atomically with INSERT ... ON CONFLICT DO UPDATE ... WHERE.
CREATE TABLE leases (
    name       text        NOT NULL PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Tenant configuration documents (hashtrail.TenantConfigStore): the latest
-- version of each kind per tenant, the JSON as the engine gave it (text, so
-- it comes back byte for byte). Deleted with the tenant. Primary key: one
-- document per tenant and kind, read and updated by it.
CREATE TABLE tenant_configs (
    tenant     bigint      NOT NULL REFERENCES tenants (num) ON DELETE CASCADE,
    kind       text        NOT NULL,
    version    bigint      NOT NULL,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, kind)
);
