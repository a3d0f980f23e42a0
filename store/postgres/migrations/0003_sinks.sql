-- 0003: sinks (hashtrail.SinkStore): destinations that committed events are
-- delivered to, and each sink's cursor per tenant log it reads (the log is
-- the outbox). tenant is a tenant id or '*' (installation-wide), so it is
-- not a foreign key; DeleteTenant deletes a tenant's sinks and every
-- sink's cursor of it. Cursors go with their sink (ON DELETE CASCADE).
CREATE TABLE sinks (
    id            text        COLLATE "C" PRIMARY KEY,
    tenant        text        COLLATE "C" NOT NULL,
    name          text        NOT NULL DEFAULT '',
    type          text        NOT NULL,
    filter        text        NOT NULL DEFAULT '',
    settings      text        NOT NULL DEFAULT '{}',  -- the JSON as given, byte for byte
    batch_size    integer     NOT NULL DEFAULT 0,
    max_failures  integer     NOT NULL DEFAULT 0,
    state         text        NOT NULL,
    paused_reason text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
-- Sinks(tenant) lists by tenant, by id.
CREATE INDEX sinks_tenant ON sinks (tenant, id);

-- Primary key: SinkCursors(sink) and the compare-and-set of SetSinkCursor.
CREATE TABLE sink_cursors (
    sink          text        COLLATE "C" NOT NULL REFERENCES sinks (id) ON DELETE CASCADE,
    tenant        text        COLLATE "C" NOT NULL,
    next          bigint      NOT NULL CHECK (next >= 0),
    last_delivery timestamptz,
    last_error    text        NOT NULL DEFAULT '',
    failures      integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (sink, tenant)
);
-- DeleteTenant deletes every sink's cursor of a tenant.
CREATE INDEX sink_cursors_tenant ON sink_cursors (tenant);
