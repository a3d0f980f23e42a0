-- 0002: tamper evidence (DESIGN §2). Each tenant's events form one RFC 6962
-- Merkle tree in seq order; Append seals every new event (hashtrail.Entry.Seal)
-- and writes, in the event's own transaction:
--
--   events.leaf_hash  SHA-256(0x00 || leaf), 32 raw bytes (no longer NULL);
--   events.body       the event WITHOUT its personal values (Sealed.Public);
--   event_pii         the personal values by role, their salts and commitments;
--   tree_hashes       the stored hashes the new leaf adds to its tenant's tree.
--
-- Erasing a subject (a later feature) touches only event_pii and the filter
-- columns of events, never events.leaf_hash, events.body or tree_hashes, so
-- proofs stay whole:
--
--   UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL,
--          erased_at = <now> WHERE tenant = ? AND subject = ?;
--   and, for every event whose /actor role was erased, in events:
--   actor_email = NULL, ip = NULL, and actor = NULL when it is an
--   "email:<address>" key (a "user:<id>" key names an id, which the leaf
--   keeps in clear). The values are gone from body already.
--
-- A retention purge (a later feature) keeps each purged event's row with its
-- id, content_hash, received_at and leaf_hash, since a replay must still get
-- its original answer (DESIGN §1), empties body (it is NOT NULL: x'') and
-- the filter columns, deletes its event_pii and event_targets rows, and
-- keeps tree_hashes, whose level 0 holds every leaf hash. Either is preceded
-- by a system.subject_erased or system.retention_purge event in the same
-- log (DESIGN §2).
--
-- Databases from 0001 (unreleased) that already hold events: those events
-- were never sealed (leaf_hash NULL, personal values in body). Open seals
-- them once, right after this migration and in its transaction, in seq
-- order, with fresh salts and the default personal fields, exactly as
-- Append would have (see backfill.go): their leaves date from the upgrade.

-- The stored hash sequence of each tenant's tree (golang.org/x/mod/sumdb/tlog
-- layout; package merkle documents it): the hash of the complete subtree at
-- (level L, index K), covering leaves [K·2^L, (K+1)·2^L), is at
-- idx = merkle.StoredHashIndex(L, K). Leaf hashes are level 0, so the leaf
-- hash of seq n is at StoredHashIndex(0, n) and equals that event's
-- events.leaf_hash. Appending seq n writes the rows from StoredHashIndex(0, n)
-- up to StoredHashCount(n+1) - 1: about two per event. A tenant of size N has
-- exactly StoredHashCount(N) rows, idx 0 .. StoredHashCount(N) - 1, with no
-- gaps. Rows are only ever inserted, never updated or deleted.
-- Keyed (tenant, idx) WITHOUT ROWID: appends go to the right end of the
-- tenant's range, and proofs and tiles read a few keys of one tenant.
CREATE TABLE tree_hashes (
    tenant INTEGER NOT NULL,                -- tenants.num
    idx    INTEGER NOT NULL,                -- merkle.StoredHashIndex(level, index)
    hash   BLOB    NOT NULL,                -- 32 raw bytes
    PRIMARY KEY (tenant, idx)
) WITHOUT ROWID;

-- The personal values of each event by role (DESIGN §1, §2): one row per
-- role that holds values ("/actor", "/targets/N"), written with the event.
-- values_jcs is JCS(P_R) exactly: the RFC 8785 JSON object mapping each
-- value's JSON Pointer in the event ("/actor/email", "/context/ip",
-- "/changes/0/old", ...) to the value, so
--     commitment = SHA-256(salt || values_jcs)
-- holds for every row that is not erased, and the leaf carries
-- "pii": {role: lower-case hex of commitment}. Reads put the values back at
-- their pointers and answer pii {commitment, salt}.
-- subject is whom the role is about ("user:42", "email:<address>"), or NULL
-- when the role has none (an actor that is not a user, a target's name is
-- always a user's): the role -> subject link, kept here and never in the leaf.
-- Erased rows keep tenant, seq, role and commitment (the leaf needs them),
-- with values_jcs, salt and subject NULL and erased_at set; reads answer
-- pii {commitment, erased: true}.
-- Keyed (tenant, seq, role) WITHOUT ROWID: an event's rows sit together and a
-- page of events reads one range. No index on subject: it is a random key,
-- which costs ingest as the actor index did (see 0001); erasure and
-- subject exports scan a tenant's range filtering on subject. Whoever needs
-- them faster adds (tenant, subject) in a later migration and measures.
CREATE TABLE event_pii (
    tenant     INTEGER NOT NULL,            -- tenants.num
    seq        INTEGER NOT NULL,            -- the event's seq (events.pos = tenant << 40 | seq)
    role       TEXT    NOT NULL,            -- "/actor" or "/targets/N"
    subject    TEXT,                        -- NULL: none known, or erased
    values_jcs BLOB,                        -- JCS(P_R), UTF-8; NULL once erased
    salt       BLOB,                        -- S_R, 32 bytes; NULL once erased
    commitment BLOB    NOT NULL,            -- C_R, 32 raw bytes
    erased_at  INTEGER,                     -- microseconds; NULL unless erased
    PRIMARY KEY (tenant, seq, role)
) WITHOUT ROWID;

-- Every checkpoint published for a tenant's log (DESIGN §2): the size and
-- root hash it states and the signed note exactly as served (C2SP
-- tlog-checkpoint in a C2SP signed note). One per size; adding the same size
-- and root again keeps the first note; never updated or deleted (but with an
-- empty tenant by DeleteTenant).
CREATE TABLE checkpoints (
    tenant     INTEGER NOT NULL,            -- tenants.num
    size       INTEGER NOT NULL,            -- tree size
    root       BLOB    NOT NULL,            -- 32 raw bytes, merkle.TreeHash(size)
    note       BLOB    NOT NULL,            -- the signed note
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, size)
) WITHOUT ROWID;
