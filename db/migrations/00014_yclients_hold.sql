-- +goose Up

-- hold_at is until when background work stays behind the owners' turns that have come: a turn
-- looking for its slot keeps background requests from booking the slots it is about to take,
-- for a while after its slot. That hold used to move queue_at, the end of the owners' queue,
-- so every owner's next turn (the same owner's next read among them) waited behind it too;
-- the owners' queue now ends where its turns do, and only background work waits for hold_at.
ALTER TABLE yclients_budget ADD COLUMN hold_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE yclients_budget DROP COLUMN hold_at;
