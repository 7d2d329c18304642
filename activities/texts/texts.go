// Package texts renders the WhatsApp messages AI Admin sends to a salon's clients: warm, short
// Russian defaults for every kind of message, and the salon owner's optional per-kind overrides
// (text/template over Data). It has no side effects and no dependencies beyond the standard
// library; Kind names a message kind everywhere (workflows, activities, the ledger).
package texts

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind names one kind of client message. The values are stable strings, fit to store (for
// example as the key of a salon's override).
type Kind string

// The kinds of client messages.
const (
	Confirmation  Kind = "confirmation"   // a booking was created
	Change        Kind = "change"         // the visit time, staff or services changed
	Cancellation  Kind = "cancellation"   // the booking was deleted or cancelled
	ReminderDay   Kind = "reminder_day"   // the day before the visit
	Reminder2h    Kind = "reminder_2h"    // about 2 hours before the visit
	OptOutAck     Kind = "opt_out_ack"    // the client answered «стоп»
	ClientWelcome Kind = "client_welcome" // optional first message to a new client
	Welcome       Kind = "welcome"        // to the salon's own number once WhatsApp is linked
)

// aboutNoVisit reports whether messages of the kind are about no particular visit.
func (k Kind) aboutNoVisit() bool {
	return k == OptOutAck || k == ClientWelcome || k == Welcome
}

// MaxMessageLen is the longest message, in characters (runes), that Render returns. The
// defaults stay well under it even with very long inputs; an override whose text would be
// longer is rejected.
const MaxMessageLen = 1000

// MaxTemplateLen is the longest override template, in characters, that is accepted.
const MaxTemplateLen = 2000

// ErrBadOverride marks a salon override that cannot be used (it does not parse, does not
// execute, or yields an empty or too long message). Render still returns the default text with
// it, so the client gets a proper message; ValidateTemplate returns it with a Russian message
// for the owner.
var ErrBadOverride = errors.New("texts: bad override template")

// ErrUnknownKind is returned by Render for a Kind it has no text for.
var ErrUnknownKind = errors.New("texts: unknown message kind")

// ErrNoVisitTime is returned by Render when a message about a visit has no Visit.Start: there
// is no honest text to send without the time.
var ErrNoVisitTime = errors.New("texts: visit start time is required")

// Visit is what a message is about. Every text field may be empty.
type Visit struct {
	ClientName string    // may be empty
	Start      time.Time // any location; rendered in Salon.Location. Required except for the kinds about no visit (OptOutAck, ClientWelcome, Welcome).
	Services   []string  // titles as in YClients; may be empty
	StaffName  string    // may be empty
	// PreviousStart is, for Change, the old visit time; zero when only the staff or the
	// services changed.
	PreviousStart time.Time
	// Now is the moment the message is sent (workflow.Now in workflows). Reminders say
	// «завтра» or «сегодня» only when it is set and the visit is on that calendar day in
	// the salon's zone; zero means no relative day is ever said.
	Now time.Time
}

// Salon is who the message is from. Every text field may be empty.
type Salon struct {
	Name     string         // may be empty; quotes around it are dropped («Бархат», "Бархат")
	Address  string         // may be empty
	Phone    string         // may be empty
	Location *time.Location // the salon's time zone; nil = Europe/Moscow
}

// Overrides maps a Kind to a salon's own template (text/template syntax over Data). A missing
// or blank entry means the default text.
type Overrides map[Kind]string

// Data is what override templates see. Every field is already formatted and may be "".
type Data struct {
	ClientName string // «Анна»
	When       string // «пт, 12 дек в 14:30», in the salon's zone
	PrevWhen   string // for a reschedule, the old «вт, 9 дек в 12:00»; "" when the time did not change
	Date       string // «пт, 12 дек»
	Time       string // «14:30»
	Services   string // «Стрижка, Укладка и Окрашивание»
	Staff      string // «Оксана», without «мастер»
	SalonName  string // «Бархат», without quotes
	Address    string // «ул. Тверская, 12»
	Phone      string // «+7 495 123-45-67»
	// Day is «сегодня» or «завтра» when Visit.Now is set and the visit is on that day in
	// the salon's zone, else "". Overrides should use it instead of writing «завтра».
	Day string
}

// Render returns the text of a message of the given kind. With no usable override it returns
// the default text. When the salon's override fails (bad syntax, unknown field, empty or too
// long result) it returns the default text AND an error wrapping ErrBadOverride: log the
// error, send the text. Any other error (ErrUnknownKind, ErrNoVisitTime) comes with "" and
// means there is nothing to send.
func Render(kind Kind, salon Salon, v Visit, o Overrides) (string, error) {
	build, ok := defaults[kind]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownKind, string(kind))
	}
	if v.Start.IsZero() && !kind.aboutNoVisit() {
		return "", fmt.Errorf("%w: %s", ErrNoVisitTime, kind)
	}
	m := newMessage(salon, v)
	text := build(m)
	tmpl := o[kind]
	if strings.TrimSpace(tmpl) == "" {
		return text, nil
	}
	out, err := renderOverride(tmpl, m.Data)
	if err != nil {
		return text, fmt.Errorf("texts: override for %s: %w", kind, err)
	}
	return out, nil
}

// SalonName cleans a salon's name for use inside «…» (outer quotes dropped, inner quotes made
// „…“), as every default text does.
func SalonName(name string) string { return salonName(name) }
