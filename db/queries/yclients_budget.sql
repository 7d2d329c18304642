-- name: ReserveYClientsSlot :one
-- ReserveYClientsSlot books the next free YClients request slot, spacing_ms apart, when it starts
-- within horizon_ms from now (the database's clock, the same for every process). wait_ms is how
-- long until that slot (booked), or until the first free one (not booked: the queue is longer
-- than the horizon; the caller looks again later).
WITH cur AS (
    SELECT greatest(next_at, clock_timestamp()) AS free_at FROM yclients_budget WHERE id = 1 FOR UPDATE
), upd AS (
    UPDATE yclients_budget SET next_at = cur.free_at + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0)
    FROM cur
    WHERE yclients_budget.id = 1
      AND cur.free_at < clock_timestamp() + make_interval(secs => sqlc.arg(horizon_ms)::bigint / 1000.0)
    RETURNING 1
)
SELECT floor(extract(epoch FROM (cur.free_at - clock_timestamp())) * 1000)::bigint AS wait_ms,
       EXISTS (SELECT 1 FROM upd) AS booked
FROM cur;
