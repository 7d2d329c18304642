-- +goose NO TRANSACTION
-- +goose Up

-- Whether a row's lane has an earlier row waiting for its next attempt: the claim asks this of
-- the rows once tried and put back, and of no other. The claim's walk used to carry the lanes
-- it had found waiting and check each row against all of them; after Temporal has refused
-- every row for a while, when every lane of the backlog waits, that took seconds a claim
-- (2.9 s with 8,000 lanes waiting, growing with their square). A webhook's arrival writes no
-- entry here: only a row put back for a later attempt does.
--
-- CONCURRENTLY, so that webhooks keep being stored while the index is built; a build that
-- failed half-way leaves an invalid index, which the DROP before the build removes on the
-- next try.
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_retry_lane_idx;
CREATE INDEX CONCURRENTLY webhook_inbox_retry_lane_idx ON webhook_inbox (salon_id, resource, resource_id, id)
    WHERE next_attempt_at IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS webhook_inbox_retry_lane_idx;
