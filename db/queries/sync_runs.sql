-- name: StartSyncRun :one
INSERT INTO sync_runs (salon_id) VALUES (@salon_id)
RETURNING id;

-- name: FinishSyncRun :exec
UPDATE sync_runs SET
    finished_at       = now(),
    services_count    = @services_count,
    staff_count       = @staff_count,
    schedules_count   = @schedules_count,
    deactivated_count = @deactivated_count,
    error             = @error
WHERE id = @id;

-- name: LastSyncRun :one
SELECT * FROM sync_runs
WHERE salon_id = @salon_id
ORDER BY id DESC
LIMIT 1;

-- name: DeleteOldSyncRuns :execrows
-- DeleteOldSyncRuns deletes up to max_rows sync runs started before before, the oldest first
-- (sync_runs_started_idx), except each salon's latest (LastSyncRun), however old.
DELETE FROM sync_runs
WHERE id = ANY(ARRAY(
    SELECT s.id FROM sync_runs s
    WHERE s.started_at < @before::timestamptz
      AND EXISTS (SELECT 1 FROM sync_runs n WHERE n.salon_id = s.salon_id AND n.id > s.id)
    ORDER BY s.started_at
    LIMIT @max_rows
));
