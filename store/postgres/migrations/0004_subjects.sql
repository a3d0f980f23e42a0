-- 0004: erasure and access requests (GDPR Art. 15 and 17, store/postgres
-- subject.go): the role -> subject link of event_pii is looked up by
-- subject. Only rows with a subject are indexed (erased rows lose theirs);
-- actors that are not users and impersonators are found through the
-- events of the tenant (events_actor, or a scan of the bodies).
CREATE INDEX event_pii_subject ON event_pii (tenant, subject) WHERE subject IS NOT NULL;
