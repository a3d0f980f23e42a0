-- Sinks (hashtrail.SinkStore): destinations that committed events are
-- delivered to, each with a cursor per tenant log it reads (the log is the
-- outbox). tenant is a tenant id or '*' (installation-wide), so it is not a
-- foreign key; deleting a tenant deletes its sinks and cursors in code.
CREATE TABLE sinks (
    id            TEXT    PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    type          TEXT    NOT NULL,
    filter        TEXT    NOT NULL DEFAULT '',
    settings      TEXT    NOT NULL DEFAULT '{}',
    batch_size    INTEGER NOT NULL DEFAULT 0,
    max_failures  INTEGER NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL,
    paused_reason TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX sinks_tenant ON sinks (tenant, id);

CREATE TABLE sink_cursors (
    sink          TEXT    NOT NULL REFERENCES sinks (id),
    tenant        TEXT    NOT NULL,
    next          INTEGER NOT NULL,
    last_delivery INTEGER,               -- unix microseconds
    last_error    TEXT    NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sink, tenant)
);
CREATE INDEX sink_cursors_tenant ON sink_cursors (tenant);
