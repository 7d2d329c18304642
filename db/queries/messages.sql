-- name: InsertMessage :one
-- InsertMessage returns no row (pgx.ErrNoRows) when the key already exists:
-- the first row, and its wa_message_id, wins.
INSERT INTO messages (salon_id, record_id, kind, visit_time, seq, phone, wa_message_id, body, asks_reply)
VALUES (@salon_id, @record_id, @kind, @visit_time, @seq, @phone, @wa_message_id, @body, @asks_reply)
ON CONFLICT (salon_id, record_id, kind, visit_time, seq) DO NOTHING
RETURNING *;

-- name: GetMessageByKey :one
SELECT * FROM messages
WHERE salon_id = @salon_id AND record_id = @record_id
  AND kind = @kind AND visit_time = @visit_time AND seq = @seq;

-- name: LockMessage :one
-- LockMessage locks a message's row for the daily cap's count (ReserveDailySend).
SELECT capped_on FROM messages WHERE id = @id FOR UPDATE;

-- name: ReserveDailySend :one
-- ReserveDailySend counts one more message on the salon's day when the cap allows it; no row
-- when the cap is reached.
INSERT INTO salon_daily_sends (salon_id, day, sends) VALUES (@salon_id, @day, 1)
ON CONFLICT (salon_id, day) DO UPDATE SET sends = salon_daily_sends.sends + 1
WHERE salon_daily_sends.sends < @daily_cap::int
RETURNING sends;

-- name: MarkMessageCapped :exec
UPDATE messages SET capped_on = @day WHERE id = @id;

-- name: DailySends :one
-- DailySends is how many messages the salon's day counted against its cap.
SELECT COALESCE((SELECT sends FROM salon_daily_sends WHERE salon_id = @salon_id AND day = @day), 0)::int;

-- name: DeleteOldDailySends :execrows
-- DeleteOldDailySends deletes up to max_rows salons' daily counts of days before before, the
-- oldest first (salon_daily_sends_day_idx): only a salon's today counts against its cap.
-- (By ctid: a list of (salon_id, day) pairs would be joined by reading the whole table.)
DELETE FROM salon_daily_sends
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM salon_daily_sends
    WHERE day < @before::date
    ORDER BY day
    LIMIT @max_rows
));

-- name: AddPausedMessage :exec
INSERT INTO paused_messages (salon_id, workflow_id, reason) VALUES (@salon_id, @workflow_id, @reason)
ON CONFLICT (salon_id, workflow_id) DO UPDATE SET reason = EXCLUDED.reason;

-- name: RemovePausedMessage :exec
DELETE FROM paused_messages WHERE salon_id = @salon_id AND workflow_id = @workflow_id;

-- name: ListPausedMessages :many
SELECT workflow_id FROM paused_messages WHERE salon_id = @salon_id ORDER BY since, workflow_id;

-- name: CountPausedMessages :one
SELECT count(*)::bigint AS waiting, COALESCE(EXTRACT(EPOCH FROM min(since)), 0)::float8 AS oldest_unix FROM paused_messages WHERE salon_id = @salon_id;

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

-- name: CancellationTold :one
-- CancellationTold reports whether the last thing the client was told about the record is the
-- cancellation of the visit at visit_time: a cancellation sent after every confirmation and
-- change notice of the record (whoever sent it: the booking, or the reply that cancelled it).
SELECT EXISTS (
    SELECT 1 FROM messages c
    WHERE c.salon_id = @salon_id AND c.record_id = @record_id AND c.kind = 'cancellation'
      AND c.visit_time = @visit_time AND c.status = 'sent'
      AND c.sent_at >= COALESCE((
          SELECT max(m.sent_at) FROM messages m
          WHERE m.salon_id = @salon_id AND m.record_id = @record_id
            AND m.kind IN ('confirmation', 'change') AND m.status = 'sent'), '-infinity'::timestamptz)
)::bool;

-- name: PurgeMessageTexts :execrows
-- PurgeMessageTexts empties the number and text (clients' phones, names and visits) of up to
-- max_rows ended messages written, ended and visited before before (a message about no visit
-- has the visit 'epoch'); the row, its key, status and times stay, so the message is still
-- sent at most once. Queued messages are left: they may still be sent.
-- (messages_purge_idx holds the ended rows not yet emptied, by age.)
UPDATE messages SET phone = '', body = ''
WHERE id = ANY(ARRAY(
    SELECT id FROM messages
    WHERE status <> 'queued' AND (phone <> '' OR body <> '')
      AND created_at < @before::timestamptz AND updated_at < @before::timestamptz
      AND visit_time < @before::timestamptz
    ORDER BY created_at
    LIMIT @max_rows
));

-- name: DeleteOldMessages :execrows
-- DeleteOldMessages deletes up to max_rows emptied messages of visits written before before
-- and whose visit was before before; messages about no visit stay (they are once only for
-- ever), and so do queued ones. (messages_purged_idx holds the emptied messages of visits, by
-- age.)
DELETE FROM messages
WHERE id = ANY(ARRAY(
    SELECT id FROM messages
    WHERE phone = '' AND body = '' AND visit_time <> 'epoch'::timestamptz AND status <> 'queued'
      AND created_at < @before::timestamptz AND visit_time < @before::timestamptz
    ORDER BY created_at
    LIMIT @max_rows
));
