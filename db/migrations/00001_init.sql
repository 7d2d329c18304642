-- +goose Up

-- companies: one row per salon that installed the integration.
CREATE TABLE companies (
    id                    bigserial   PRIMARY KEY,
    salon_id              bigint      NOT NULL UNIQUE,
    title                 text        NOT NULL DEFAULT '',
    phone                 text        NOT NULL DEFAULT '',
    email                 text        NOT NULL DEFAULT '',
    address               text        NOT NULL DEFAULT '',
    timezone              text        NOT NULL DEFAULT 'Europe/Moscow',
    install_status        text        NOT NULL DEFAULT 'pending_whatsapp',
    install_reason        text        NOT NULL DEFAULT '',
    whatsapp_phone        text        NULL,
    whatsapp_name         text        NULL,
    whatsapp_connected_at timestamptz NULL,
    activated_at          timestamptz NULL,
    frozen_at             timestamptz NULL,
    uninstalled_at        timestamptz NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX companies_install_status_idx ON companies (install_status);

-- services, staff and schedules mirror YClients; rows missing from the latest
-- sync are deactivated rather than deleted so history keeps its references.
CREATE TABLE services (
    id               bigserial     PRIMARY KEY,
    salon_id         bigint        NOT NULL,
    yclients_id      bigint        NOT NULL,
    title            text          NOT NULL DEFAULT '',
    category_id      bigint        NOT NULL DEFAULT 0,
    price_min        numeric(12,2) NOT NULL DEFAULT 0,
    price_max        numeric(12,2) NOT NULL DEFAULT 0,
    duration_seconds integer       NOT NULL DEFAULT 0,
    active           boolean       NOT NULL DEFAULT true,
    synced_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    UNIQUE (salon_id, yclients_id)
);

CREATE TABLE staff (
    id             bigserial   PRIMARY KEY,
    salon_id       bigint      NOT NULL,
    yclients_id    bigint      NOT NULL,
    name           text        NOT NULL DEFAULT '',
    specialization text        NOT NULL DEFAULT '',
    position       text        NOT NULL DEFAULT '',
    fired          boolean     NOT NULL DEFAULT false,
    hidden         boolean     NOT NULL DEFAULT false,
    active         boolean     NOT NULL DEFAULT true,
    synced_at      timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (salon_id, yclients_id)
);

CREATE TABLE schedules (
    id                bigserial   PRIMARY KEY,
    salon_id          bigint      NOT NULL,
    staff_yclients_id bigint      NOT NULL,
    date              date        NOT NULL,
    is_working        boolean     NOT NULL DEFAULT false,
    slots             jsonb       NOT NULL DEFAULT '[]',
    active            boolean     NOT NULL DEFAULT true,
    synced_at         timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (salon_id, staff_yclients_id, date)
);

CREATE INDEX schedules_salon_date_idx ON schedules (salon_id, date);

CREATE TABLE sync_runs (
    id                bigserial   PRIMARY KEY,
    salon_id          bigint      NOT NULL,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz NULL,
    services_count    integer     NOT NULL DEFAULT 0,
    staff_count       integer     NOT NULL DEFAULT 0,
    schedules_count   integer     NOT NULL DEFAULT 0,
    deactivated_count integer     NOT NULL DEFAULT 0,
    error             text        NOT NULL DEFAULT ''
);

CREATE INDEX sync_runs_salon_id_idx ON sync_runs (salon_id, id DESC);

-- salon_secrets holds only a hash of the webhook URL secret and the
-- AES-GCM-sealed YClients API key; plaintext never reaches the database.
CREATE TABLE salon_secrets (
    salon_id            bigint      PRIMARY KEY,
    webhook_secret_hash bytea       NULL,
    api_key_enc         bytea       NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- webhook_inbox stores raw webhook deliveries before any parsing so that a
-- bug in processing never loses an event.
CREATE TABLE webhook_inbox (
    id           bigserial   PRIMARY KEY,
    salon_id     bigint      NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    headers      jsonb       NOT NULL DEFAULT '{}',
    body         bytea       NOT NULL,
    resource     text        NOT NULL DEFAULT '',
    resource_id  bigint      NOT NULL DEFAULT 0,
    event_status text        NOT NULL DEFAULT '',
    state        text        NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'processed', 'ignored', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT '',
    processed_at timestamptz NULL
);

CREATE INDEX webhook_inbox_state_id_idx ON webhook_inbox (state, id);

-- messages is the send ledger: the unique key makes "send a reminder for this
-- visit" idempotent, and wa_message_id is chosen before the send so a retry
-- after a crash reuses it.
CREATE TABLE messages (
    id            bigserial   PRIMARY KEY,
    salon_id      bigint      NOT NULL,
    record_id     bigint      NOT NULL DEFAULT 0,
    kind          text        NOT NULL,
    visit_time    timestamptz NOT NULL DEFAULT 'epoch',
    phone         text        NOT NULL DEFAULT '',
    wa_message_id text        NOT NULL,
    status        text        NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sent', 'skipped', 'failed')),
    reason        text        NOT NULL DEFAULT '',
    body          text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz NULL,
    UNIQUE (salon_id, record_id, kind, visit_time)
);

CREATE INDEX messages_salon_sent_idx ON messages (salon_id, sent_at DESC) WHERE status = 'sent';
CREATE INDEX messages_wa_message_id_idx ON messages (wa_message_id);

-- pairing_events carries encrypted QR/pairing codes from the worker to the
-- connect page; rows are short-lived and swept by expires_at.
CREATE TABLE pairing_events (
    id          bigserial   PRIMARY KEY,
    salon_id    bigint      NOT NULL,
    attempt     text        NOT NULL DEFAULT '',
    kind        text        NOT NULL
                CHECK (kind IN ('qr', 'code', 'success', 'timeout', 'error')),
    payload_enc bytea       NULL,
    expires_at  timestamptz NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX pairing_events_salon_id_idx ON pairing_events (salon_id, id);
CREATE INDEX pairing_events_expires_at_idx ON pairing_events (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE ops_alerts (
    id         bigserial   PRIMARY KEY,
    salon_id   bigint      NULL,
    level      text        NOT NULL,
    kind       text        NOT NULL,
    message    text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ops_alerts_salon_created_idx ON ops_alerts (salon_id, created_at DESC);

-- +goose Down
DROP TABLE ops_alerts;
DROP TABLE pairing_events;
DROP TABLE messages;
DROP TABLE webhook_inbox;
DROP TABLE salon_secrets;
DROP TABLE sync_runs;
DROP TABLE schedules;
DROP TABLE staff;
DROP TABLE services;
DROP TABLE companies;
