// Package activities holds every side effect of AI Admin's workflows, one struct per domain:
// Install (the marketplace and the salon's secrets), Catalog (the YClients catalogue sync),
// WhatsApp (pairing and the salon's connection), Messaging (planning and sending client
// messages) and Ops (alerts, owner notices, resuming bookings). NewSet builds them; Register
// registers every activity under its pinned name. This file is the contract with the
// workflows: the names and the input and output types, which never carry secrets.
package activities

import (
	"slices"
	"time"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// Activity names, pinned at registration. Workflow histories hold them: never rename one.
const (
	ActRegister          = "register-salon"
	ActSetStatus         = "set-install-status"
	ActPair              = "pair-whatsapp"
	ActActivate          = "activate-integration"
	ActSync              = "sync-catalog"
	ActSendWelcome       = "send-welcome"
	ActIntegrationStatus = "integration-status"
	ActDisconnect        = "whatsapp-disconnect"
	ActReconnect         = "whatsapp-reconnect"
	ActUnlink            = "whatsapp-unlink"
	ActForgetDevice      = "whatsapp-forget-device"
	ActDeleteSecrets     = "delete-salon-secrets"
	ActNotifyOps         = "notify-ops"
	ActNotifyRelink      = "notify-relink"
	ActResumeBookings    = "resume-bookings"
	ActCloseWorkflows    = "close-salon-workflows"
	ActSendClientWelcome = "send-client-welcome"
	ActPlanReminders     = "plan-reminders"
	ActPlanSend          = "plan-send"
	ActDeliver           = "deliver-message"
	ActSend              = "send-message"
	ActSendSample        = "send-sample"
)

// ReasonTurnedOff is the ledger's reason for a message of a kind the salon turned off in its
// cabinet.
const ReasonTurnedOff = "turned_off"

// KindSample is the ledger kind of an example message the owner sent from the cabinet to the
// salon's own number.
const KindSample texts.Kind = "sample"

// SampleInput asks for one example message to the salon's own linked number. Text is
// rendered from a sample visit, never from a client's booking: it carries no client's data.
type SampleInput struct {
	SalonID int64
	Key     int64      // the example's ledger record key: fresh for every request, so each goes once
	Kind    texts.Kind // the kind it shows
	Text    string
}

// SampleOutput is what became of the example.
type SampleOutput struct {
	Outcome ledger.Outcome // sent, skipped (no linked number) or failed (WhatsApp not connected)
	Reason  string
}

// SalonRef names a salon.
type SalonRef struct {
	SalonID int64
	// Known is the salon as YClients returned it moments ago (the register page read it to bind
	// the redirect), for the register step to store without asking YClients again; nil on
	// every other call.
	Known *KnownCompany `json:",omitempty"`
}

// KnownCompany is what the register step stores of a salon (YClients' company).
type KnownCompany struct {
	Title, Phone, Email, Address, Timezone string
}

// RegisterOutput is what the register step learnt about the salon.
type RegisterOutput struct {
	Title    string
	Timezone string
	Phone    string // the salon's phone as YClients has it (the connect page suggests it for pairing)
}

// SetStatusInput records an installation status in the companies table.
type SetStatusInput struct {
	SalonID int64
	Status  string
	Reason  string
	// WhatsAppPhone/Name are written when WhatsAppSet is true (empty strings clear them).
	WhatsAppSet   bool
	WhatsAppPhone string
	WhatsAppName  string
}

// Pairing methods.
const (
	PairByQR    = "qr"
	PairByPhone = "phone"
)

// PairInput starts one pairing attempt.
type PairInput struct {
	SalonID int64
	Attempt int
	Method  string // PairByQR or PairByPhone
	Phone   string
	Session string // the browser session whose page shows the codes
}

// PairOutcome is how a pairing attempt ended.
type PairOutcome string

// Pairing outcomes.
const (
	PairSucceeded PairOutcome = "success"
	PairTimedOut  PairOutcome = "timeout"
	PairFailed    PairOutcome = "error"
)

// PairOutput is the attempt's terminal outcome.
type PairOutput struct {
	Outcome PairOutcome
	Phone   string
	Name    string
	Error   string // Russian, for the owner
}

// ActivateInput asks for the activation of one installation run.
type ActivateInput struct {
	SalonID int64
	// InstallID names the installation run (the workflow's State.InstallID): its secrets are
	// made once and every retry of the activation sends the same. Empty (workflows from before
	// it sent one): the workflow run's ID.
	InstallID string
}

// ActivateOutput is the activation's result.
type ActivateOutput struct {
	RedirectURL   string
	AlreadyActive bool
	// NoWebhookSecret: YClients reports the integration active but the salon has no webhook
	// secret stored, or only one YClients was never sent: its entity webhooks cannot be
	// verified (operators must act).
	NoWebhookSecret bool
}

// SyncOutput counts what a sync wrote.
type SyncOutput struct {
	Services    int
	Staff       int
	Schedules   int
	Deactivated int
	FinishedAt  time.Time
}

// WelcomeInput asks for the welcome message to the linked number.
type WelcomeInput struct {
	SalonID   int64
	Phone     string
	SalonName string
}

// WelcomeOutput tells whether this call sent it or it had been sent before.
type WelcomeOutput struct {
	Sent    bool
	Already bool
}

// IntegrationStatusOutput is the YClients integration status.
type IntegrationStatusOutput struct {
	Status string // pending, active, freezed, uninstalled
}

// RelinkInput asks for the owner's re-link link: for the installation InstallID, after the
// Generation-th time the phone unlinked the device.
type RelinkInput struct {
	SalonID    int64
	InstallID  string
	Generation int
}

// NotifyInput is an operator alert.
type NotifyInput = notify.Alert

// ResumeInput asks every running workflow of a type for a salon to resume sending.
type ResumeInput struct {
	SalonID      int64
	WorkflowType string
	Signal       string
}

// Visit is what matters of a YClients record for the messages about it: the booking workflow
// keeps it, the deliver activity renders and re-checks it. Personal data (the client's name and
// phone) is encrypted in Temporal (activities/pii).
type Visit struct {
	Start       time.Time
	StaffID     int64
	StaffName   string
	ServiceIDs  []int64 // sorted
	Services    []string
	ClientName  string
	ClientPhone string
}

// Significant reports whether two visits differ in what the client must be told about: the
// time, the staff or the set of services (not the order of services, not prices).
func (v Visit) Significant(o Visit) bool {
	return !v.Start.Equal(o.Start) || v.StaffID != o.StaffID || !slices.Equal(v.ServiceIDs, o.ServiceIDs)
}

// PlanRemindersInput asks when a visit's reminders are due.
type PlanRemindersInput struct {
	SalonID int64
	Start   time.Time
	Now     time.Time // when the booking became known (creation or reschedule)
}

// ReminderPlan is one reminder: due At (quiet hours applied), dropped after Deadline.
type ReminderPlan struct {
	Kind     texts.Kind
	At       time.Time
	Deadline time.Time
}

// PlanRemindersOutput lists the reminders to arm (none for a visit booked < 2 h ahead).
type PlanRemindersOutput struct {
	Reminders []ReminderPlan
}

// PlanSendInput reserves a paced send slot for a salon.
type PlanSendInput struct {
	SalonID  int64
	Earliest time.Time
}

// PlanSendOutput is the reserved slot.
type PlanSendOutput struct {
	SendAt time.Time
}

// DeliverInput sends one booking message of the ledger.
type DeliverInput struct {
	SalonID   int64
	RecordID  int64
	Kind      texts.Kind
	Visit     Visit
	PrevStart time.Time // change notice: the previous time (zero when it did not change)
	Deadline  time.Time // after it the message is dropped, never sent late
	// ChangedAt is the record's last_change_date as the booking last applied it (zero when
	// unknown): a notice's re-read lists the day's records changed since then, not the day.
	ChangedAt time.Time
}

// DeliverOutput is what happened to the message.
type DeliverOutput struct {
	Outcome ledger.Outcome
	Reason  string
}

// Later is the outcome of a message that must wait (send-message only): for its pacing slot,
// or for the end of the salon's quiet hours. It is not stored.
const Later ledger.Outcome = "later"

// SendInput asks for one client message (send-message): the message of DeliverInput, named
// in the ledger with Seq too.
type SendInput struct {
	DeliverInput
	Seq int64 // names the message among those of its kind about the record and visit time (ledger.Key)
	// Slot is the pacing slot an earlier call reserved (its answer was Later with Slot): the
	// message goes at or after it without reserving another.
	Slot time.Time
	// Plan asks for the visit's reminders with the answer, whatever it is (the confirmation
	// and change notices ask: one activity instead of two).
	Plan bool
	// Quiet sets whether the message waits out the salon's quiet hours (by default only the
	// kinds AI Admin sends on its own schedule: reminders, welcome, review request).
	Quiet *bool
}

// SendOutput is what became of the message, or when to try again.
type SendOutput struct {
	Outcome ledger.Outcome // sent, skipped, failed, paused, or Later
	Reason  string
	// At is when to try again (Later): the reserved slot (Slot true), or the end of quiet hours.
	At   time.Time
	Slot bool
	// Reminders is the visit's reminder plan (Plan).
	Reminders []ReminderPlan
}

// NewClient is a client YClients reported as new: the client-welcome workflow's input.
type NewClient struct {
	SalonID  int64
	ClientID int64
	Name     string
	Phone    string
}

// ClientWelcomeInput greets one new client, until Deadline.
type ClientWelcomeInput struct {
	NewClient
	Deadline time.Time
}

// SensitivePayload marks payloads with clients' personal data: encrypted in Temporal
// (activities/pii).
func (DeliverInput) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (ClientWelcomeInput) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (SendInput) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (NewClient) SensitivePayload() {}
