-- +goose NO TRANSACTION
-- +goose Up

-- Three tables of operational records grew for ever: ops_alerts (every alert raised), sync_runs
-- (one row per catalogue sync: at a thousand salons, a thousand a day) and salon_daily_sends
-- (one row per salon and day it sent). Now the dispatcher's idle-time purge deletes what is
-- older than 90 days (dispatcher.OpsRetention), keeping each salon's latest sync run (the
-- health endpoint and `aiadmin salon` show it). These indexes let each deletion read the
-- oldest rows only; the one on ops_alerts also serves `aiadmin alerts` over every salon (by
-- time). CONCURRENTLY, so that the tables keep being written while the indexes are built; a
-- build that failed half-way leaves an invalid index, which the DROP before the build removes
-- on the next try. No column changes: the release before keeps running meanwhile.
DROP INDEX CONCURRENTLY IF EXISTS ops_alerts_created_idx;
CREATE INDEX CONCURRENTLY ops_alerts_created_idx ON ops_alerts (created_at);
DROP INDEX CONCURRENTLY IF EXISTS sync_runs_started_idx;
CREATE INDEX CONCURRENTLY sync_runs_started_idx ON sync_runs (started_at);
DROP INDEX CONCURRENTLY IF EXISTS salon_daily_sends_day_idx;
CREATE INDEX CONCURRENTLY salon_daily_sends_day_idx ON salon_daily_sends (day);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS salon_daily_sends_day_idx;
DROP INDEX CONCURRENTLY IF EXISTS sync_runs_started_idx;
DROP INDEX CONCURRENTLY IF EXISTS ops_alerts_created_idx;
