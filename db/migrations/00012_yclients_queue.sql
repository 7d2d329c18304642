-- +goose Up

-- queue_at is where the owners' queue of the YClients budget ends: when many owners open the
-- register page at once, each of their reads takes a turn here (spaced as the slots are)
-- instead of booking a slot minutes ahead, and books its slot when the turn comes. Urgent
-- requests (an activation callback) book their slots in the meantime and move the queue one
-- slot later; background requests book only once the queue is over.
ALTER TABLE yclients_budget ADD COLUMN queue_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE yclients_budget DROP COLUMN queue_at;
