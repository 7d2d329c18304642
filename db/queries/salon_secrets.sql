-- name: UpsertWebhookSecret :exec
INSERT INTO salon_secrets (salon_id, webhook_secret_hash)
VALUES (@salon_id, @webhook_secret_hash)
ON CONFLICT (salon_id) DO UPDATE SET
    webhook_secret_hash = EXCLUDED.webhook_secret_hash,
    updated_at          = now();

-- name: SetAPIKey :exec
INSERT INTO salon_secrets (salon_id, api_key_enc)
VALUES (@salon_id, @api_key_enc)
ON CONFLICT (salon_id) DO UPDATE SET
    api_key_enc = EXCLUDED.api_key_enc,
    updated_at  = now();

-- name: GetSalonSecrets :one
SELECT * FROM salon_secrets
WHERE salon_id = @salon_id;

-- name: DeleteSalonSecrets :exec
DELETE FROM salon_secrets
WHERE salon_id = @salon_id;

-- name: ClaimActivationSecrets :execrows
-- ClaimActivationSecrets stores the secrets made for the activation activation_key unless the
-- salon's row already holds secrets made for that key (then nothing changes: 0 rows, and the
-- caller reads and reuses those). Concurrent claims for one key keep the first one's secrets.
INSERT INTO salon_secrets (salon_id, webhook_secret_hash, api_key_enc, webhook_secret_enc, activation_key)
VALUES (@salon_id, @webhook_secret_hash, @api_key_enc, @webhook_secret_enc, @activation_key)
ON CONFLICT (salon_id) DO UPDATE SET
    webhook_secret_hash = EXCLUDED.webhook_secret_hash,
    api_key_enc         = EXCLUDED.api_key_enc,
    webhook_secret_enc  = EXCLUDED.webhook_secret_enc,
    activation_key      = EXCLUDED.activation_key,
    updated_at          = now()
WHERE salon_secrets.activation_key IS DISTINCT FROM EXCLUDED.activation_key
   OR salon_secrets.webhook_secret_enc IS NULL
   OR salon_secrets.api_key_enc IS NULL;
