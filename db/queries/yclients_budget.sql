-- name: ReserveYClientsSlot :one
-- ReserveYClientsSlot books the next free YClients request slot, spacing_ms apart, when it starts
-- within horizon_ms from now (the database's clock, the same for every process). A request
-- behind_queue (background work) books only when the owners' queue (queue_at) also ends within
-- the horizon; one that push_queue (urgent) goes ahead of the queue and moves it one slot
-- later. A request that hold_queue_ms (a turn of the owners' queue that has come) holds
-- background work back (hold_at) until hold_queue_ms after its slot, or after the first free
-- slot when it could not book, so that background work stays behind it; the owners' next
-- turns do not wait for the hold (TakeYClientsTurn reads queue_at, which it leaves). A
-- request that hold_background_ms (a client's message waits for it) marks the budget busy with
-- clients' messages until hold_background_ms after its slot (prompt_at); meanwhile the other
-- background work (behind_queue without hold_background_ms) books only a slot free within
-- busy_horizon_ms, so that the next page of a client's message's list, asked a moment after
-- the one before, finds the next slot free. wait_ms is how long until that slot (booked), or
-- until the request could book (not booked: the caller looks again later).
WITH cur AS (
    SELECT greatest(next_at, clock_timestamp()) AS free_at,
           CASE WHEN sqlc.arg(behind_queue)::bool THEN greatest(next_at, queue_at, hold_at, clock_timestamp())
                ELSE greatest(next_at, clock_timestamp()) END AS open_at,
           queue_at,
           sqlc.arg(behind_queue)::bool AND sqlc.arg(hold_background_ms)::bigint = 0
               AND prompt_at > clock_timestamp() AS busy
    FROM yclients_budget WHERE id = 1 FOR UPDATE
), chk AS (
    SELECT cur.free_at, cur.open_at, cur.queue_at,
           cur.open_at < clock_timestamp() + make_interval(secs => sqlc.arg(horizon_ms)::bigint / 1000.0)
           AND (NOT cur.busy
                OR cur.free_at < clock_timestamp() + make_interval(secs => sqlc.arg(busy_horizon_ms)::bigint / 1000.0)) AS ok
    FROM cur
), upd AS (
    UPDATE yclients_budget SET
        next_at = CASE WHEN chk.ok THEN chk.free_at + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0)
                       ELSE yclients_budget.next_at END,
        queue_at = CASE WHEN chk.ok AND sqlc.arg(push_queue)::bool AND chk.queue_at > clock_timestamp()
                        THEN chk.queue_at + make_interval(secs => sqlc.arg(spacing_ms)::bigint / 1000.0)
                        ELSE chk.queue_at END,
        hold_at = CASE WHEN sqlc.arg(hold_queue_ms)::bigint > 0
                       THEN greatest(yclients_budget.hold_at,
                                     chk.free_at + make_interval(secs => sqlc.arg(hold_queue_ms)::bigint / 1000.0))
                       ELSE yclients_budget.hold_at END,
        prompt_at = CASE WHEN chk.ok AND sqlc.arg(hold_background_ms)::bigint > 0
                         THEN greatest(yclients_budget.prompt_at,
                                       chk.free_at + make_interval(secs => sqlc.arg(hold_background_ms)::bigint / 1000.0))
                         ELSE yclients_budget.prompt_at END
    FROM chk
    WHERE yclients_budget.id = 1
      AND (chk.ok OR sqlc.arg(hold_queue_ms)::bigint > 0)
    RETURNING 1
)
SELECT floor(extract(epoch FROM (CASE WHEN chk.ok THEN chk.free_at ELSE chk.open_at END
                                 - clock_timestamp())) * 1000)::bigint AS wait_ms,
       coalesce(chk.ok, false) AS booked
FROM chk;

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
