-- name: UpsertService :exec
INSERT INTO services (
    salon_id, yclients_id, title, category_id, price_min, price_max,
    duration_seconds, active, synced_at, updated_at
) VALUES (
    @salon_id, @yclients_id, @title, @category_id, @price_min, @price_max,
    @duration_seconds, true, @synced_at, now()
)
ON CONFLICT (salon_id, yclients_id) DO UPDATE SET
    title            = EXCLUDED.title,
    category_id      = EXCLUDED.category_id,
    price_min        = EXCLUDED.price_min,
    price_max        = EXCLUDED.price_max,
    duration_seconds = EXCLUDED.duration_seconds,
    active           = true,
    synced_at        = EXCLUDED.synced_at,
    updated_at       = now();

-- name: DeactivateServicesNotSynced :execrows
-- DeactivateServicesNotSynced retires services the sync that started at
-- synced_at did not see.
UPDATE services SET active = false, updated_at = now()
WHERE salon_id = @salon_id AND active AND synced_at < @synced_at;

-- name: CountActiveServices :one
SELECT count(*) FROM services
WHERE salon_id = @salon_id AND active;

-- name: ListServices :many
-- ListServices returns the salon's active services.
SELECT * FROM services
WHERE salon_id = @salon_id AND active
ORDER BY title, yclients_id;
