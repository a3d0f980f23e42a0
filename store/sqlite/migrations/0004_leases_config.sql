-- Leases for background jobs (hashtrail.LeaseStore). With the embedded
-- store one process serves the database, so a lease is always its own; the
-- table keeps the contract the same as on PostgreSQL, where nodes share it.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,        -- "<job>" or "<job>/<scope>"
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL             -- unix microseconds, store clock
);

-- Tenant configuration documents (hashtrail.TenantConfigStore): the latest
-- version of each kind per tenant, the JSON as the engine gave it.
CREATE TABLE tenant_configs (
    tenant     TEXT    NOT NULL REFERENCES tenants (id),
    kind       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, kind)
);
