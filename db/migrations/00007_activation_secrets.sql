-- +goose Up

-- The secrets of an activation are made once per installation run and reused by every retry
-- of the activation callback: a retry whose first attempt YClients accepted late must send
-- (and keep) the webhook URL that YClients holds. activation_key names the run they were made
-- for; the webhook URL secret is kept sealed (AES-GCM, like the api key) so that a retry can
-- send it again, and webhook_secret_hash stays what the webhook check compares.
ALTER TABLE salon_secrets
    ADD COLUMN activation_key     text  NULL,
    ADD COLUMN webhook_secret_enc bytea NULL;

-- +goose Down

ALTER TABLE salon_secrets
    DROP COLUMN webhook_secret_enc,
    DROP COLUMN activation_key;
