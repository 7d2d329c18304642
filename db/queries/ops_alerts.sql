-- name: InsertOpsAlert :one
INSERT INTO ops_alerts (salon_id, level, kind, message)
VALUES (sqlc.narg(salon_id), @level, @kind, @message)
RETURNING id;

-- name: ListOpsAlerts :many
-- ListOpsAlerts returns the newest alerts first; a NULL salon_id lists all.
SELECT * FROM ops_alerts
WHERE sqlc.narg(salon_id)::bigint IS NULL OR salon_id = sqlc.narg(salon_id)::bigint
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: ListOpsAlertsSince :many
-- ListOpsAlertsSince returns the alerts raised since since, newest first; a NULL salon_id
-- lists all salons' (`aiadmin alerts`).
SELECT * FROM ops_alerts
WHERE created_at >= @since::timestamptz
  AND (sqlc.narg(salon_id)::bigint IS NULL OR salon_id = sqlc.narg(salon_id)::bigint)
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: DeleteOldOpsAlerts :execrows
-- DeleteOldOpsAlerts deletes up to max_rows alerts raised before before, the oldest first
-- (ops_alerts_created_idx).
DELETE FROM ops_alerts
WHERE id = ANY(ARRAY(
    SELECT id FROM ops_alerts
    WHERE created_at < @before::timestamptz
    ORDER BY created_at
    LIMIT @max_rows
));
