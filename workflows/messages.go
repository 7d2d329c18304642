package workflows

import "time"

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

// Pairing methods.
const (
	PairByQR    = "qr"
	PairByPhone = "phone"
)

// Pairing outcomes reported by the pairing activity.
const (
	PairOutcomeSuccess = "success"
	PairOutcomeTimeout = "timeout"
	PairOutcomeError   = "error"
)

// InstallationInput starts (or continues as new) an installation workflow.
type InstallationInput struct {
	SalonID int64
	Timings Timings
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
}

// PairingRequest is the request-pairing update's input.
type PairingRequest struct {
	Method string // PairByQR or PairByPhone
	Phone  string // for PairByPhone: the owner's number (normalised digits)
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
	Running     bool
	LastOutcome string // PairOutcome* of the last finished attempt
	LastError   string // human-readable (Russian) reason of the last error outcome
}

// LinkEvent is a change of the WhatsApp link (whatsapp.LinkState values).
type LinkEvent struct {
	State  string
	Reason string
	Until  time.Time // end of a temporary ban or restriction, when known
}

// LinkInfo is the last known WhatsApp link state.
type LinkInfo struct {
	State  string
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
}
