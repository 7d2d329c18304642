package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/inbox"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
	"github.com/aiadmin/aiadmin/workflows"
)

// pairingFeed adapts the activities' PairingFeed to the HTTP layer's interface.
type pairingFeed struct{ feed *activities.PairingFeed }

func (p pairingFeed) Since(ctx context.Context, salonID, afterID int64) ([]httpapi.PairingItem, error) {
	items, err := p.feed.Since(ctx, salonID, afterID)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.PairingItem, len(items))
	for i, it := range items {
		out[i] = httpapi.PairingItem{ID: it.ID, Attempt: it.Attempt, Kind: it.Kind, Code: it.Code,
			ExpiresAt: it.ExpiresAt, Message: it.Message}
	}
	return out, nil
}

// healthSource reads an installation's health from the database, YClients and, in a process
// that owns WhatsApp connections, the live link.
type healthSource struct {
	store    *db.Store
	yclients activities.YClients
	whatsapp whatsapp.Client // nil in an api-only process
}

func (h healthSource) Health(ctx context.Context, salonID int64) (httpapi.Health, error) {
	c, err := h.store.GetCompany(ctx, salonID)
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return httpapi.Health{}, fmt.Errorf("salon %d: %w", salonID, httpapi.ErrUnknownSalon)
	}
	if err != nil {
		return httpapi.Health{}, err
	}
	out := httpapi.Health{SalonID: salonID, Status: c.InstallStatus, RecentErrors: []httpapi.HealthError{}}
	if c.WhatsappPhone != nil && *c.WhatsappPhone != "" {
		out.PhoneLinked, out.Phone = true, *c.WhatsappPhone
	}
	if h.whatsapp != nil {
		if st, err := h.whatsapp.Status(ctx, salonID); err == nil {
			out.WhatsAppState = string(st.State)
			out.PhoneLinked = st.State != whatsapp.StateUnlinked && st.State != whatsapp.StateLoggedOut
		}
	}
	yctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := h.yclients.IntegrationStatus(yctx, salonID); err == nil {
		out.YClientsReachable = true
	} else {
		out.RecentErrors = append(out.RecentErrors, httpapi.HealthError{At: time.Now().UTC(), Kind: "yclients", Message: err.Error()})
	}
	if run, err := h.store.LastSyncRun(ctx, salonID); err == nil {
		out.LastSyncAt = run.FinishedAt
		if run.Error != "" {
			out.RecentErrors = append(out.RecentErrors, httpapi.HealthError{At: run.StartedAt, Kind: "sync", Message: run.Error})
		}
	}
	if m, err := h.store.LastSentMessage(ctx, salonID); err == nil {
		out.LastMessageAt = m.SentAt
	}
	out.Budget = h.budget(ctx, salonID)
	alerts, err := h.store.ListOpsAlerts(ctx, listAlerts(salonID))
	if err == nil {
		for _, a := range alerts {
			if a.Level == "info" {
				continue
			}
			out.RecentErrors = append(out.RecentErrors, httpapi.HealthError{At: a.CreatedAt, Kind: a.Kind, Message: a.Message})
		}
	}
	return out, nil
}

func listAlerts(salonID int64) sqlc.ListOpsAlertsParams {
	return sqlc.ListOpsAlertsParams{SalonID: &salonID, MaxRows: 10}
}

// entityInbox adapts the inbox intake to the HTTP layer.
type entityInbox struct{ intake *inbox.Intake }

func (e entityInbox) VerifySecret(ctx context.Context, salonID int64, secret string) (bool, error) {
	return e.intake.VerifySecret(ctx, salonID, secret)
}

func (e entityInbox) Save(ctx context.Context, salonID int64, headers map[string]string, body []byte) (int64, error) {
	id, err := e.intake.Save(ctx, salonID, headers, body)
	if errors.Is(err, inbox.ErrMalformed) {
		return 0, fmt.Errorf("%w: %v", httpapi.ErrMalformedWebhook, err)
	}
	return id, err
}

// linkForwarder tells installation workflows about WhatsApp link changes reported by the
// connections this process owns (logged out on the phone, bans, restrictions, ...).
type linkForwarder struct {
	temporal client.Client
	logger   *slog.Logger
}

func (f linkForwarder) forward(salonID int64, st whatsapp.Status) {
	switch st.State {
	case whatsapp.StatePairing, whatsapp.StateUnlinked, whatsapp.StateConnecting:
		return // the installation workflow drives these itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := f.temporal.SignalWorkflow(ctx, workflows.InstallationID(salonID), "", workflows.SignalLinkState,
		workflows.LinkEvent{State: string(st.State), Reason: st.Reason, Until: st.Until})
	if err != nil {
		f.logger.Warn("link state not delivered to the installation", "salonID", salonID, "state", st.State, "err", err)
	}
}

// budget reports the salon's sending policy and today's use of it.
func (h healthSource) budget(ctx context.Context, salonID int64) *httpapi.SendBudget {
	p, err := h.store.GetSalonSettings(ctx, salonID)
	if err != nil {
		return nil
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		loc = time.UTC
	}
	now := time.Now().In(loc)
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	b := &httpapi.SendBudget{PerMinute: int(p.PerMinute), DailyCap: int(p.DailyCap), Timezone: p.Timezone,
		Quiet: fmt.Sprintf("%02d:%02d-%02d:%02d", p.QuietFromMinute/60, p.QuietFromMinute%60, p.QuietToMinute/60, p.QuietToMinute%60)}
	if n, err := h.store.CountSentSince(ctx, sqlc.CountSentSinceParams{SalonID: salonID, Since: &dayStart}); err == nil {
		b.SentToday = n
	}
	if next, err := h.store.GetSendBudget(ctx, salonID); err == nil && next.After(time.Now()) {
		b.NextSlotAt = &next
	}
	return b
}
