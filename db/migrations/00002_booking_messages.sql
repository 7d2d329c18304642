-- +goose Up

-- salon_settings: per-salon sending policy and text overrides; a salon without a row uses
-- the defaults below.
CREATE TABLE salon_settings (
    salon_id              bigint      PRIMARY KEY,
    reminder_day_hour     integer     NOT NULL DEFAULT 18 CHECK (reminder_day_hour BETWEEN 0 AND 23),
    quiet_from_minute     integer     NOT NULL DEFAULT 1260 CHECK (quiet_from_minute BETWEEN 0 AND 1439), -- 21:00
    quiet_to_minute       integer     NOT NULL DEFAULT 540  CHECK (quiet_to_minute BETWEEN 0 AND 1439),   -- 09:00
    per_minute            integer     NOT NULL DEFAULT 6 CHECK (per_minute >= 0),   -- 0: no pacing
    daily_cap             integer     NOT NULL DEFAULT 300 CHECK (daily_cap >= 0),  -- 0: no cap
    client_welcome        boolean     NOT NULL DEFAULT false,
    templates             jsonb       NOT NULL DEFAULT '{}',
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- send_budget: per-salon pacing state; next_slot_at is the earliest moment the next
-- message may go out.
CREATE TABLE send_budget (
    salon_id     bigint      PRIMARY KEY,
    next_slot_at timestamptz NOT NULL
);

-- opt_outs: clients who wrote «стоп» to a salon's number.
CREATE TABLE opt_outs (
    salon_id   bigint      NOT NULL,
    phone      text        NOT NULL,
    text       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (salon_id, phone)
);

-- clients: YClients clients seen through `client` webhooks.
CREATE TABLE clients (
    salon_id    bigint      NOT NULL,
    yclients_id bigint      NOT NULL,
    name        text        NOT NULL DEFAULT '',
    phone       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (salon_id, yclients_id)
);

ALTER TABLE messages ADD COLUMN scheduled_at timestamptz NULL;

-- +goose Down
ALTER TABLE messages DROP COLUMN scheduled_at;
DROP TABLE clients;
DROP TABLE opt_outs;
DROP TABLE send_budget;
DROP TABLE salon_settings;
