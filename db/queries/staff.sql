-- name: UpsertStaff :exec
INSERT INTO staff (
    salon_id, yclients_id, name, specialization, position, fired, hidden,
    active, synced_at, updated_at
) VALUES (
    @salon_id, @yclients_id, @name, @specialization, @position, @fired, @hidden,
    true, @synced_at, now()
)
ON CONFLICT (salon_id, yclients_id) DO UPDATE SET
    name           = EXCLUDED.name,
    specialization = EXCLUDED.specialization,
    position       = EXCLUDED.position,
    fired          = EXCLUDED.fired,
    hidden         = EXCLUDED.hidden,
    active         = true,
    synced_at      = EXCLUDED.synced_at,
    updated_at     = now();

-- name: DeactivateStaffNotSynced :execrows
UPDATE staff SET active = false, updated_at = now()
WHERE salon_id = @salon_id AND active AND synced_at < @synced_at;

-- name: CountActiveStaff :one
SELECT count(*) FROM staff
WHERE salon_id = @salon_id AND active;

-- name: ListStaff :many
-- ListStaff returns the salon's active staff.
SELECT * FROM staff
WHERE salon_id = @salon_id AND active
ORDER BY name, yclients_id;
