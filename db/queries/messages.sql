-- name: InsertMessage :one
-- InsertMessage returns no row (pgx.ErrNoRows) when the key already exists:
-- the first row, and its wa_message_id, wins.
INSERT INTO messages (salon_id, record_id, kind, visit_time, phone, wa_message_id, body, asks_reply)
VALUES (@salon_id, @record_id, @kind, @visit_time, @phone, @wa_message_id, @body, @asks_reply)
ON CONFLICT (salon_id, record_id, kind, visit_time) DO NOTHING
RETURNING *;

-- name: GetMessageByKey :one
SELECT * FROM messages
WHERE salon_id = @salon_id AND record_id = @record_id
  AND kind = @kind AND visit_time = @visit_time;

-- name: MarkMessageSent :exec
UPDATE messages SET
    status     = 'sent',
    reason     = '',
    sent_at    = @sent_at,
    updated_at = now()
WHERE id = @id;

-- name: MarkMessageFailed :execrows
-- MarkMessageFailed never downgrades a sent message; it reports 0 rows then.
UPDATE messages SET
    status     = 'failed',
    reason     = @reason,
    updated_at = now()
WHERE id = @id AND status <> 'sent';

-- name: MarkMessageSkipped :execrows
-- MarkMessageSkipped never downgrades a sent message; it reports 0 rows then.
UPDATE messages SET
    status     = 'skipped',
    reason     = @reason,
    updated_at = now()
WHERE id = @id AND status <> 'sent';

-- name: LastSentMessage :one
SELECT * FROM messages
WHERE salon_id = @salon_id AND status = 'sent'
ORDER BY sent_at DESC, id DESC
LIMIT 1;

-- name: ListRecentMessages :many
-- ListRecentMessages is the cabinet's message log: the salon's newest @max_rows messages.
SELECT id, record_id, kind, visit_time, phone, status, reason, created_at, updated_at, sent_at
FROM messages
WHERE salon_id = @salon_id
ORDER BY id DESC
LIMIT sqlc.arg(max_rows)::int;
