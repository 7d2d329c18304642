-- name: InsertInbox :one
INSERT INTO webhook_inbox (salon_id, headers, body, resource, resource_id, event_status)
VALUES (
    @salon_id, COALESCE(sqlc.narg(headers)::jsonb, '{}'::jsonb),
    COALESCE(sqlc.narg(body)::bytea, ''::bytea), @resource, @resource_id, @event_status
)
RETURNING id;

-- name: ClaimPendingInbox :many
-- ClaimPendingInbox locks up to max_rows pending rows, oldest first, skipping
-- rows another worker holds. Call it inside Store.InTx and mark each row
-- before the transaction commits: the row lock is the claim.
SELECT * FROM webhook_inbox
WHERE state = 'pending'
ORDER BY id
LIMIT @max_rows
FOR UPDATE SKIP LOCKED;

-- name: MarkInboxProcessed :exec
UPDATE webhook_inbox SET
    state        = 'processed',
    attempts     = attempts + 1,
    last_error   = '',
    processed_at = now()
WHERE id = @id;

-- name: MarkInboxIgnored :exec
UPDATE webhook_inbox SET
    state        = 'ignored',
    attempts     = attempts + 1,
    last_error   = @reason,
    processed_at = now()
WHERE id = @id;

-- name: MarkInboxFailed :exec
UPDATE webhook_inbox SET
    state        = 'failed',
    attempts     = attempts + 1,
    last_error   = @last_error,
    processed_at = now()
WHERE id = @id;
