// Package activities holds every side effect of AI Admin's workflows: YClients calls, the
// database, WhatsApp and operator notifications. Workflows refer to activities by the pinned
// names below; inputs and outputs never carry secrets.
package activities

import "time"

// Activity names, pinned at registration.
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
	ActDeleteSecrets     = "delete-salon-secrets"
	ActNotifyOps         = "notify-ops"
	ActNotifyRelink      = "notify-relink"
	ActResumeBookings    = "resume-bookings"
	ActSendClientWelcome = "send-client-welcome"
)

// ClientWelcomeInput greets one new client.
type ClientWelcomeInput struct {
	SalonID  int64
	ClientID int64
	Name     string
	Phone    string
	Deadline time.Time
}

// ResumeInput asks every running workflow of a type for a salon to resume sending.
type ResumeInput struct {
	SalonID      int64
	WorkflowType string
	Signal       string
}

// Application error types raised by activities (see errors.go).
const (
	ErrTypeNotFound     = "NotFound"
	ErrTypeUnauthorized = "Unauthorized"
	ErrTypeInvalid      = "Invalid"
	ErrTypeForbidden    = "Forbidden"
	ErrTypeRateLimited  = "RateLimited"
	ErrTypeNotLinked    = "NotLinked"
)

// SalonRef names a salon.
type SalonRef struct {
	SalonID int64
}

// RegisterOutput is what the register step learnt about the salon.
type RegisterOutput struct {
	Title    string
	Timezone string
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

// PairInput starts one pairing attempt.
type PairInput struct {
	SalonID int64
	Attempt int
	Method  string // "qr" or "phone"
	Phone   string
}

// PairOutput is the attempt's terminal outcome.
type PairOutput struct {
	Outcome string // success, timeout, error
	Phone   string
	Name    string
	Error   string // Russian, for the owner
}

// ActivateOutput is the activation's result.
type ActivateOutput struct {
	RedirectURL   string
	AlreadyActive bool
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

// NotifyInput is an operator alert.
type NotifyInput struct {
	SalonID int64
	Level   string // info, warn, error
	Kind    string
	Message string
}

// Booking activity names.
const (
	ActPlanReminders = "plan-reminders"
	ActPlanSend      = "plan-send"
	ActDeliver       = "deliver-message"
)

// PlanRemindersInput asks when a visit's reminders are due.
type PlanRemindersInput struct {
	SalonID int64
	Start   time.Time
	Now     time.Time // when the booking became known (creation or reschedule)
}

// ReminderPlan is one reminder: due At (quiet hours applied), dropped after Deadline.
type ReminderPlan struct {
	Kind     string
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

// DeliverInput sends one message of the ledger.
type DeliverInput struct {
	SalonID   int64
	RecordID  int64
	Kind      string
	Visit     DeliverVisit
	PrevStart time.Time // change notice: the previous time (zero when it did not change)
	Deadline  time.Time // after it the message is dropped, never sent late
}

// DeliverVisit mirrors workflows.Visit (activities do not import workflows).
type DeliverVisit struct {
	Start       time.Time
	StaffID     int64
	StaffName   string
	ServiceIDs  []int64
	Services    []string
	ClientName  string
	ClientPhone string
}

// Deliver outcomes.
const (
	OutcomeSent    = "sent"
	OutcomeSkipped = "skipped"
	OutcomeFailed  = "failed"
	OutcomePaused  = "paused" // the salon cannot send now (frozen, unlinked, banned): try again later
)

// DeliverOutput is what happened to the message.
type DeliverOutput struct {
	Outcome string
	Reason  string
}

// SensitivePayload marks payloads with clients' personal data: encrypted in Temporal
// (activities/pii).
func (DeliverInput) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (ClientWelcomeInput) SensitivePayload() {}
