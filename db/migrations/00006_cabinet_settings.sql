-- +goose Up

-- The salon owner's cabinet settings: which messages go out, when the second reminder does,
-- the review request and its link, and confirmation by reply. A salon without a row, or a
-- column of a row written before, uses these defaults (GetSalonSettings repeats them for
-- salons without a row). The safe bounds the cabinet allows are checked here too.
ALTER TABLE salon_settings
    ADD COLUMN send_confirmation     boolean NOT NULL DEFAULT true,
    ADD COLUMN send_change           boolean NOT NULL DEFAULT true,
    ADD COLUMN send_cancellation     boolean NOT NULL DEFAULT true,
    ADD COLUMN send_reminder_day     boolean NOT NULL DEFAULT true,
    ADD COLUMN send_reminder_before  boolean NOT NULL DEFAULT true,
    ADD COLUMN reminder_hours_before integer NOT NULL DEFAULT 2 CHECK (reminder_hours_before BETWEEN 1 AND 24),
    ADD COLUMN review_requests       boolean NOT NULL DEFAULT false,
    ADD COLUMN review_delay_minutes  integer NOT NULL DEFAULT 180 CHECK (review_delay_minutes BETWEEN 30 AND 10080),
    ADD COLUMN review_url            text    NOT NULL DEFAULT '' CHECK (review_url = '' OR review_url LIKE 'https://%'),
    ADD COLUMN confirm_by_reply      boolean NOT NULL DEFAULT true,
    ADD COLUMN confirm_on_booking    boolean NOT NULL DEFAULT false,
    -- decline_cancels: a client's «2» cancels the visit in YClients instead of only telling
    -- the salon.
    ADD COLUMN decline_cancels       boolean NOT NULL DEFAULT false;

-- The cabinet's message log: a salon's newest messages first.
CREATE INDEX messages_salon_id_idx ON messages (salon_id, id DESC);

-- +goose Down
DROP INDEX messages_salon_id_idx;
ALTER TABLE salon_settings
    DROP COLUMN send_confirmation,
    DROP COLUMN send_change,
    DROP COLUMN send_cancellation,
    DROP COLUMN send_reminder_day,
    DROP COLUMN send_reminder_before,
    DROP COLUMN reminder_hours_before,
    DROP COLUMN review_requests,
    DROP COLUMN review_delay_minutes,
    DROP COLUMN review_url,
    DROP COLUMN confirm_by_reply,
    DROP COLUMN confirm_on_booking,
    DROP COLUMN decline_cancels;
