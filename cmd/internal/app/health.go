package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// healthSource reads an installation's health from the database, YClients and, in a process
// that owns WhatsApp connections, the live link.
type healthSource struct {
	store    *db.Store
	yclients *reachProbe
	whatsapp whatsapp.Client // nil in an api-only process
}

// Health implements httpapi.HealthSource.
func (h healthSource) Health(ctx context.Context, salonID int64) (httpapi.Health, error) {
	c, err := h.store.GetCompany(ctx, salonID)
	if db.IsNotFound(err) {
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
	if at, err := h.yclients.reachable(ctx, salonID); err == nil {
		out.YClientsReachable = true
	} else {
		out.RecentErrors = append(out.RecentErrors, httpapi.HealthError{At: at.UTC(), Kind: "yclients", Message: err.Error()})
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
	out.Inbox = inboxHealth(ctx, h.store, salonID)
	out.Paused = pausedHealth(ctx, h.store, salonID)
	out.Dispatcher = dispatcherHealth(ctx, h.store)
	alerts, err := h.store.ListOpsAlerts(ctx, sqlc.ListOpsAlertsParams{SalonID: &salonID, MaxRows: 10})
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

// budget reports the salon's sending policy and today's use of it.
func (h healthSource) budget(ctx context.Context, salonID int64) *httpapi.SendBudget {
	p, err := h.store.GetSalonSettings(ctx, salonID)
	if err != nil {
		return nil
	}
	loc, _ := salontime.Location(p.Timezone) // an unknown zone is reported by the activities
	dayStart := salontime.DayStart(time.Now(), loc)
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

// inboxHealth reports the salon's webhooks that are not handed on; nil when unreadable.
func inboxHealth(ctx context.Context, store *db.Store, salonID int64) *httpapi.InboxHealth {
	counts, err := store.InboxHealth(ctx, salonID)
	if err != nil {
		return nil
	}
	out := &httpapi.InboxHealth{Pending: counts.Pending, Dead: counts.Dead}
	if counts.Pending > 0 {
		if at, err := store.OldestPendingInbox(ctx, salonID); err == nil {
			out.OldestPendingAt = &at
		}
	}
	return out
}

// pausedHealth counts the salon's messages waiting for it to be able to send; nil when
// unreadable.
func pausedHealth(ctx context.Context, store *db.Store, salonID int64) *httpapi.PausedHealth {
	n, err := store.CountPausedMessages(ctx, salonID)
	if err != nil {
		return nil
	}
	out := &httpapi.PausedHealth{Waiting: n.Waiting}
	if n.Waiting > 0 {
		since := time.Unix(int64(n.OldestUnix), 0).UTC()
		out.Since = &since
	}
	return out
}

// dispatcherHealth names the process that holds the dispatcher lock; nil when unreadable.
func dispatcherHealth(ctx context.Context, store *db.Store) *httpapi.DispatcherHealth {
	holders, err := dispatcher.Holders(ctx, store)
	if err != nil {
		return nil
	}
	out := &httpapi.DispatcherHealth{Holders: len(holders)}
	if len(holders) > 0 {
		out.Owner, out.Since = holders[0].Name, &holders[0].Since
	}
	return out
}

// reachFresh is how long the outcome of the process's last YClients call stands for YClients'
// reachability: a dashboard polling the health endpoint costs at most one YClients call a
// minute per process, not one per poll.
const reachFresh = time.Minute

// reachProbe tells whether YClients answers: the outcome of the client's last call when it is
// recent, otherwise one status call (one at a time), whose outcome then stands.
type reachProbe struct {
	yc *yclients.Client
	mu sync.Mutex
}

// reachable returns when YClients was last called and, if it did not answer, why.
func (p *reachProbe) reachable(ctx context.Context, salonID int64) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, err := p.yc.LastCall(); time.Since(at) < reachFresh {
		return at, err
	}
	yctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := p.yc.IntegrationStatus(yctx, salonID)
	if at, lastErr := p.yc.LastCall(); time.Since(at) < reachFresh {
		return at, lastErr // YClients answered (a 404 is an answer too), or did not
	}
	return time.Now(), err // the call never went (no slot before the deadline)
}
