-- +goose Up

-- pairing_events.session names the browser session (its token's ID) whose page asked for the
-- attempt: its QR and pairing codes go to that page alone. '' for attempts made before.
ALTER TABLE pairing_events ADD COLUMN session text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE pairing_events DROP COLUMN session;
