-- 0010: event_counts, how many events each tenant holds per hour of event
-- time and (action, category, severity, outcome), so that stats over those
-- fields (the dashboard's volume by category per day, the top actions, the
-- failed sign-ins) add up a few thousand rows instead of counting millions
-- of events (docs/benchmarks.md). Append adds to it in its transaction;
-- a retention purge subtracts the events it deletes; erasure leaves these
-- columns alone (none is personal). Stats read it only when every filter
-- and the grouping are among those columns, the time range falls on whole
-- hours and no event is past its retention; otherwise they count events.
CREATE TABLE event_counts (
    tenant   INTEGER NOT NULL,   -- tenants.num
    hour     INTEGER NOT NULL,   -- floor(events.time / 3600000000)
    action   TEXT    NOT NULL,
    category TEXT    NOT NULL,
    severity INTEGER NOT NULL,   -- Severity.Rank, as events.severity
    outcome  TEXT    NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (tenant, hour, action, category, severity, outcome)
) WITHOUT ROWID;

INSERT INTO event_counts (tenant, hour, action, category, severity, outcome, n)
SELECT tenant, (time - ((time % 3600000000) + 3600000000) % 3600000000) / 3600000000, action, category, severity, outcome, count(*)
FROM events GROUP BY 1, 2, 3, 4, 5, 6;
