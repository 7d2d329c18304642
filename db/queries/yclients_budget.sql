-- name: ReserveYClientsSlot :one
-- ReserveYClientsSlot books the next free YClients request slot, spacing_ms apart, when it starts
-- within horizon_ms from now (the database's clock, the same for every process), and returns
-- how long to wait for it in milliseconds; no row when the queue is longer than the horizon
-- (nothing booked).
UPDATE yclients_budget
SET next_at = greatest(next_at, clock_timestamp()) + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0)
WHERE id = 1
  AND greatest(next_at, clock_timestamp()) < clock_timestamp() + make_interval(secs => sqlc.arg(horizon_ms)::bigint / 1000.0)
RETURNING floor(extract(epoch FROM (next_at - clock_timestamp())) * 1000)::bigint - sqlc.arg(spacing_ms)::bigint AS wait_ms;
