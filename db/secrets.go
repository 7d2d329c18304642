package db

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
)

// VerifyWebhookSecret compares a salon's webhook URL secret with the stored SHA-256 hash, in
// constant time. An unknown salon, an uninstalled one and an empty secret never verify.
func (s *Store) VerifyWebhookSecret(ctx context.Context, salonID int64, secret string) (bool, error) {
	if secret == "" {
		return false, nil
	}
	row, err := s.GetSalonSecrets(ctx, salonID)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256([]byte(secret))
	return len(row.WebhookSecretHash) == len(sum) && subtle.ConstantTimeCompare(sum[:], row.WebhookSecretHash) == 1, nil
}
