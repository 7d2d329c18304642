-- name: GetSalonSettings :one
-- GetSalonSettings returns the salon's policy with defaults for a salon without a row.
SELECT
    c.salon_id,
    c.title,
    c.address,
    c.phone,
    c.timezone,
    c.install_status,
    COALESCE(s.reminder_day_hour, 18)::int    AS reminder_day_hour,
    COALESCE(s.quiet_from_minute, 1260)::int  AS quiet_from_minute,
    COALESCE(s.quiet_to_minute, 540)::int     AS quiet_to_minute,
    COALESCE(s.per_minute, 6)::int            AS per_minute,
    COALESCE(s.daily_cap, 300)::int           AS daily_cap,
    COALESCE(s.client_welcome, false)::bool   AS client_welcome,
    COALESCE(s.templates, '{}'::jsonb)::jsonb AS templates,
    COALESCE(s.send_confirmation, true)::bool     AS send_confirmation,
    COALESCE(s.send_change, true)::bool           AS send_change,
    COALESCE(s.send_cancellation, true)::bool     AS send_cancellation,
    COALESCE(s.send_reminder_day, true)::bool     AS send_reminder_day,
    COALESCE(s.send_reminder_before, true)::bool  AS send_reminder_before,
    COALESCE(s.reminder_hours_before, 2)::int     AS reminder_hours_before,
    COALESCE(s.review_requests, false)::bool      AS review_requests,
    COALESCE(s.review_delay_minutes, 180)::int    AS review_delay_minutes,
    COALESCE(s.review_url, '')::text              AS review_url,
    COALESCE(s.confirm_by_reply, true)::bool      AS confirm_by_reply,
    COALESCE(s.confirm_on_booking, false)::bool   AS confirm_on_booking,
    COALESCE(s.decline_cancels, false)::bool      AS decline_cancels
FROM companies c
LEFT JOIN salon_settings s ON s.salon_id = c.salon_id
WHERE c.salon_id = @salon_id;

-- name: UpsertSalonSettings :exec
INSERT INTO salon_settings (salon_id, reminder_day_hour, quiet_from_minute, quiet_to_minute, per_minute, daily_cap, client_welcome, templates)
VALUES (@salon_id, @reminder_day_hour, @quiet_from_minute, @quiet_to_minute, @per_minute, @daily_cap, @client_welcome, @templates)
ON CONFLICT (salon_id) DO UPDATE SET
    reminder_day_hour = EXCLUDED.reminder_day_hour,
    quiet_from_minute = EXCLUDED.quiet_from_minute,
    quiet_to_minute   = EXCLUDED.quiet_to_minute,
    per_minute        = EXCLUDED.per_minute,
    daily_cap         = EXCLUDED.daily_cap,
    client_welcome    = EXCLUDED.client_welcome,
    templates         = EXCLUDED.templates,
    updated_at        = now();

-- name: UpsertCabinetSettings :exec
-- UpsertCabinetSettings writes every setting the owner's cabinet shows (UpsertSalonSettings
-- writes the sending policy only and leaves the rest as it is).
INSERT INTO salon_settings (salon_id, reminder_day_hour, quiet_from_minute, quiet_to_minute, per_minute, daily_cap,
    client_welcome, templates, send_confirmation, send_change, send_cancellation, send_reminder_day,
    send_reminder_before, reminder_hours_before, review_requests, review_delay_minutes, review_url,
    confirm_by_reply, confirm_on_booking, decline_cancels)
VALUES (@salon_id, @reminder_day_hour, @quiet_from_minute, @quiet_to_minute, @per_minute, @daily_cap,
    @client_welcome, @templates, @send_confirmation, @send_change, @send_cancellation, @send_reminder_day,
    @send_reminder_before, @reminder_hours_before, @review_requests, @review_delay_minutes, @review_url,
    @confirm_by_reply, @confirm_on_booking, @decline_cancels)
ON CONFLICT (salon_id) DO UPDATE SET
    reminder_day_hour     = EXCLUDED.reminder_day_hour,
    quiet_from_minute     = EXCLUDED.quiet_from_minute,
    quiet_to_minute       = EXCLUDED.quiet_to_minute,
    per_minute            = EXCLUDED.per_minute,
    daily_cap             = EXCLUDED.daily_cap,
    client_welcome        = EXCLUDED.client_welcome,
    templates             = EXCLUDED.templates,
    send_confirmation     = EXCLUDED.send_confirmation,
    send_change           = EXCLUDED.send_change,
    send_cancellation     = EXCLUDED.send_cancellation,
    send_reminder_day     = EXCLUDED.send_reminder_day,
    send_reminder_before  = EXCLUDED.send_reminder_before,
    reminder_hours_before = EXCLUDED.reminder_hours_before,
    review_requests       = EXCLUDED.review_requests,
    review_delay_minutes  = EXCLUDED.review_delay_minutes,
    review_url            = EXCLUDED.review_url,
    confirm_by_reply      = EXCLUDED.confirm_by_reply,
    confirm_on_booking    = EXCLUDED.confirm_on_booking,
    decline_cancels       = EXCLUDED.decline_cancels,
    updated_at            = now();

-- name: ReserveSendSlot :one
-- ReserveSendSlot books the salon's next send slot at or after @earliest and moves the
-- budget on by @gap_ms; it returns the booked slot.
INSERT INTO send_budget (salon_id, next_slot_at)
VALUES (@salon_id, sqlc.arg(earliest)::timestamptz + sqlc.arg(gap_ms)::bigint * interval '1 millisecond')
ON CONFLICT (salon_id) DO UPDATE SET
    next_slot_at = GREATEST(send_budget.next_slot_at, EXCLUDED.next_slot_at - sqlc.arg(gap_ms)::bigint * interval '1 millisecond')
                   + sqlc.arg(gap_ms)::bigint * interval '1 millisecond'
RETURNING (next_slot_at - sqlc.arg(gap_ms)::bigint * interval '1 millisecond')::timestamptz AS slot_at;

-- name: CountSentSince :one
SELECT count(*) FROM messages WHERE salon_id = @salon_id AND status = 'sent' AND sent_at >= @since;

-- name: SetMessageScheduled :exec
UPDATE messages SET scheduled_at = @scheduled_at, updated_at = now() WHERE id = @id;

-- name: InsertOptOut :one
INSERT INTO opt_outs (salon_id, phone, text) VALUES (@salon_id, @phone, @text)
ON CONFLICT (salon_id, phone) DO NOTHING
RETURNING created_at;

-- name: IsOptedOut :one
SELECT EXISTS (SELECT 1 FROM opt_outs WHERE salon_id = @salon_id AND phone = @phone);

-- name: UpsertClient :exec
INSERT INTO clients (salon_id, yclients_id, name, phone) VALUES (@salon_id, @yclients_id, @name, @phone)
ON CONFLICT (salon_id, yclients_id) DO UPDATE SET name = EXCLUDED.name, phone = EXCLUDED.phone, updated_at = now();

-- name: CountInboxByState :one
SELECT count(*) FROM webhook_inbox WHERE salon_id = @salon_id AND state = @state;

-- name: ListMessages :many
SELECT * FROM messages WHERE salon_id = @salon_id ORDER BY id;

-- name: GetSendBudget :one
SELECT next_slot_at FROM send_budget WHERE salon_id = @salon_id;
