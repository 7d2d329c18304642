package activities

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// RegisterSalon reads the salon from YClients and upserts the company.
func (a *Activities) RegisterSalon(ctx context.Context, in SalonRef) (RegisterOutput, error) {
	c, err := a.YClients.Company(ctx, in.SalonID)
	if err != nil {
		return RegisterOutput{}, classify(err)
	}
	tz := c.Timezone
	if tz == "" {
		tz = "Europe/Moscow"
	}
	if _, err := a.Store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{
		SalonID: in.SalonID, Title: c.Title, Phone: c.Phone, Email: c.Email, Address: c.Address, Timezone: tz,
	}); err != nil {
		return RegisterOutput{}, fmt.Errorf("upsert company: %w", err)
	}
	return RegisterOutput{Title: c.Title, Timezone: tz}, nil
}

// SetStatus records the installation status (and the linked number) in the companies table.
// A salon that was never registered (unknown in YClients) has no row: nothing to record.
func (a *Activities) SetStatus(ctx context.Context, in SetStatusInput) error {
	return a.Store.InTx(ctx, func(q *sqlc.Queries) error {
		_, err := q.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{
			SalonID: in.SalonID, InstallStatus: in.Status, InstallReason: in.Reason,
		})
		if errors.Is(db.NotFound(err), db.ErrNotFound) {
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
func (a *Activities) Activate(ctx context.Context, in SalonRef) (ActivateOutput, error) {
	st, err := a.YClients.IntegrationStatus(ctx, in.SalonID)
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
	sealed, err := a.Box.Seal([]byte(apiKey), apiKeyAAD(in.SalonID))
	if err != nil {
		return ActivateOutput{}, fmt.Errorf("seal api key: %w", err)
	}
	hash := sha256.Sum256([]byte(secret))
	if err := a.Store.InTx(ctx, func(q *sqlc.Queries) error {
		if err := q.UpsertWebhookSecret(ctx, sqlc.UpsertWebhookSecretParams{SalonID: in.SalonID, WebhookSecretHash: hash[:]}); err != nil {
			return err
		}
		return q.SetAPIKey(ctx, sqlc.SetAPIKeyParams{SalonID: in.SalonID, APIKeyEnc: sealed})
	}); err != nil {
		return ActivateOutput{}, fmt.Errorf("store salon secrets: %w", err)
	}
	res, err := a.YClients.ActivationCallback(ctx, yclients.CallbackRequest{
		SalonID: in.SalonID, APIKey: apiKey, WebhookURLs: []string{a.WebhookURL(in.SalonID, secret)},
	})
	if yclients.IsAlreadyInstalled(err) {
		st, serr := a.YClients.IntegrationStatus(ctx, in.SalonID)
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
	a.log().InfoContext(ctx, "integration activated", "salonID", in.SalonID, "status", res.StatusCode)
	return ActivateOutput{RedirectURL: res.Location}, nil
}

// WebhookURL is the entity webhook URL registered for a salon. The secret part makes it
// unguessable; callers must not log it.
func (a *Activities) WebhookURL(salonID int64, secret string) string {
	return fmt.Sprintf("%s/webhook/yclients/%d/%s", strings.TrimRight(a.PublicURL, "/"), salonID, secret)
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
// (404) reads as "uninstalled".
func (a *Activities) IntegrationStatus(ctx context.Context, in SalonRef) (IntegrationStatusOutput, error) {
	st, err := a.YClients.IntegrationStatus(ctx, in.SalonID)
	if yclients.IsNotFound(err) {
		return IntegrationStatusOutput{Status: "uninstalled"}, nil
	}
	if err != nil {
		return IntegrationStatusOutput{}, classify(err)
	}
	return IntegrationStatusOutput{Status: st.Status}, nil
}

// DeleteSecrets removes the salon's api_key and webhook secret (uninstall).
func (a *Activities) DeleteSecrets(ctx context.Context, in SalonRef) error {
	return a.Store.DeleteSalonSecrets(ctx, in.SalonID)
}

// NotifyOps raises an operator alert.
func (a *Activities) NotifyOps(ctx context.Context, in NotifyInput) error {
	return a.Notifier.Notify(ctx, in)
}

// NotifyRelink sends the owner a signed re-link link (valid RelinkTTL) through the owner
// channel. The link is made here, never in workflow history.
func (a *Activities) NotifyRelink(ctx context.Context, in SalonRef) error {
	if a.RelinkURL == nil {
		return errors.New("no re-link link signer configured")
	}
	url, err := a.RelinkURL(in.SalonID)
	if err != nil {
		return err
	}
	return a.Notifier.NotifyOwner(ctx, OwnerNotice{SalonID: in.SalonID, Kind: "relink",
		Message: "WhatsApp салона отвязан от AI Admin, и клиенты сейчас не получают сообщений. " +
			"Откройте ссылку в течение 24 часов и отсканируйте QR-код телефоном салона.",
		URL: url})
}
