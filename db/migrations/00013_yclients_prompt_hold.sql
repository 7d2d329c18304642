-- +goose Up

-- prompt_at is how long background work (catalogue syncs, status checks) stays behind the
-- requests a client's message waits for (yclients.Prompt): each such request booked keeps it
-- past its slot, so that the next page of the same list, asked a moment later, finds the next
-- free slot instead of one behind the background requests booked in between.
ALTER TABLE yclients_budget ADD COLUMN prompt_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE yclients_budget DROP COLUMN prompt_at;
