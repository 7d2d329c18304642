-- +goose Up

-- Lanes: the dispatcher hands the inbox to Temporal per (salon, resource, resource_id), in
-- inbox order within a lane and in parallel across lanes. A row is leased to one dispatcher
-- for a short time (claimed_until, claim_token) instead of being locked in a transaction
-- held open across Temporal calls. A row Temporal refuses waits (next_attempt_at) and holds
-- back only its own lane; after too many attempts it is 'dead' (an operator looks at it).
-- A byte-identical copy of the lane's previous delivery is marked 'duplicate' and costs no
-- signal. purged_at: the body (clients' names and phones) was emptied after the retention.
ALTER TABLE webhook_inbox
    ADD COLUMN next_attempt_at timestamptz NULL,
    ADD COLUMN claimed_until   timestamptz NULL,
    ADD COLUMN claim_token     text        NOT NULL DEFAULT '',
    ADD COLUMN purged_at       timestamptz NULL;

ALTER TABLE webhook_inbox DROP CONSTRAINT webhook_inbox_state_check;
ALTER TABLE webhook_inbox ADD CONSTRAINT webhook_inbox_state_check
    CHECK (state IN ('pending', 'processed', 'ignored', 'failed', 'duplicate', 'dead'));

-- A lane's rows in order: the lookup of the lane's previous delivery.
CREATE INDEX webhook_inbox_lane_idx ON webhook_inbox (salon_id, resource, resource_id, id);
-- A lane's pending rows: the claim's "no earlier row of the lane is waiting", however long
-- the lane's history.
CREATE INDEX webhook_inbox_lane_pending_idx ON webhook_inbox (salon_id, resource, resource_id, id)
    WHERE state = 'pending';
-- Finished rows whose body is still kept, by age: the retention purge.
CREATE INDEX webhook_inbox_purge_idx ON webhook_inbox (processed_at)
    WHERE purged_at IS NULL AND processed_at IS NOT NULL;

-- +goose Down
DROP INDEX webhook_inbox_purge_idx;
DROP INDEX webhook_inbox_lane_pending_idx;
DROP INDEX webhook_inbox_lane_idx;
UPDATE webhook_inbox SET state = 'processed' WHERE state = 'duplicate';
UPDATE webhook_inbox SET state = 'failed' WHERE state = 'dead';
ALTER TABLE webhook_inbox DROP CONSTRAINT webhook_inbox_state_check;
ALTER TABLE webhook_inbox ADD CONSTRAINT webhook_inbox_state_check
    CHECK (state IN ('pending', 'processed', 'ignored', 'failed'));
ALTER TABLE webhook_inbox
    DROP COLUMN purged_at,
    DROP COLUMN claim_token,
    DROP COLUMN claimed_until,
    DROP COLUMN next_attempt_at;
