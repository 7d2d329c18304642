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
