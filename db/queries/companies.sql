-- name: UpsertCompany :one
-- UpsertCompany records a salon's profile from YClients; install state is untouched.
INSERT INTO companies (salon_id, title, phone, email, address, timezone)
VALUES (@salon_id, @title, @phone, @email, @address, @timezone)
ON CONFLICT (salon_id) DO UPDATE SET
    title      = EXCLUDED.title,
    phone      = EXCLUDED.phone,
    email      = EXCLUDED.email,
    address    = EXCLUDED.address,
    timezone   = EXCLUDED.timezone,
    updated_at = now()
RETURNING *;

-- name: GetCompany :one
SELECT * FROM companies
WHERE salon_id = @salon_id;

-- name: SetInstallStatus :one
-- SetInstallStatus stamps activated_at on the first activation of an installation (an
-- installation that ends clears it, so a reinstall stamps it anew), frozen_at on
-- entering 'frozen' (cleared on leaving it) and uninstalled_at on entering
-- 'uninstalled'; repeating the same status keeps the original timestamps.
UPDATE companies SET
    install_status = @install_status::text,
    install_reason = @install_reason::text,
    activated_at = CASE
        WHEN @install_status::text = 'active' AND activated_at IS NULL THEN now()
        WHEN @install_status::text IN ('uninstalled', 'expired', 'failed') THEN NULL
        ELSE activated_at END,
    frozen_at = CASE
        WHEN @install_status::text <> 'frozen' THEN NULL
        WHEN install_status = 'frozen' AND frozen_at IS NOT NULL THEN frozen_at
        ELSE now() END,
    uninstalled_at = CASE
        WHEN @install_status::text = 'uninstalled'
             AND (install_status <> 'uninstalled' OR uninstalled_at IS NULL) THEN now()
        ELSE uninstalled_at END,
    updated_at = now()
WHERE salon_id = @salon_id
RETURNING *;

-- name: SetCompanyWhatsApp :one
-- SetCompanyWhatsApp records the connected WhatsApp account; NULLs clear it.
UPDATE companies SET
    whatsapp_phone        = sqlc.narg(phone)::text,
    whatsapp_name         = sqlc.narg(name)::text,
    whatsapp_connected_at = sqlc.narg(connected_at)::timestamptz,
    updated_at            = now()
WHERE salon_id = @salon_id
RETURNING *;

-- name: ListLinkedCompanies :many
-- ListLinkedCompanies lists the salons whose WhatsApp number is linked (for reconnecting
-- devices at start).
SELECT * FROM companies WHERE whatsapp_phone IS NOT NULL AND whatsapp_phone <> ''
  AND install_status IN ('active', 'frozen', 'configuring', 'whatsapp_connected') ORDER BY salon_id;

-- name: CountCompaniesByStatus :many
-- CountCompaniesByStatus counts installations by install status (metrics).
SELECT install_status, count(*)::bigint AS installations
FROM companies
GROUP BY install_status
ORDER BY install_status;

-- name: GetSalonClock :one
-- GetSalonClock is what reading a salon's record webhooks needs: its zone (YClients writes
-- some times without an offset) and when this installation was activated (a record created
-- before is not confirmed).
SELECT timezone, activated_at FROM companies WHERE salon_id = @salon_id;
