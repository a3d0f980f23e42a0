-- 0008: erasure and access requests (GDPR Art. 15 and 17, store/sqlite
-- subject.go): the role -> subject link of event_pii is looked up by
-- subject. Only rows with a subject are indexed (erased rows lose theirs),
-- and an erasure or an access request is rare, so the index costs ingest
-- one more B-tree insert per role with a subject; actors that are not
-- users and impersonators are found by scanning the tenant's events.
CREATE INDEX event_pii_subject ON event_pii (tenant, subject) WHERE subject IS NOT NULL;
