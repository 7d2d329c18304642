package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/aiadmin/aiadmin/activities/salontime"
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
	// Record re-reads a record just before a message about it goes out.
	Record(ctx context.Context, salonID, recordID int64) (yclients.Record, error)
	// Records lists the salon's records of a day range (reminders read their day's list).
	Records(ctx context.Context, salonID int64, from, to time.Time) ([]yclients.Record, error)
	// ChangedRecords lists a day's records changed since a moment, deleted ones too (notices
	// re-read their record from it).
	ChangedRecords(ctx context.Context, salonID int64, day, after, before time.Time) ([]yclients.Record, error)
	// SetAttendance marks a record confirmed (2) or cancelled (-1) when the client answers.
	SetAttendance(ctx context.Context, salonID, visitID, recordID int64, attendance int) error
}

// Notifier delivers operator alerts and owner notices (*notify.Notifier).
type Notifier interface {
	Notify(ctx context.Context, in notify.Alert) error
	NotifyOwner(ctx context.Context, in notify.OwnerNotice) error
}

// WorkflowSignaler is the part of the Temporal client that resuming and closing the salon's
// message workflows needs.
type WorkflowSignaler interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Deps are the collaborators of the activities. NewSet hands each domain only what it uses.
type Deps struct {
	Store    *db.Store
	YClients YClients
	WhatsApp whatsapp.Client // in a worker with shards: the ownership guard in front of the client
	Box      *secretbox.Box
	Notifier Notifier
	Temporal WorkflowSignaler
	// PublicURL is where YClients reaches us, e.g. https://aiadmin.example.com; the entity
	// webhook URL given at activation is built from it.
	PublicURL string
	// RelinkURL returns a signed connect-page URL, valid RelinkTTL and once, from which the
	// owner re-pairs the salon's phone without a new marketplace install.
	RelinkURL func(RelinkInput) (string, error)
	Logger    *slog.Logger     // nil: slog.Default()
	Now       func() time.Time // nil: time.Now
	// ReviewDelay, when set, replaces every salon's review_delay_minutes (demos and tests).
	ReviewDelay time.Duration
}

// RelinkTTL is how long a re-link link works.
const RelinkTTL = 24 * time.Hour

// Set is every activity domain, built once per worker.
type Set struct {
	Install   *Install
	Catalog   *Catalog
	WhatsApp  *WhatsApp
	Messaging *Messaging
	Ops       *Ops
}

// NewSet builds every domain from d.
func NewSet(d Deps) (Set, error) {
	switch {
	case d.Store == nil || d.YClients == nil || d.WhatsApp == nil || d.Box == nil || d.Notifier == nil:
		return Set{}, errors.New("activities: Store, YClients, WhatsApp, Box and Notifier are required")
	case d.Temporal == nil || d.RelinkURL == nil:
		return Set{}, errors.New("activities: Temporal and RelinkURL are required")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	z := &zones{notifier: d.Notifier, log: d.Logger}
	l := ledger.New(d.Store, d.WhatsApp, d.Now)
	return Set{
		Install: &Install{store: d.Store, yc: d.YClients, box: d.Box, publicURL: d.PublicURL, log: d.Logger, now: d.Now},
		Catalog: &Catalog{store: d.Store, yc: d.YClients, zones: z, now: d.Now},
		WhatsApp: &WhatsApp{store: d.Store, wa: d.WhatsApp, pairing: pairing.New(d.Store, d.Box, d.Now), ledger: l,
			notifier: d.Notifier, log: d.Logger},
		Messaging: &Messaging{store: d.Store, wa: d.WhatsApp, records: d.YClients, days: &dayLists{yc: d.YClients, now: time.Now}, ledger: l, notifier: d.Notifier,
			zones: z, log: d.Logger, now: d.Now, reviewDelay: d.ReviewDelay},
		Ops: &Ops{store: d.Store, notifier: d.Notifier, temporal: d.Temporal, relinkURL: d.RelinkURL, log: d.Logger},
	}, nil
}

// Registry is the part of a Temporal worker that registers activities.
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers every activity under its pinned name.
func (s Set) Register(r Registry) {
	for name, fn := range map[string]any{
		ActRegister:          s.Install.RegisterSalon,
		ActSetStatus:         s.Install.SetStatus,
		ActActivate:          s.Install.Activate,
		ActIntegrationStatus: s.Install.IntegrationStatus,
		ActDeleteSecrets:     s.Install.DeleteSecrets,
		ActSync:              s.Catalog.Sync,
		ActPair:              s.WhatsApp.Pair,
		ActDisconnect:        s.WhatsApp.Disconnect,
		ActReconnect:         s.WhatsApp.Reconnect,
		ActUnlink:            s.WhatsApp.Unlink,
		ActForgetDevice:      s.WhatsApp.ForgetDevice,
		ActSendWelcome:       s.WhatsApp.SendWelcome,
		ActSendSample:        s.WhatsApp.SendSample,
		ActPlanReminders:     s.Messaging.PlanReminders,
		ActPlanSend:          s.Messaging.PlanSend,
		ActDeliver:           s.Messaging.Deliver,
		ActSend:              s.Messaging.Send,
		ActSendClientWelcome: s.Messaging.SendClientWelcome,
		ActFindQuestion:      s.Messaging.FindQuestion,
		ActSetAttendance:     s.Messaging.SetAttendance,
		ActNotifyReply:       s.Messaging.NotifyReply,
		ActPlanReview:        s.Messaging.PlanReview,
		ActSendReviewRequest: s.Messaging.SendReviewRequest,
		ActNotifyOps:         s.Ops.NotifyOps,
		ActNotifyRelink:      s.Ops.NotifyRelink,
		ActResumeBookings:    s.Ops.ResumeBookings,
		ActCloseWorkflows:    s.Ops.CloseWorkflows,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// zones resolves salons' time zones with salontime's one fallback policy, and tells operators
// once per salon and zone name when a zone cannot be resolved.
type zones struct {
	notifier Notifier
	log      *slog.Logger
	warned   sync.Map // "salon/zone" → struct{}
}

func (z *zones) location(ctx context.Context, salonID int64, name string) *time.Location {
	loc, err := salontime.Location(name)
	if err == nil {
		return loc
	}
	if _, seen := z.warned.LoadOrStore(fmt.Sprintf("%d/%s", salonID, name), struct{}{}); !seen {
		z.log.WarnContext(ctx, "salon time zone unknown", "salonID", salonID, "zone", name, "err", err)
		_ = z.notifier.Notify(ctx, notify.Alert{SalonID: salonID, Level: notify.Warn, Kind: "unknown_timezone",
			Message: fmt.Sprintf("Часовой пояс салона %q не распознан: сообщения считаются по времени %s", name, salontime.Fallback)})
	}
	return loc
}
