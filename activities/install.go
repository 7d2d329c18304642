package activities

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Install is the marketplace side of an installation: the salon's record, its YClients
// integration status, the activation callback and the salon's secrets.
type Install struct {
	store     *db.Store
	yc        YClients
	box       *secretbox.Box
	publicURL string
	log       *slog.Logger
	now       func() time.Time
}

// RegisterSalon reads the salon from YClients and upserts the company.
func (a *Install) RegisterSalon(ctx context.Context, in SalonRef) (RegisterOutput, error) {
	c, err := a.yc.Company(ctx, in.SalonID)
	if err != nil {
		return RegisterOutput{}, classify(err)
	}
	tz := c.Timezone
	if tz == "" {
		tz = salontime.Fallback
	}
	if _, err := a.store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{
		SalonID: in.SalonID, Title: c.Title, Phone: c.Phone, Email: c.Email, Address: c.Address, Timezone: tz,
	}); err != nil {
		return RegisterOutput{}, fmt.Errorf("upsert company: %w", err)
	}
	return RegisterOutput{Title: c.Title, Timezone: tz, Phone: c.Phone}, nil
}

// SetStatus records the installation status (and the linked number) in the companies table.
// A salon that was never registered (unknown in YClients) has no row: nothing to record.
func (a *Install) SetStatus(ctx context.Context, in SetStatusInput) error {
	return a.store.InTx(ctx, func(q *sqlc.Queries) error {
		_, err := q.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{
			SalonID: in.SalonID, InstallStatus: in.Status, InstallReason: in.Reason,
		})
		if db.IsNotFound(err) {
			return nil
		}
		if err != nil || !in.WhatsAppSet {
			return err
		}
		p := sqlc.SetCompanyWhatsAppParams{SalonID: in.SalonID}
		if in.WhatsAppPhone != "" {
			now := a.now()
			p.Phone, p.Name, p.ConnectedAt = &in.WhatsAppPhone, &in.WhatsAppName, &now
		}
		_, err = q.SetCompanyWhatsApp(ctx, p)
		return err
	})
}

// Activate tells YClients that the integration is installed. It checks the integration
// status first (already active → done), generates the api_key and the per-salon webhook
// secret here (never in workflow history), stores them (the key encrypted, the secret as a
// hash) and calls the activation callback once. A 403 «already installed» is confirmed by
// the status.
func (a *Install) Activate(ctx context.Context, in SalonRef) (ActivateOutput, error) {
	st, err := a.yc.IntegrationStatus(ctx, in.SalonID)
	if err != nil && !yclients.IsNotFound(err) {
		return ActivateOutput{}, classify(err)
	}
	if err == nil && st.Status == "active" {
		return ActivateOutput{AlreadyActive: true}, nil
	}
	apiKey, err := randomToken(32, hex.EncodeToString)
	if err != nil {
		return ActivateOutput{}, err
	}
	secret, err := randomToken(24, base64.RawURLEncoding.EncodeToString)
	if err != nil {
		return ActivateOutput{}, err
	}
	if err := a.storeSecrets(ctx, in.SalonID, apiKey, secret); err != nil {
		return ActivateOutput{}, err
	}
	res, err := a.yc.ActivationCallback(ctx, yclients.CallbackRequest{
		SalonID: in.SalonID, APIKey: apiKey, WebhookURLs: []string{a.WebhookURL(in.SalonID, secret)},
	})
	if yclients.IsAlreadyInstalled(err) {
		st, serr := a.yc.IntegrationStatus(ctx, in.SalonID)
		if serr != nil {
			return ActivateOutput{}, classify(serr)
		}
		if st.Status == "active" {
			return ActivateOutput{AlreadyActive: true}, nil
		}
		return ActivateOutput{}, fmt.Errorf("yclients says already installed but status is %q", st.Status)
	}
	if err != nil {
		return ActivateOutput{}, classify(err)
	}
	a.log.InfoContext(ctx, "integration activated", "salonID", in.SalonID, "status", res.StatusCode)
	return ActivateOutput{RedirectURL: res.Location}, nil
}

// storeSecrets keeps the api_key sealed and only a hash of the webhook URL secret.
func (a *Install) storeSecrets(ctx context.Context, salonID int64, apiKey, secret string) error {
	sealed, err := a.box.Seal([]byte(apiKey), apiKeyAAD(salonID))
	if err != nil {
		return fmt.Errorf("seal api key: %w", err)
	}
	hash := sha256.Sum256([]byte(secret))
	if err := a.store.InTx(ctx, func(q *sqlc.Queries) error {
		if err := q.UpsertWebhookSecret(ctx, sqlc.UpsertWebhookSecretParams{SalonID: salonID, WebhookSecretHash: hash[:]}); err != nil {
			return err
		}
		return q.SetAPIKey(ctx, sqlc.SetAPIKeyParams{SalonID: salonID, APIKeyEnc: sealed})
	}); err != nil {
		return fmt.Errorf("store salon secrets: %w", err)
	}
	return nil
}

// WebhookURL is the entity webhook URL registered for a salon. The secret part makes it
// unguessable; callers must not log it.
func (a *Install) WebhookURL(salonID int64, secret string) string {
	return fmt.Sprintf("%s/webhook/yclients/%d/%s", strings.TrimRight(a.publicURL, "/"), salonID, secret)
}

func apiKeyAAD(salonID int64) []byte { return []byte(fmt.Sprintf("api_key:%d", salonID)) }

func randomToken(n int, enc func([]byte) string) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return enc(b), nil
}

// IntegrationStatus reads the YClients integration status; an app no longer installed
// (404) reads as "uninstalled". It heartbeats while it waits on YClients, so that an
// uninstall cancels it within the heartbeat timeout.
func (a *Install) IntegrationStatus(ctx context.Context, in SalonRef) (IntegrationStatusOutput, error) {
	defer keepAlive(ctx)()
	st, err := a.yc.IntegrationStatus(ctx, in.SalonID)
	if yclients.IsNotFound(err) {
		return IntegrationStatusOutput{Status: "uninstalled"}, nil
	}
	if err != nil {
		return IntegrationStatusOutput{}, classify(err)
	}
	return IntegrationStatusOutput{Status: st.Status}, nil
}

// DeleteSecrets removes the salon's api_key and webhook secret (uninstall).
func (a *Install) DeleteSecrets(ctx context.Context, in SalonRef) error {
	return a.store.DeleteSalonSecrets(ctx, in.SalonID)
}
