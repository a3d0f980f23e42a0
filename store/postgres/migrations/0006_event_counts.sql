-- 0006: event_counts, how many events each tenant holds per hour of event
-- time, action and facet (category, severity, outcome), so that stats over
-- those fields (the dashboard's volume by category per day, the top
-- actions, the failed sign-ins) add up a few thousand rows instead of
-- counting millions of events (docs/benchmarks.md). Append adds to it in
-- its transaction; a retention purge subtracts exactly the events it
-- deletes (DELETE ... RETURNING) or drops with a partition; erasure leaves
-- these columns alone (none is personal). Stats read it only when every
-- filter and the grouping are among those columns, the time range falls on
-- whole hours and no event is past its retention; otherwise they count
-- events.
CREATE TABLE event_counts (
    tenant bigint   NOT NULL,             -- tenants.num
    hour   bigint   NOT NULL,             -- floor(epoch seconds of time / 3600)
    action text     COLLATE "C" NOT NULL,
    facet  smallint NOT NULL,             -- as events.facet
    n      bigint   NOT NULL,
    PRIMARY KEY (tenant, hour, action, facet)
);

INSERT INTO event_counts (tenant, hour, action, facet, n)
SELECT tenant, floor(extract(epoch FROM time) / 3600)::bigint, action, facet, count(*)
FROM events GROUP BY 1, 2, 3, 4;
