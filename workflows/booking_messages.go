package workflows

import (
	"fmt"
	"slices"
	"time"
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

// Message kinds (the ledger's kind column; texts.Kind values).
const (
	KindConfirmation = "confirmation"
	KindChange       = "change"
	KindCancellation = "cancellation"
	KindReminderDay  = "reminder_day"
	KindReminder2h   = "reminder_2h"
)

// BookingInput starts (or continues) a booking workflow.
type BookingInput struct {
	SalonID  int64
	RecordID int64
	State    *BookingState
}

// Visit is what matters of a record for messages. Personal data (client name and phone)
// travels in workflow history; see README (payload encryption).
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

// RecordEvent is one record webhook as the dispatcher hands it over.
type RecordEvent struct {
	InboxID    int64
	Status     string // create, update, delete
	Visit      Visit
	Attendance int // -1: the client will not come (a cancellation)
	Deleted    bool
	ReceivedAt time.Time
}

// Cancelled reports whether the event cancels the visit.
func (e RecordEvent) Cancelled() bool {
	return e.Status == "delete" || e.Deleted || e.Attendance == -1
}

// MessageLog is one message decision, for operators.
type MessageLog struct {
	Kind       string
	VisitStart time.Time
	Outcome    string // sent, skipped, failed, superseded
	Reason     string
	At         time.Time
}

// ReminderInfo is an armed reminder, for operators.
type ReminderInfo struct {
	Kind       string
	At         time.Time
	Deadline   time.Time
	VisitStart time.Time
}

// BookingState is the booking workflow's state.
type BookingState struct {
	SalonID     int64
	RecordID    int64
	LastInboxID int64
	Visit       *Visit
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
