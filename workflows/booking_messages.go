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

// BookingState is the booking workflow's state.
type BookingState struct {
	SalonID     int64
	RecordID    int64
	LastInboxID int64
	Visit       *activities.Visit
	Cancelled   bool
	Reminders   []ReminderInfo // armed for the current visit time
	Messages    []MessageLog
}

// SensitivePayload marks payloads with clients' personal data: encrypted in Temporal
// (activities/pii).
func (RecordEvent) SensitivePayload() {}

// SensitivePayload: see RecordEvent.
func (BookingInput) SensitivePayload() {}

// SensitivePayload: see RecordEvent.
func (BookingState) SensitivePayload() {}
