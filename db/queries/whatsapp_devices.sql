-- name: UpsertWhatsAppDevice :one
-- UpsertWhatsAppDevice records the salon's newly paired device, replacing any previous one.
INSERT INTO whatsapp_devices (salon_id, device_jid, phone, push_name, state)
VALUES (@salon_id, @device_jid, @phone, @push_name, @state)
ON CONFLICT (salon_id) DO UPDATE SET
    device_jid   = EXCLUDED.device_jid,
    phone        = EXCLUDED.phone,
    push_name    = EXCLUDED.push_name,
    state        = EXCLUDED.state,
    state_reason = '',
    state_until  = NULL,
    linked_at    = now(),
    updated_at   = now()
RETURNING *;

-- name: GetWhatsAppDevice :one
SELECT * FROM whatsapp_devices
WHERE salon_id = @salon_id;

-- name: ListWhatsAppDevices :many
SELECT * FROM whatsapp_devices
ORDER BY salon_id;

-- name: SetWhatsAppDeviceState :execrows
-- SetWhatsAppDeviceState records the link state and display name of the salon's device. It
-- matches on the device JID too, so a late event from a replaced device cannot overwrite its
-- successor.
UPDATE whatsapp_devices SET
    push_name    = @push_name,
    state        = @state,
    state_reason = @state_reason,
    state_until  = sqlc.narg(state_until),
    updated_at   = now()
WHERE salon_id = @salon_id AND device_jid = @device_jid;

-- name: DeleteWhatsAppDevice :execrows
DELETE FROM whatsapp_devices
WHERE salon_id = @salon_id;

-- name: DeleteWhatsAppDeviceJID :execrows
-- DeleteWhatsAppDeviceJID forgets the salon's mapping only if it still points at this device
-- (a logged-out device must not take a newer pairing's mapping with it).
DELETE FROM whatsapp_devices
WHERE salon_id = @salon_id AND device_jid = @device_jid;
