-- +goose Up

-- whatsapp_devices maps a salon to its linked WhatsApp companion device. The device's keys
-- live in whatsmeow's own session database (see activities/whatsapp/wameow); this row holds
-- only the full device JID (user:device@server, never a bare number: several companion
-- devices can exist for one number) and the last known link state for status pages and ops.
CREATE TABLE whatsapp_devices (
    salon_id     bigint      PRIMARY KEY,
    device_jid   text        NOT NULL UNIQUE,
    phone        text        NOT NULL DEFAULT '',
    push_name    text        NOT NULL DEFAULT '',
    state        text        NOT NULL DEFAULT 'connecting',
    state_reason text        NOT NULL DEFAULT '',
    state_until  timestamptz NULL,
    linked_at    timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down

DROP TABLE whatsapp_devices;
