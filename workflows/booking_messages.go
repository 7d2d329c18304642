package workflows

import (
	"fmt"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// BookingWorkflowName is the per-record workflow: one per YClients record (booking).
const BookingWorkflowName = "booking"

// Booking workflow messages.
const (
	// SignalRecordEvent carries one record webhook, in inbox order.
	SignalRecordEvent = "record-event"
	// SignalResume tells a booking that its salon can send again (unfrozen, re-linked):
	// messages waiting for the salon are re-checked now instead of at their next recheck.
	SignalResume = "resume"
	// SignalSalonClosed tells a salon's message workflows (booking, welcome, review request)
	// that its installation ended: they drop what they owe and end, instead of waiting for
	// their next moment to find out.
	SignalSalonClosed = "salon-closed"
	// QueryBooking returns the BookingState.
	QueryBooking = "booking-state"
)

// BookingID is the workflow ID of a record's booking workflow.
func BookingID(salonID, recordID int64) string {
	return fmt.Sprintf("booking-%d-%d", salonID, recordID)
}

// BookingInput starts (or continues) a booking workflow.
type BookingInput struct {
	SalonID  int64
	RecordID int64
	State    *BookingState
	// MergeWindow is how long a change or cancellation notice waits for more changes of the
	// record (zero: 2 minutes).
	MergeWindow time.Duration
	// NoVersionMarkers: the run is booking v2 with its WhatsApp activities on the salon's
	// shard queue from its first event, and asks workflow.GetVersion nothing. Set by every
	// starter since 2026-12-05 (the dispatcher, a run continuing as new): each GetVersion was a
	// marker and a TemporalChangeVersion upsert in every booking's history, a visibility write
	// on the server. Runs started without it ask as before, so their histories replay
	// unchanged; the SDK skips version markers in its determinism check, so a run that a
	// worker without this field started (and marked) replays on one with it too.
	NoVersionMarkers bool `json:",omitempty"`
}

// RecordEvent is one record webhook as the dispatcher hands it over.
type RecordEvent struct {
	InboxID    int64
	Status     string // create, update, delete
	Visit      activities.Visit
	Attendance int // -1: the client will not come (a cancellation)
	Deleted    bool
	ReceivedAt time.Time
	// ChangedAt is YClients' last_change_date of the record: events are applied in its order,
	// not in the order they arrive (zero for events queued before it was carried).
	ChangedAt time.Time
	// CreatedAt is the record's create_date; ActivatedAt when the salon's installation was
	// activated (zero: unknown). A record created before is not confirmed: the client booked
	// before AI Admin was there.
	CreatedAt   time.Time
	ActivatedAt time.Time
}

// Cancelled reports whether the event cancels the visit.
func (e RecordEvent) Cancelled() bool {
	return e.Status == "delete" || e.Deleted || e.Attendance == -1
}

// OutcomeSuperseded is logged for a message that a newer event made pointless before it went
// out (a reschedule re-arms reminders; a cancellation drops waiting notices).
const OutcomeSuperseded ledger.Outcome = "superseded"

// MessageLog is one message decision, for operators.
type MessageLog struct {
	Kind       texts.Kind
	VisitStart time.Time
	Outcome    ledger.Outcome // sent, skipped, failed, superseded
	Reason     string
	At         time.Time
}

// ReminderInfo is an armed reminder, for operators.
type ReminderInfo struct {
	Kind       texts.Kind
	At         time.Time
	Deadline   time.Time
	VisitStart time.Time
}

// BookingState is the booking workflow's state: all of it, carried across continue-as-new.
type BookingState struct {
	SalonID     int64
	RecordID    int64
	LastInboxID int64
	Visit       *activities.Visit // the visit as YClients has it now
	Cancelled   bool
	Reminders   []ReminderInfo // armed for the current visit time
	Messages    []MessageLog

	// The fields below are kept by the booking-v2 code (V2).
	V2 bool
	// ChangedAt is the last_change_date of the newest event applied: an older one is stale.
	ChangedAt time.Time
	// CreatedAt is the record's creation, ActivatedAt the salon's activation (from the events).
	CreatedAt   time.Time
	ActivatedAt time.Time
	// Told is the visit as the client was last told of it (nil: never); ToldCancelled says the
	// last thing told was its cancellation.
	Told          *activities.Visit
	ToldCancelled bool
	// Outbox holds the messages owed, each with when it may go: notices, reminders.
	Outbox []Outgoing
	// Seq numbers (down from -1) the notices caused by events without an inbox ID; the others
	// take their event's inbox ID as their ledger seq (ledger.Key.Seq).
	Seq int64
	// Closed says the salon's installation ended: nothing more is sent.
	Closed bool
	// ReviewStarted says this run started the record's review request (the visit attended).
	ReviewStarted bool
	// PlanFor is the visit start whose reminders are still to be planned (zero: none).
	PlanFor time.Time
	// Recheck is how long messages waiting for a paused salon wait before looking again
	// (doubling, reset by a resume); RecheckAt when they look next.
	Recheck   time.Duration
	RecheckAt time.Time
}

// Outgoing is one message the booking owes its client.
type Outgoing struct {
	Kind      texts.Kind
	Visit     activities.Visit
	PrevStart time.Time // a change notice: the time the client knew, when the time changed
	Seq       int64
	At        time.Time // not before
	Deadline  time.Time // dropped at and after it, never sent late
	Slot      bool      // At is a pacing slot send-message reserved
	Paused    bool      // waits for the salon (a resume signal, or the recheck)
	Plan      bool      // ask for the visit's reminders with it
}

// SensitivePayload marks payloads with clients' personal data: encrypted in Temporal
// (activities/pii).
func (RecordEvent) SensitivePayload() {}

// SensitivePayload: see RecordEvent.
func (BookingInput) SensitivePayload() {}

// SensitivePayload: see RecordEvent.
func (BookingState) SensitivePayload() {}
