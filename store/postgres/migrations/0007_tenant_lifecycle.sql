-- Tenant deletion and the storage quota (issue #6, point 8).
-- state: '' active, 'deleting' while its data is deleted in batches,
-- 'deleted' once only its id, final size, tree hashes and checkpoints
-- remain (the row stays so that the id is never reused).
-- storage_bytes: hashtrail.Tenant.StorageBytes, kept by Append, purges,
-- erasures and deletion (ingest.StoredBytes); lengths in bytes.
ALTER TABLE tenants ADD COLUMN state text NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN storage_bytes bigint NOT NULL DEFAULT 0;

UPDATE tenants SET storage_bytes =
      coalesce((SELECT sum(octet_length(body)) FROM events WHERE events.tenant = tenants.num), 0)
    + coalesce((SELECT sum(coalesce(octet_length(values_jcs), 0) + coalesce(octet_length(salt), 0) + octet_length(commitment))
                FROM event_pii WHERE event_pii.tenant = tenants.num), 0)
    + coalesce((SELECT sum(octet_length(target)) FROM event_targets WHERE event_targets.tenant = tenants.num), 0)
    + coalesce((SELECT sum(octet_length(tag)) FROM event_tags WHERE event_tags.tenant = tenants.num), 0);
