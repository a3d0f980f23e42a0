-- Tenant deletion and the storage quota (issue #6, point 8).
-- state: '' active, 'deleting' while its data is deleted in batches,
-- 'deleted' once only its id, final size, tree hashes and checkpoints
-- remain (the row stays so that the id is never reused).
-- storage_bytes: hashtrail.Tenant.StorageBytes, kept by Append, purges,
-- erasures and deletion (ingest.StoredBytes); lengths in bytes.
ALTER TABLE tenants ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN storage_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE tenants SET storage_bytes =
      coalesce((SELECT sum(length(body)) FROM events WHERE events.tenant = tenants.num), 0)
    + coalesce((SELECT sum(coalesce(length(values_jcs), 0) + coalesce(length(salt), 0) + length(commitment))
                FROM event_pii WHERE event_pii.tenant = tenants.num), 0)
    + coalesce((SELECT sum(length(CAST(target AS BLOB))) FROM event_targets
                WHERE pos BETWEEN tenants.num * 1099511627776 AND tenants.num * 1099511627776 + 1099511627775), 0)
    + coalesce((SELECT sum(length(CAST(tag AS BLOB))) FROM event_tags
                WHERE pos BETWEEN tenants.num * 1099511627776 AND tenants.num * 1099511627776 + 1099511627775), 0);
