-- +goose Up

-- prompt_at is until when the budget is busy with the requests a client's message waits for
-- (yclients.Prompt): each such request booked sets it past its slot. Meanwhile background work
-- (catalogue syncs, status checks) books only a slot that is free now, not seconds ahead, so
-- that the next page of the same list, asked a moment later, finds the next slot free.
ALTER TABLE yclients_budget ADD COLUMN prompt_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE yclients_budget DROP COLUMN prompt_at;
