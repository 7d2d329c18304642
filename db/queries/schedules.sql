-- name: UpsertSchedule :exec
INSERT INTO schedules (
    salon_id, staff_yclients_id, date, is_working, slots, active, synced_at, updated_at
) VALUES (
    @salon_id, @staff_yclients_id, @date, @is_working,
    COALESCE(sqlc.narg(slots)::jsonb, '[]'::jsonb), true, @synced_at, now()
)
ON CONFLICT (salon_id, staff_yclients_id, date) DO UPDATE SET
    is_working = EXCLUDED.is_working,
    slots      = EXCLUDED.slots,
    active     = true,
    synced_at  = EXCLUDED.synced_at,
    updated_at = now();

-- name: DeactivateSchedulesNotSynced :execrows
-- DeactivateSchedulesNotSynced only touches days from from_date on: past days
-- are outside the sync window and keep their last known state.
UPDATE schedules SET active = false, updated_at = now()
WHERE salon_id = @salon_id AND active AND synced_at < @synced_at
  AND date >= @from_date;

-- name: CountActiveSchedules :one
SELECT count(*) FROM schedules
WHERE salon_id = @salon_id AND active;
