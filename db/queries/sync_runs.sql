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
