-- name: ListAskedVisits :many
-- ListAskedVisits finds the client's upcoming visits at the salon whose confirmation or
-- day-before reminder asked them to confirm by replying, sent before @asked_before: one row per
-- record and visit time (its latest ask), the nearest visit first. declined says the client
-- already answered «не смогу» for that visit (a decline_ack or cancellation of it exists).
SELECT DISTINCT ON (m.visit_time, m.record_id)
    m.record_id,
    m.visit_time,
    m.sent_at::timestamptz AS asked_at,
    EXISTS (
        SELECT 1 FROM messages d
        WHERE d.salon_id = m.salon_id AND d.record_id = m.record_id AND d.visit_time = m.visit_time
          AND d.kind IN ('decline_ack', 'cancellation')
    )::bool AS declined
FROM messages m
WHERE m.salon_id = @salon_id AND m.phone = @phone AND m.asks_reply AND m.status = 'sent'
  AND m.kind IN ('confirmation', 'reminder_day')
  AND m.visit_time > @upcoming_after AND m.sent_at <= sqlc.arg(asked_before)::timestamptz
ORDER BY m.visit_time, m.record_id, m.sent_at DESC
LIMIT sqlc.arg(max_rows)::int;

-- name: LatestReviewAsk :one
-- LatestReviewAsk is the client's latest review request at the salon sent between
-- @asked_after and @asked_before that no thanks has answered yet.
SELECT m.record_id, m.visit_time, m.sent_at::timestamptz AS asked_at
FROM messages m
WHERE m.salon_id = @salon_id AND m.phone = @phone AND m.asks_reply AND m.status = 'sent'
  AND m.kind = 'review_request'
  AND m.sent_at > sqlc.arg(asked_after)::timestamptz AND m.sent_at <= sqlc.arg(asked_before)::timestamptz
  AND NOT EXISTS (
      SELECT 1 FROM messages a
      WHERE a.salon_id = m.salon_id AND a.record_id = m.record_id
        AND a.kind IN ('review_thanks', 'review_sorry')
  )
ORDER BY m.sent_at DESC, m.id DESC
LIMIT 1;

-- name: ReviewRequestedBefore :one
-- ReviewRequestedBefore says whether the client already has another review request at the
-- salon: one sent after @sent_since, or one still queued that was written before the row
-- @id (of two racing requests the older row goes, the newer one is skipped).
SELECT EXISTS (
    SELECT 1 FROM messages m
    WHERE m.salon_id = @salon_id AND m.phone = @phone AND m.kind = 'review_request' AND m.id <> @id
      AND ((m.status = 'sent' AND m.sent_at > sqlc.arg(sent_since)::timestamptz)
        OR (m.status = 'queued' AND m.id < @id AND m.created_at > @queued_since))
)::bool;

-- name: OptOutSince :one
-- OptOutSince is when the client opted out of the salon's messages.
SELECT created_at FROM opt_outs WHERE salon_id = @salon_id AND phone = @phone;

-- name: DeleteOptOut :one
-- DeleteOptOut re-subscribes a client («старт») and returns when they had opted out; no row
-- when they had not.
DELETE FROM opt_outs WHERE salon_id = @salon_id AND phone = @phone
RETURNING created_at;
