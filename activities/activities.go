package activities

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

// YClients is what the activities need from the YClients API (*yclients.Client).
type YClients interface {
	Company(ctx context.Context, salonID int64) (yclients.Company, error)
	Services(ctx context.Context, salonID int64) ([]yclients.Service, error)
	Staff(ctx context.Context, salonID int64) ([]yclients.Staff, error)
	Schedules(ctx context.Context, salonID int64, from, to time.Time) ([]yclients.ScheduleDay, error)
	IntegrationStatus(ctx context.Context, salonID int64) (yclients.IntegrationStatus, error)
	ActivationCallback(ctx context.Context, req yclients.CallbackRequest) (yclients.CallbackResult, error)
}

// Notifier delivers operator alerts and owner notices.
type Notifier interface {
	Notify(ctx context.Context, in NotifyInput) error
	NotifyOwner(ctx context.Context, in OwnerNotice) error
}

// Activities holds the dependencies of every installation activity. Build it once per worker
// and register it with Register.
type Activities struct {
	Store    *db.Store
	YClients YClients
	// Records re-reads a record before a booking message goes out (usually the same
	// *yclients.Client as YClients); nil skips the check.
	Records  RecordReader
	WhatsApp whatsapp.Client
	Box      *secretbox.Box
	Notifier Notifier
	// PublicURL is where YClients reaches us, e.g. https://aiadmin.example.com; the entity
	// webhook URL passed at activation is built from it.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Temporal lists and signals workflows (resume after unfreeze or re-link).
	Temporal WorkflowSignaler
	// RelinkURL returns a signed connect-page URL, valid RelinkTTL, from which the owner
	// re-pairs the salon's phone without a new marketplace install.
	RelinkURL func(salonID int64) (string, error)
}

// RelinkTTL is how long a re-link link works.
const RelinkTTL = 24 * time.Hour

// Registry is the part of a Temporal worker that registers activities.
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers every activity under its pinned name.
func (a *Activities) Register(r Registry) {
	for name, fn := range map[string]any{
		ActRegister:          a.RegisterSalon,
		ActSetStatus:         a.SetStatus,
		ActPair:              a.Pair,
		ActActivate:          a.Activate,
		ActSync:              a.Sync,
		ActSendWelcome:       a.SendWelcome,
		ActIntegrationStatus: a.IntegrationStatus,
		ActDisconnect:        a.Disconnect,
		ActReconnect:         a.Reconnect,
		ActUnlink:            a.Unlink,
		ActDeleteSecrets:     a.DeleteSecrets,
		ActNotifyOps:         a.NotifyOps,
		ActNotifyRelink:      a.NotifyRelink,
		ActResumeBookings:    a.ResumeBookings,
		ActSendClientWelcome: a.SendClientWelcome,
		ActPlanReminders:     a.PlanReminders,
		ActPlanSend:          a.PlanSend,
		ActDeliver:           a.Deliver,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
