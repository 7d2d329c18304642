package activities

import (
	"context"
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
// The owner is waiting on the register page: its YClients request goes first, and none is
// made when the page has just read the salon (in.Known): in a wave of owners every YClients
// request waits its turn in the cluster's budget.
func (a *Install) RegisterSalon(ctx context.Context, in SalonRef) (RegisterOutput, error) {
	c, err := a.company(ctx, in)
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

// company is the salon as the register page read it, or as YClients returns it now.
func (a *Install) company(ctx context.Context, in SalonRef) (yclients.Company, error) {
	if k := in.Known; k != nil && k.Title != "" {
		return yclients.Company{ID: in.SalonID, Title: k.Title, Phone: k.Phone, Email: k.Email, Address: k.Address,
			Timezone: k.Timezone}, nil
	}
	return a.yc.Company(yclients.Urgent(ctx), in.SalonID)
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

// Activate tells YClients that the integration is installed. When the salon has secrets
// stored (a retry of this run, or an earlier run's), it checks the integration status first
// (already active → done, the stored secrets are the ones YClients holds); a salon with none
// cannot be active with a webhook URL of ours, and a wave of installations would spend a
// fifth of its YClients calls on that read, so it calls back at once. It takes the secrets of
// this installation run (made once, here and never in workflow history, and reused by every
// retry: activationSecrets) and calls the activation callback. A 403 «already installed» is
// confirmed by the status: YClients accepted one of this run's callbacks, which all carried
// the same webhook URL — unless this attempt made the secrets, when the URL YClients holds is
// none of ours (NoWebhookSecret). It heartbeats while it waits on YClients, so that a
// cancellation (deadline, freeze, uninstall) reaches it.
func (a *Install) Activate(ctx context.Context, in ActivateInput) (ActivateOutput, error) {
	defer keepAlive(ctx)()
	ctx = yclients.Urgent(ctx) // the owner's page waits for the activation: its requests go first
	held, err := a.secretsStored(ctx, in.SalonID)
	if err != nil {
		return ActivateOutput{}, err
	}
	if held {
		st, err := a.yc.IntegrationStatus(ctx, in.SalonID)
		if err != nil && !yclients.IsNotFound(err) {
			return ActivateOutput{}, classify(err)
		}
		if err == nil && st.Status == "active" {
			return a.alreadyActive(ctx, in.SalonID)
		}
	}
	sec, err := a.activationSecrets(ctx, in.SalonID, activationKey(ctx, in))
	if err != nil {
		return ActivateOutput{}, err
	}
	res, err := a.yc.ActivationCallback(ctx, yclients.CallbackRequest{
		SalonID: in.SalonID, APIKey: sec.apiKey, WebhookURLs: []string{a.WebhookURL(in.SalonID, sec.webhook)},
	})
	if yclients.IsAlreadyInstalled(err) {
		st, serr := a.yc.IntegrationStatus(ctx, in.SalonID)
		if serr != nil {
			return ActivateOutput{}, classify(serr)
		}
		switch {
		case st.Status == "active" && !sec.reused:
			// This attempt made the secrets, so no callback of this run carried them: the
			// webhook URL YClients holds is not one we can verify.
			return a.activeWithoutOurSecret(ctx, in.SalonID), nil
		case st.Status == "active":
			return a.alreadyActive(ctx, in.SalonID)
		}
		return ActivateOutput{}, fmt.Errorf("yclients says already installed but status is %q", st.Status)
	}
	if err != nil {
		return ActivateOutput{}, classify(err)
	}
	a.log.InfoContext(ctx, "integration activated", "salonID", in.SalonID, "status", res.StatusCode, "reused", sec.reused)
	return ActivateOutput{RedirectURL: res.Location}, nil
}

// WebhookURL is the entity webhook URL registered for a salon. The secret part makes it
// unguessable; callers must not log it.
func (a *Install) WebhookURL(salonID int64, secret string) string {
	return fmt.Sprintf("%s/webhook/yclients/%d/%s", strings.TrimRight(a.publicURL, "/"), salonID, secret)
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
