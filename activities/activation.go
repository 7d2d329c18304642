package activities

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// activationSecret is what one installation run sends YClients in its activation callback.
type activationSecret struct {
	apiKey  string
	webhook string // the entity webhook URL's secret part
	reused  bool   // made by an earlier attempt of the run
}

// activationKey names the installation run whose secrets an activation uses: its InstallID,
// or for a workflow from before ActivateInput carried one, its run (retries of the activity
// share it).
func activationKey(ctx context.Context, in ActivateInput) string {
	if in.InstallID != "" {
		return in.InstallID
	}
	if activity.IsActivity(ctx) {
		return "run:" + activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	return ""
}

// activationSecrets returns the api_key and webhook secret of the activation key: made and
// stored (the api key and the secret sealed, the secret's hash for the webhook check) by the
// first attempt, read back by every later one. So whichever attempt's callback YClients
// accepts, late or not, the stored hash verifies the URL it holds.
func (a *Install) activationSecrets(ctx context.Context, salonID int64, key string) (activationSecret, error) {
	if key == "" {
		return activationSecret{}, errors.New("activation: no installation run to make the secrets for")
	}
	fresh, err := newActivationSecret()
	if err != nil {
		return activationSecret{}, err
	}
	sealedKey, err := a.box.Seal([]byte(fresh.apiKey), apiKeyAAD(salonID))
	if err != nil {
		return activationSecret{}, fmt.Errorf("seal api key: %w", err)
	}
	sealedSecret, err := a.box.Seal([]byte(fresh.webhook), webhookSecretAAD(salonID))
	if err != nil {
		return activationSecret{}, fmt.Errorf("seal webhook secret: %w", err)
	}
	hash := sha256.Sum256([]byte(fresh.webhook))
	n, err := a.store.ClaimActivationSecrets(ctx, sqlc.ClaimActivationSecretsParams{SalonID: salonID,
		WebhookSecretHash: hash[:], APIKeyEnc: sealedKey, WebhookSecretEnc: sealedSecret, ActivationKey: &key})
	if err != nil {
		return activationSecret{}, fmt.Errorf("store salon secrets: %w", err)
	}
	if n == 1 {
		return fresh, nil
	}
	return a.storedSecrets(ctx, salonID)
}

// storedSecrets opens the secrets an earlier attempt of the run stored.
func (a *Install) storedSecrets(ctx context.Context, salonID int64) (activationSecret, error) {
	row, err := a.store.GetSalonSecrets(ctx, salonID)
	if err != nil {
		return activationSecret{}, fmt.Errorf("read salon secrets: %w", err)
	}
	apiKey, err := a.box.Open(row.APIKeyEnc, apiKeyAAD(salonID))
	if err != nil {
		return activationSecret{}, fmt.Errorf("open api key: %w", err)
	}
	secret, err := a.box.Open(row.WebhookSecretEnc, webhookSecretAAD(salonID))
	if err != nil {
		return activationSecret{}, fmt.Errorf("open webhook secret: %w", err)
	}
	return activationSecret{apiKey: string(apiKey), webhook: string(secret), reused: true}, nil
}

// secretsStored reports whether the salon has a webhook secret stored, of any installation run.
func (a *Install) secretsStored(ctx context.Context, salonID int64) (bool, error) {
	row, err := a.store.GetSalonSecrets(ctx, salonID)
	switch {
	case db.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read salon secrets: %w", err)
	}
	return len(row.WebhookSecretHash) > 0, nil
}

// alreadyActive answers an activation YClients reports done. The webhook secret stored is the
// one every callback of this run carried; when none is stored at all (YClients active for an
// installation whose secrets were deleted), entity webhooks cannot be verified.
func (a *Install) alreadyActive(ctx context.Context, salonID int64) (ActivateOutput, error) {
	held, err := a.secretsStored(ctx, salonID)
	if err != nil {
		return ActivateOutput{}, err
	}
	if !held {
		return a.activeWithoutOurSecret(ctx, salonID), nil
	}
	return ActivateOutput{AlreadyActive: true}, nil
}

// activeWithoutOurSecret answers an activation YClients reports done with a webhook URL whose
// secret we do not hold: the output says so, for the workflow to alert operators.
func (a *Install) activeWithoutOurSecret(ctx context.Context, salonID int64) ActivateOutput {
	a.log.ErrorContext(ctx, "integration active in YClients with a webhook secret we do not hold", "salonID", salonID)
	return ActivateOutput{AlreadyActive: true, NoWebhookSecret: true}
}

func newActivationSecret() (activationSecret, error) {
	apiKey, err := randomToken(32, hex.EncodeToString)
	if err != nil {
		return activationSecret{}, err
	}
	secret, err := randomToken(24, base64.RawURLEncoding.EncodeToString)
	if err != nil {
		return activationSecret{}, err
	}
	return activationSecret{apiKey: apiKey, webhook: secret}, nil
}

func apiKeyAAD(salonID int64) []byte { return []byte(fmt.Sprintf("api_key:%d", salonID)) }

func webhookSecretAAD(salonID int64) []byte { return []byte(fmt.Sprintf("webhook_secret:%d", salonID)) }

func randomToken(n int, enc func([]byte) string) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return enc(b), nil
}
