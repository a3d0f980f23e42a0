-- The installation log (DESIGN §2, Witnesses): one Merkle log per
-- installation whose entries are the tenants' signed checkpoints, each the
-- checkpoint's signed note exactly as published (the leaf is the note's
-- bytes). Witnesses cosign its checkpoints, so one witnessed log covers every
-- tenant. Rows are only ever inserted (cosignatures of a key are replaced by
-- newer ones of the same key).
CREATE TABLE installation_entries (
    idx    INTEGER PRIMARY KEY,             -- 0-based position in the log
    tenant TEXT    NOT NULL,                -- tenants.id of the checkpoint
    size   INTEGER NOT NULL,                -- the checkpoint's tree size
    note   BLOB    NOT NULL,                -- the signed checkpoint (the leaf)
    UNIQUE (tenant, size)
);

-- The installation log's tree, laid out as tree_hashes.
CREATE TABLE installation_hashes (
    idx  INTEGER PRIMARY KEY,               -- merkle.StoredHashIndex(level, index)
    hash BLOB    NOT NULL                   -- 32 raw bytes
);

-- Every checkpoint of the installation log, as checkpoints.
CREATE TABLE installation_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB    NOT NULL,
    note       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Witness cosignatures (C2SP tlog-cosignature) of installation checkpoints:
-- one signature line per witness key (name and key hash) and checkpoint.
CREATE TABLE installation_cosignatures (
    size       INTEGER NOT NULL,            -- installation_checkpoints.size
    key        TEXT    NOT NULL,            -- "<key name> <key hash hex>"
    line       TEXT    NOT NULL,            -- "— <name> <base64>\n"
    created_at INTEGER NOT NULL,
    PRIMARY KEY (size, key)
) WITHOUT ROWID;
