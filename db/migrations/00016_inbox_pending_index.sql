-- +goose NO TRANSACTION
-- +goose Up

-- The claim walks the pending rows in inbox order and stops once it has leased a batch; the
-- pending rows' ids in an index of their own are that walk. The (state, id) index it replaces
-- held every row, finished or not: PostgreSQL's planner, judging by the table's statistics,
-- thought the primary key with a filter on state just as good a way to find the next pending
-- row, and on an inbox whose pending rows are its newest (always, after a while) that walked
-- over every finished row. The dead rows (operators list them, metrics count them) get a
-- small index of their own. A row is now indexed by state only while it is pending or dead:
-- its end writes one index entry less.
--
-- The lanes' index of pending rows goes: the claim no longer asks it anything (it carries the
-- lanes it has seen held), and with statistics taken while no row was pending, PostgreSQL took
-- it, as empty as the pending rows' index seemed, for just as good a way to the next pending
-- row, and read all of it, sorted, at every step of the walk. A lane's rows stay in order in
-- webhook_inbox_lane_idx. A webhook's arrival writes one index entry less.
--
-- CONCURRENTLY, so that webhooks keep being stored while the indexes are built; a build that
-- failed half-way leaves an invalid index, which the DROP before each build removes on the
-- next try.
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_pending_idx;
CREATE INDEX CONCURRENTLY webhook_inbox_pending_idx ON webhook_inbox (id) WHERE state = 'pending';
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_dead_idx;
CREATE INDEX CONCURRENTLY webhook_inbox_dead_idx ON webhook_inbox (id) WHERE state = 'dead';
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_state_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_lane_pending_idx;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_lane_pending_idx;
CREATE INDEX CONCURRENTLY webhook_inbox_lane_pending_idx ON webhook_inbox (salon_id, resource, resource_id, id)
    WHERE state = 'pending';
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_state_id_idx;
CREATE INDEX CONCURRENTLY webhook_inbox_state_id_idx ON webhook_inbox (state, id);
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_dead_idx;
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_pending_idx;
