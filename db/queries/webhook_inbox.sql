-- name: InsertInbox :one
INSERT INTO webhook_inbox (salon_id, headers, body, resource, resource_id, event_status)
VALUES (
    @salon_id, COALESCE(sqlc.narg(headers)::jsonb, '{}'::jsonb),
    COALESCE(sqlc.narg(body)::bytea, ''::bytea), @resource, @resource_id, @event_status
)
RETURNING id;

-- name: ReceiveInbox :many
-- ReceiveInbox stores a batch of webhook deliveries in one statement, each only when the
-- SHA-256 of its URL secret equals its salon's stored hash (an unknown or uninstalled salon,
-- or one without a webhook secret, has none to match). It returns the position (1-based) and
-- the new row's ID of each delivery stored; a delivery missing from the result had a wrong
-- secret. IDs are taken in input order, so a batch keeps the order it was queued in.
-- (The secret itself never reaches the database; comparing hashes with = leaks at most how
-- much of a hash an attacker's guess shares, which says nothing about the secret.)
WITH input AS (
    -- Set-returning functions in one select list run in lockstep: row n holds element n of
    -- every array.
    SELECT generate_subscripts(@salon_ids::bigint[], 1) AS n,
           unnest(@salon_ids::bigint[]) AS salon_id, unnest(@secret_hashes::bytea[]) AS secret_hash,
           unnest(@headers::jsonb[]) AS headers, unnest(@bodies::bytea[]) AS body,
           unnest(@resources::text[]) AS resource, unnest(@resource_ids::bigint[]) AS resource_id,
           unnest(@event_statuses::text[]) AS event_status
), accepted AS (
    SELECT i.n, nextval('webhook_inbox_id_seq'::regclass) AS id, i.salon_id, i.headers, i.body,
           i.resource, i.resource_id, i.event_status
    FROM input i
    JOIN salon_secrets s ON s.salon_id = i.salon_id AND s.webhook_secret_hash = i.secret_hash
    ORDER BY i.n
), stored AS (
    INSERT INTO webhook_inbox (id, salon_id, headers, body, resource, resource_id, event_status)
    SELECT a.id, a.salon_id, a.headers, a.body, a.resource, a.resource_id, a.event_status FROM accepted a
    RETURNING id
)
SELECT a.n::int AS position, s.id FROM accepted a JOIN stored s ON s.id = a.id;

-- name: LockInboxClaims :exec
-- LockInboxClaims serialises claims: call it first in the claim's transaction, so that a
-- claim sees every claim committed before it and two dispatchers never split a lane (not
-- even in the moment one of them has lost its dispatcher lock without knowing it yet).
-- The key is "AIADCLAM".
SELECT pg_advisory_xact_lock(4704363047207846221);

-- name: ClaimInboxLanes :many
-- ClaimInboxLanes leases up to max_rows pending rows, oldest first, to one dispatcher for
-- lease_seconds (a row of webhook_inbox_leases each; the inbox rows are not written). A row is
-- claimable when it is due, not leased, and no earlier pending row of its lane
-- (salon_id, resource, resource_id) is leased or waiting for its next attempt: a lane is
-- handed on in inbox order, whatever happens to the other lanes. An expired lease is taken
-- over. Rows come back in no particular order. The row's own lease columns (claimed_until,
-- claim_token), written by the code before migration 00015, are no longer read: no process of
-- that code is left, and a later migration drops them (this statement and GetInbox name their
-- columns, so that it can).
--
-- The claim walks the due pending rows in id order (webhook_inbox_pending_idx), one row a
-- step, and stops once it has max_rows: it reads the rows it leases and those it passes over,
-- never the whole backlog. A row waiting for its next attempt is passed over inside a step;
-- whether a row's lane has one waiting before it is asked of webhook_inbox_retry_lane_idx,
-- which holds only rows once tried and put back (a row has its next attempt in the future
-- only while pending: it is claimed once due, and a dead row given back gets none). Leased
-- rows are few (the batches in flight): the walk carries the lanes it has found leased, and a
-- later row of one of them waits, since the walk has seen every earlier due row by then. (One
-- statement with the same conditions as joins had a plan that depended on the table's
-- statistics: taken before a burst, as autovacuum leaves them, it checked each row's lane
-- against every pending row, and with the burst in them it looked at every pending row before
-- taking the oldest. A walk that carried the waiting lanes as well checked each row against
-- all of them: after a spell of refusals, with every lane of the backlog waiting, a claim took
-- seconds.)
WITH RECURSIVE walk (id, claimable, taken, leased_lanes) AS (
    SELECT 0::bigint, false, 0, '{}'::text[]
  UNION ALL
    SELECT n.id, n.claimable, w.taken + n.claimable::int,
           CASE WHEN n.leased AND NOT n.lane = ANY(w.leased_lanes) THEN w.leased_lanes || n.lane
                ELSE w.leased_lanes END
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT p.id, r.lane, h.leased,
               NOT h.leased AND NOT r.lane = ANY(w.leased_lanes) AND NOT EXISTS (
                   SELECT 1 FROM webhook_inbox e
                   WHERE e.salon_id = p.salon_id AND e.resource = p.resource AND e.resource_id = p.resource_id
                     AND e.id < p.id AND e.next_attempt_at > now()) AS claimable
        FROM webhook_inbox p
        -- The lane as text: two numbers, then the resource, so that no two lanes share one.
        CROSS JOIN LATERAL (SELECT p.salon_id::text || '/' || p.resource_id::text || '/' || p.resource AS lane) r
        CROSS JOIN LATERAL (SELECT EXISTS (
            SELECT 1 FROM webhook_inbox_leases l WHERE l.inbox_id = p.id AND l.claimed_until >= now()) AS leased) h
        WHERE p.state = 'pending' AND p.id > w.id
          AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= now())
        ORDER BY p.id
        LIMIT 1
    ) n
    WHERE w.taken < @max_rows::int
), leased AS (
    INSERT INTO webhook_inbox_leases (inbox_id, claim_token, claimed_until)
    SELECT walk.id, @claim_token, now() + make_interval(secs => @lease_seconds::float8) FROM walk WHERE walk.claimable
    ON CONFLICT (inbox_id) DO UPDATE SET claim_token = excluded.claim_token, claimed_until = excluded.claimed_until
    RETURNING inbox_id
)
SELECT id, salon_id, received_at, headers, body, resource, resource_id, event_status, state, attempts,
       last_error, processed_at, next_attempt_at, purged_at
FROM webhook_inbox WHERE id IN (SELECT inbox_id FROM leased);

-- name: PreviousLaneBodies :many
-- PreviousLaneBodies is, for each lane given (salon_id, resource, resource_id) with its first
-- claimed row before_id, the body of the lane's last delivery before that row that was handed
-- on (or found to be a copy of one): one statement for all the lanes of a claim. It returns
-- the position (1-based) of each lane that has one.
SELECT l.n::int AS position, p.body
FROM (
    SELECT generate_subscripts(@salon_ids::bigint[], 1) AS n,
           unnest(@salon_ids::bigint[]) AS salon_id, unnest(@resources::text[]) AS resource,
           unnest(@resource_ids::bigint[]) AS resource_id, unnest(@before_ids::bigint[]) AS before_id
) l
CROSS JOIN LATERAL (
    SELECT w.body FROM webhook_inbox w
    WHERE w.salon_id = l.salon_id AND w.resource = l.resource AND w.resource_id = l.resource_id
      AND w.id < l.before_id AND w.state IN ('processed', 'duplicate')
    ORDER BY w.id DESC
    LIMIT 1
) p;

-- name: FinishInboxRows :many
-- FinishInboxRows ends leased rows, each with its own state (processed, ignored, failed:
-- cannot be decoded, duplicate or dead) and note, and ends their leases, in one statement. It
-- returns the IDs of those whose lease was still held; a row whose lease was lost is left alone.
-- The lease is what guards the row: only a pending row is leased, and only the statement that
-- ends it deletes its lease. (A condition on the row's state here would let PostgreSQL reach
-- the rows through the pending rows' index, which, with statistics taken while the inbox was
-- quiet, it takes for empty and reads from its start for each row.)
WITH x AS (
    SELECT unnest(@ids::bigint[]) AS id, unnest(@states::text[]) AS state,
           unnest(@last_errors::text[]) AS last_error
), released AS (
    DELETE FROM webhook_inbox_leases AS l USING x
    WHERE l.inbox_id = x.id AND l.claim_token = @claim_token
    RETURNING l.inbox_id
)
UPDATE webhook_inbox AS w SET
    state        = x.state,
    attempts     = w.attempts + 1,
    last_error   = x.last_error,
    processed_at = now()
FROM x JOIN released ON released.inbox_id = x.id
WHERE w.id = x.id
RETURNING w.id;

-- name: RetryInbox :execrows
-- RetryInbox gives a leased row back after a failed attempt: counted (add_attempts = 1) when
-- the row was refused, not counted when Temporal could not be reached at all. The lease guards
-- the row, as in FinishInboxRows.
WITH released AS (
    DELETE FROM webhook_inbox_leases AS l WHERE l.inbox_id = @id AND l.claim_token = @claim_token
    RETURNING l.inbox_id
)
UPDATE webhook_inbox AS w SET
    attempts        = w.attempts + @add_attempts::int,
    last_error      = @last_error,
    next_attempt_at = now() + make_interval(secs => @delay_seconds::float8)
FROM released
WHERE w.id = released.inbox_id;

-- name: ReleaseInbox :exec
-- ReleaseInbox gives leased rows back untried.
DELETE FROM webhook_inbox_leases WHERE inbox_id = ANY(@ids::bigint[]) AND claim_token = @claim_token;

-- name: DeleteStaleInboxLeases :execrows
-- DeleteStaleInboxLeases deletes leases that expired before before: a claim would take them
-- over anyway; one is left only when its dispatcher stopped before it ended its rows.
DELETE FROM webhook_inbox_leases WHERE claimed_until < @before::timestamptz;

-- name: InboxHealth :one
-- InboxHealth counts a salon's rows waiting and dead, for operators.
SELECT
    count(*) FILTER (WHERE state = 'pending')::bigint AS pending,
    count(*) FILTER (WHERE state = 'dead')::bigint    AS dead
FROM webhook_inbox
WHERE salon_id = @salon_id AND state IN ('pending', 'dead');

-- name: OldestPendingInbox :one
-- OldestPendingInbox is when the salon's oldest waiting row arrived.
SELECT received_at FROM webhook_inbox
WHERE salon_id = @salon_id AND state = 'pending'
ORDER BY id
LIMIT 1;

-- name: PurgeInboxBodies :execrows
-- PurgeInboxBodies empties the bodies (clients' names and phones) of up to max_rows rows
-- finished before before; the row itself stays.
-- (= ANY(ARRAY(...)) keeps the update on the primary key instead of a scan of the table.)
UPDATE webhook_inbox SET body = ''::bytea, purged_at = now()
WHERE id = ANY(ARRAY(
    SELECT id FROM webhook_inbox
    WHERE purged_at IS NULL AND processed_at IS NOT NULL AND processed_at < @before::timestamptz
    ORDER BY processed_at
    LIMIT @max_rows
));

-- name: DeleteOldInboxRows :execrows
-- DeleteOldInboxRows deletes up to max_rows rows whose body was purged and that were handed on
-- before before; dead rows stay. (webhook_inbox_purged_idx holds exactly these rows.)
DELETE FROM webhook_inbox
WHERE id = ANY(ARRAY(
    SELECT id FROM webhook_inbox
    WHERE purged_at IS NOT NULL AND state <> 'dead' AND processed_at < @before::timestamptz
    ORDER BY processed_at
    LIMIT @max_rows
));

-- name: InboxBacklog :one
-- InboxBacklog counts the rows waiting and dead, and when the oldest waiting one arrived, in
-- Unix seconds, 0 when none waits (metrics; the pending and dead rows' indexes keep it off the
-- finished rows).
SELECT
    count(*) FILTER (WHERE state = 'pending')::bigint AS pending,
    count(*) FILTER (WHERE state = 'dead')::bigint    AS dead,
    COALESCE(EXTRACT(EPOCH FROM min(received_at) FILTER (WHERE state = 'pending')), 0)::float8 AS oldest_pending_unix
FROM webhook_inbox
WHERE state IN ('pending', 'dead');

-- name: ListDeadInbox :many
-- ListDeadInbox lists the dead rows, oldest first; a NULL salon_id lists all salons'
-- (`aiadmin inbox dead-letters`).
SELECT id, salon_id, received_at, resource, resource_id, event_status, attempts, last_error,
       processed_at, purged_at
FROM webhook_inbox
WHERE state = 'dead'
  AND (sqlc.narg(salon_id)::bigint IS NULL OR salon_id = sqlc.narg(salon_id)::bigint)
ORDER BY id
LIMIT @max_rows;

-- name: GetInbox :one
SELECT id, salon_id, received_at, headers, body, resource, resource_id, event_status, state, attempts,
       last_error, processed_at, next_attempt_at, purged_at
FROM webhook_inbox WHERE id = @id;

-- name: RetryDeadInbox :execrows
-- RetryDeadInbox gives a dead row, whose body is still kept, back to the dispatcher as a new
-- row of its lane would be: pending, due now, its attempts counted afresh. The last error
-- stays until the next attempt.
UPDATE webhook_inbox SET
    state           = 'pending',
    attempts        = 0,
    next_attempt_at = NULL,
    processed_at    = NULL
WHERE id = @id AND state = 'dead' AND purged_at IS NULL;
