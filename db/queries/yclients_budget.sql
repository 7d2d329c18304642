-- name: ReserveYClientsSlot :one
-- ReserveYClientsSlot books the next free YClients request slot, spacing_ms apart, when it starts
-- within horizon_ms from now (the database's clock, the same for every process). A request
-- behind_queue (background work) books only when the owners' queue (queue_at) also ends within
-- the horizon; one that push_queue (urgent) goes ahead of the queue and moves it one slot
-- later. wait_ms is how long until that slot (booked), or until the request could book (not
-- booked: the caller looks again later).
WITH cur AS (
    SELECT greatest(next_at, clock_timestamp()) AS free_at,
           CASE WHEN sqlc.arg(behind_queue)::bool THEN greatest(next_at, queue_at, clock_timestamp())
                ELSE greatest(next_at, clock_timestamp()) END AS open_at,
           queue_at
    FROM yclients_budget WHERE id = 1 FOR UPDATE
), upd AS (
    UPDATE yclients_budget SET
        next_at = cur.free_at + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0),
        queue_at = CASE WHEN sqlc.arg(push_queue)::bool AND cur.queue_at > clock_timestamp()
                        THEN cur.queue_at + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0)
                        ELSE cur.queue_at END
    FROM cur
    WHERE yclients_budget.id = 1
      AND cur.open_at < clock_timestamp() + make_interval(secs => sqlc.arg(horizon_ms)::bigint / 1000.0)
    RETURNING 1
)
SELECT floor(extract(epoch FROM (CASE WHEN EXISTS (SELECT 1 FROM upd) THEN cur.free_at ELSE cur.open_at END
                                 - clock_timestamp())) * 1000)::bigint AS wait_ms,
       EXISTS (SELECT 1 FROM upd) AS booked
FROM cur;

-- name: TakeYClientsTurn :one
-- TakeYClientsTurn gives a request in the owners' queue its turn: the end of the queue, or of
-- the booked slots when they reach further, when that is within horizon_ms; the queue then
-- ends spacing_ms later. wait_ms is how long until the turn (booked), or until the end of the
-- queue (not booked: the queue is longer than the horizon).
WITH cur AS (
    SELECT greatest(next_at, queue_at, clock_timestamp()) AS turn_at FROM yclients_budget WHERE id = 1 FOR UPDATE
), upd AS (
    UPDATE yclients_budget SET queue_at = cur.turn_at + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0)
    FROM cur
    WHERE yclients_budget.id = 1
      AND cur.turn_at < clock_timestamp() + make_interval(secs => sqlc.arg(horizon_ms)::bigint / 1000.0)
    RETURNING 1
)
SELECT floor(extract(epoch FROM (cur.turn_at - clock_timestamp())) * 1000)::bigint AS wait_ms,
       EXISTS (SELECT 1 FROM upd) AS booked
FROM cur;
