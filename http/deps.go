package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/pairing"
)

// PairingFeed reads the pairing stream of a salon.
type PairingFeed interface {
	// Since returns the decrypted items with ID > afterID of the salon's attempts for one
	// browser session, oldest first. Items whose code has expired are left out.
	Since(ctx context.Context, salonID int64, session string, afterID int64) ([]pairing.Item, error)
}

// SalonInfo is what YClients says of a salon when its owner opens AI Admin.
type SalonInfo struct {
	// Integration is the status of AI Admin's integration with the salon in YClients: pending
	// (the owner has just clicked «Подключить»), active, freezed, or "" when YClients has none.
	Integration string
	// Company is the salon as YClients returned it (its title binds the signed redirect),
	// handed to a new installation so that its register step need not ask YClients again.
	Company *activities.KnownCompany
}

// pairable reports whether the salon's WhatsApp may be paired from a marketplace redirect:
// only while YClients has not yet activated the integration.
func (s SalonInfo) pairable() bool {
	return s.Integration != "active" && s.Integration != "freezed"
}

// SalonDirectory reads salons from YClients, keeping what it read for a while: an owner who
// opens the page again does not cost YClients calls again.
type SalonDirectory interface {
	// Company returns the salon's company as YClients answered at most maxAge ago (asking
	// YClients when it holds no answer that recent), or an error wrapping ErrUnknownSalon
	// when YClients does not know the salon.
	Company(ctx context.Context, salonID int64, maxAge time.Duration) (*activities.KnownCompany, error)
	// Integration returns the status of AI Admin's integration with the salon in YClients
	// (SalonInfo.Integration), as answered at most statusTTL ago.
	Integration(ctx context.Context, salonID int64) (string, error)
	// QueueIntegration has the integration's status read without waiting for the answer,
	// for an owner told to wait in the queue (a QueuedError of Company): when the answer is
	// due, or zero when it is at hand. A company read Company started keeps the turn after
	// its own in the YClients budget's queue for this read, which takes it and is made once
	// the company's answer is in (none for a salon YClients does not know).
	QueueIntegration(ctx context.Context, salonID int64) time.Time
}

// Company and Integration return a *QueuedError when the read waits its turn in the cluster's
// YClients budget longer than a page should load (many owners connecting at once): the read
// goes on, and the owner's next visit after QueuedError.Ready finds its answer.

// HealthError is one recent error of an installation.
type HealthError struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
}

// Health is what operators need to know about one installation, from the database and the
// live WhatsApp connection.
type Health struct {
	SalonID           int64         `json:"salon_id"`
	Status            string        `json:"status"`                    // install status recorded in the database
	PhoneLinked       bool          `json:"phone_linked"`              // a WhatsApp device is linked
	Phone             string        `json:"phone,omitempty"`           // the linked number, digits
	WhatsAppState     string        `json:"whatsapp_state,omitempty"`  // whatsapp.LinkState, when known
	YClientsReachable bool          `json:"yclients_reachable"`        // the last YClients call succeeded
	LastSyncAt        *time.Time    `json:"last_sync_at,omitempty"`    // last finished catalogue sync
	LastMessageAt     *time.Time    `json:"last_message_at,omitempty"` // last message sent to a client
	RecentErrors      []HealthError `json:"recent_errors"`
	Budget            *SendBudget   `json:"send_budget,omitempty"` // the salon's sending budget now
	Inbox             *InboxHealth  `json:"inbox,omitempty"`       // the salon's webhooks not handed on
	// Paused are the salon's messages waiting for it to be able to send (frozen, re-link,
	// WhatsApp down); Dispatcher who hands the inbox on, cluster-wide.
	Paused     *PausedHealth     `json:"paused_messages,omitempty"`
	Dispatcher *DispatcherHealth `json:"dispatcher,omitempty"`
}

// PausedHealth counts the workflows with a message waiting for the salon to be able to send.
type PausedHealth struct {
	Waiting int64      `json:"waiting"`
	Since   *time.Time `json:"oldest_since,omitempty"` // when the oldest began waiting
}

// DispatcherHealth says which process hands the webhook inbox on to Temporal: exactly one
// holder is right, none means webhooks wait.
type DispatcherHealth struct {
	Owner   string     `json:"owner,omitempty"` // its DISPATCHER name (host and pid by default)
	Since   *time.Time `json:"since,omitempty"`
	Holders int        `json:"holders"`
}

// InboxHealth is the salon's part of the webhook inbox that is not handed on to Temporal.
type InboxHealth struct {
	Pending         int64      `json:"pending"`                     // waiting (a refused one waits for its retry)
	Dead            int64      `json:"dead"`                        // refused too often: an operator looks at them
	OldestPendingAt *time.Time `json:"oldest_pending_at,omitempty"` // when the oldest waiting one arrived
}

// SendBudget is a salon's sending policy and how much of it is used.
type SendBudget struct {
	PerMinute  int        `json:"per_minute"` // 0: no pacing
	DailyCap   int        `json:"daily_cap"`  // 0: no cap
	SentToday  int64      `json:"sent_today"` // in the salon's time zone
	NextSlotAt *time.Time `json:"next_slot_at,omitempty"`
	Quiet      string     `json:"quiet_hours"` // e.g. "21:00-09:00" (salon time)
	Timezone   string     `json:"timezone"`
}

// ErrUnknownSalon is returned (possibly wrapped) by a HealthSource that knows nothing of the salon.
var ErrUnknownSalon = errors.New("unknown salon")

// HealthSource reports an installation's health.
type HealthSource interface {
	// Health returns the salon's health, or an error wrapping ErrUnknownSalon.
	Health(ctx context.Context, salonID int64) (Health, error)
}

// ReadyCheck is one dependency /readyz checks, e.g. PostgreSQL or Temporal.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
	// Optional checks are reported ("unavailable") but do not make the process unready: the
	// API keeps taking webhooks into the inbox while Temporal is down, and pulling it from
	// the load balancer then would lose what the inbox exists to keep.
	Optional bool
}
