// Package workflows is AI Admin's deterministic code: the installation workflow (one per
// salon), the booking workflow (one per YClients record) and the client-welcome workflow. This
// file is their contract with the HTTP layer and the worker runtime: workflow names, message
// names and payloads. ids.go makes workflow IDs from business keys; options.go holds the
// activity options. Workflow code never touches the outside world: every side effect is an
// activity (package activities).
package workflows

import (
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Workflow type names, pinned at registration and always referred to by these strings.
const (
	InstallationWorkflowName = "installation"
)

// TaskQueue is the default task queue of the installation workflows and their activities.
const TaskQueue = "aiadmin"

// Message names of the installation workflow (kebab-case, see house style).
const (
	// UpdateRegister attaches the marketplace registration to the installation and answers
	// with its State once the register step has finished (or failed).
	UpdateRegister = "register"
	// UpdateRequestPairing starts a WhatsApp pairing attempt (QR or pairing code). The codes
	// themselves never pass through the workflow: the activity hands them to the connect page
	// through an encrypted, short-lived table.
	UpdateRequestPairing = "request-pairing"
	// SignalFreeze, SignalUnfreeze and SignalUninstall carry the marketplace lifecycle events.
	SignalFreeze    = "freeze"
	SignalUnfreeze  = "unfreeze"
	SignalUninstall = "uninstall"
	// SignalResync asks for a catalogue sync now.
	SignalResync = "resync"
	// SignalCheckStatus asks the workflow to read the YClients integration status now (for
	// example after a `payment` lifecycle event, since YClients sends no unfreeze event).
	SignalCheckStatus = "check-status"
	// SignalLinkState carries a change of the salon's WhatsApp link reported by the worker
	// that owns the connection (logged out on the phone, banned, restricted, degraded, ...).
	SignalLinkState = "link-state"
	// QueryStatus returns the State.
	QueryStatus = "status"
)

// Status is an installation's status.
type Status string

// Installation statuses.
const (
	StatusRegistering       Status = "registering"
	StatusPendingWhatsApp   Status = "pending_whatsapp"
	StatusWhatsAppConnected Status = "whatsapp_connected"
	StatusConfiguring       Status = "configuring"
	StatusActive            Status = "active"
	StatusFrozen            Status = "frozen"
	StatusNeedsRelink       Status = "needs_relink" // the phone unlinked the device: the owner re-pairs
	StatusUninstalled       Status = "uninstalled"
	StatusExpired           Status = "expired"
	StatusFailed            Status = "failed"
)

// Closed reports whether the status ends the workflow run; a new registration then starts a
// new run.
func (s Status) Closed() bool {
	return s == StatusUninstalled || s == StatusExpired || s == StatusFailed
}

// Reasons recorded with a status (State.Reason).
const (
	ReasonSalonNotFound       = "salon_not_found"         // failed: YClients does not know the salon
	ReasonYClientsUnavailable = "yclients_unavailable"    // failed: YClients did not answer the register step
	ReasonActivationRefused   = "activation_refused"      // failed: YClients refused the activation callback
	ReasonActivationDeadline  = "activation_deadline"     // expired: not activated within the deadline
	ReasonUninstalled         = "uninstalled_in_yclients" // uninstalled
	ReasonPhoneUnlinked       = "phone_unlinked"          // needs_relink
	ReasonReconnectFailed     = "whatsapp_reconnect_failed"
)

// InstallationInput starts (or continues as new) an installation workflow.
type InstallationInput struct {
	SalonID int64
	Timings Timings
	// Company is the salon as the register page read it from YClients just before starting
	// the run: the register step stores it instead of asking YClients again (nil: it asks).
	Company *activities.KnownCompany `json:",omitempty"`
	// State is set only when the workflow continues as new.
	State *State
}

// Timings are the workflow's durable timer lengths; zero values take the defaults. Tests and
// demos shorten them.
type Timings struct {
	ActivationDeadline time.Duration // default 1 h from registration
	ResyncEvery        time.Duration // default 24 h while active
	FrozenPollEvery    time.Duration // default 6 h while frozen
}

// RegisterRequest is the register update's input.
type RegisterRequest struct {
	// Source says where the registration came from (e.g. "marketplace"), for operators.
	Source string
	// UserID is the YClients user (the signed user_data's id) who opened AI Admin; 0 when
	// unknown (unsigned redirects in demo mode). The first one owns the pairing.
	UserID int64
}

// PairingRequest is the request-pairing update's input.
type PairingRequest struct {
	Method string // activities.PairByQR or activities.PairByPhone
	Phone  string // for PairByPhone: the owner's number (normalised digits)
	// Session is the browser session (its token's ID) that asked: the attempt's codes go to it
	// alone.
	Session string
}

// PairingStarted answers a request-pairing update.
type PairingStarted struct {
	Attempt int
}

// WhatsAppInfo is the linked number.
type WhatsAppInfo struct {
	Phone       string
	Name        string
	ConnectedAt time.Time
}

// PairingState is the state of WhatsApp pairing as the connect page needs it.
type PairingState struct {
	Attempt     int    // increases with every attempt
	Method      string // of the current or last attempt
	Session     string // the browser session the current or last attempt belongs to
	Running     bool
	LastOutcome activities.PairOutcome // of the last finished attempt
	LastError   string                 // human-readable (Russian) reason of the last error outcome
}

// LinkEvent is a change of the WhatsApp link.
type LinkEvent struct {
	State  whatsapp.LinkState
	Reason string
	Until  time.Time // end of a temporary ban or restriction, when known
}

// LinkInfo is the last known WhatsApp link state.
type LinkInfo struct {
	State  whatsapp.LinkState
	Reason string
	Until  time.Time
	Since  time.Time
}

// SyncSummary describes the last catalogue sync.
type SyncSummary struct {
	At          time.Time
	Services    int
	Staff       int
	Schedules   int
	Deactivated int
	Error       string
}

// State is the installation's business state, returned by the status query and carried
// across continue-as-new.
type State struct {
	SalonID      int64
	SalonName    string
	SalonPhone   string // the salon's phone in YClients, as written there (not the linked WhatsApp)
	Timezone     string
	Status       Status
	Reason       string
	Since        time.Time
	RegisteredAt time.Time
	WhatsApp     WhatsAppInfo
	Link         LinkInfo
	Pairing      PairingState
	RedirectURL  string // where the owner returns to YClients (the activation callback's Location)
	ActivatedAt  time.Time
	LastSync     SyncSummary
	WelcomeSent  bool
	FrozenAt     time.Time
	// InstallID names this installation across continue-as-new (its first run's ID): a
	// session token from before an uninstall and reinstall names another one.
	InstallID string
	// OwnerUserID is the YClients user who started the installation; while pairing, only
	// they may open the connect page.
	OwnerUserID int64
	// RelinkGen counts the times the phone unlinked the device: a re-link link names the one
	// it was made for and is spent once the owner pairs again.
	RelinkGen int
}
