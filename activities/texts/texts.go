// Package texts renders the WhatsApp messages AI Admin sends to a salon's clients: warm, short
// Russian defaults for every kind of message, and the salon owner's optional per-kind overrides
// (text/template over Data). It also reads clients' short replies (ParseReply) and words the
// owner's notice about a low score (OwnerLowScore). It has no side effects and no dependencies
// beyond the standard library; Kind names a message kind everywhere (workflows, activities,
// the ledger).
package texts

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind names one kind of message. The values are stable strings, fit to store (for example as
// the key of a salon's override).
type Kind string

// The kinds of messages.
const (
	Confirmation  Kind = "confirmation"   // a booking was created
	Change        Kind = "change"         // the visit time, staff or services changed
	Cancellation  Kind = "cancellation"   // the booking was deleted or cancelled
	ReminderDay   Kind = "reminder_day"   // the day before the visit
	Reminder2h    Kind = "reminder_2h"    // about 2 hours before the visit
	OptOutAck     Kind = "opt_out_ack"    // the client answered «стоп»
	StartAck      Kind = "start_ack"      // the client answered «старт» after «стоп»
	ClientWelcome Kind = "client_welcome" // optional first message to a new client
	ConfirmThanks Kind = "confirm_thanks" // the client confirmed the visit («1», «да», 👍)
	DeclineAck    Kind = "decline_ack"    // the client cannot come («2», «не смогу»)
	ReviewRequest Kind = "review_request" // after the visit: «оцените от 1 до 5»
	ReviewThanks  Kind = "review_thanks"  // a score of 4–5: thanks and the salon's review link
	ReviewSorry   Kind = "review_sorry"   // a score of 1–3: thanks, passed on, no public link
	Welcome       Kind = "welcome"        // to the salon's own number once WhatsApp is linked
)

// needsStart reports whether messages of the kind cannot be written without the visit time.
// The replies and review texts mention the visit only when it is given.
func (k Kind) needsStart() bool {
	switch k {
	case Confirmation, Change, Cancellation, ReminderDay, Reminder2h:
		return true
	}
	return false
}

// asksConfirmation reports whether Visit.AskConfirm adds the confirmation line to the kind.
func (k Kind) asksConfirmation() bool { return k == Confirmation || k == ReminderDay }

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
	Start      time.Time // any location; rendered in Salon.Location. Required for Confirmation, Change, Cancellation and the reminders; optional elsewhere.
	Services   []string  // titles as in YClients; may be empty
	StaffName  string    // may be empty
	// PreviousStart is, for Change, the old visit time; zero when only the staff or the
	// services changed.
	PreviousStart time.Time
	// Now is the moment the message is sent (workflow.Now in workflows). Reminders say
	// «завтра» or «сегодня» only when it is set and the visit is on that calendar day in
	// the salon's zone; zero means no relative day is ever said.
	Now time.Time
	// AskConfirm asks the client to confirm: Confirmation and ReminderDay then end (before the
	// «стоп» line) with ConfirmLine, also after an owner's override. Other kinds ignore it.
	AskConfirm bool
}

// Salon is who the message is from. Every text field may be empty.
type Salon struct {
	// Name as in YClients. Quotes around it are dropped («Бархат», "Бархат"); a name that
	// carries its own quoted part (Салон красоты "Бархат") is not wrapped in quotes again.
	Name      string
	Address   string         // may be empty
	Phone     string         // may be empty
	ReviewURL string         // where happy clients leave a public review; may be empty
	Location  *time.Location // the salon's time zone; nil = Europe/Moscow
}

// Overrides maps a Kind to a salon's own template (text/template syntax over Data). A missing
// or blank entry means the default text; entries for kinds Kinds does not list are ignored.
type Overrides map[Kind]string

// ConfirmLine is the line Visit.AskConfirm adds. ParseReply reads the answers to it.
const ConfirmLine = "Ответьте 1 — подтверждаю, 2 — не смогу прийти."

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
	if v.Start.IsZero() && kind.needsStart() {
		return "", fmt.Errorf("%w: %s", ErrNoVisitTime, kind)
	}
	m := newMessage(salon, v)
	m.askConfirm = v.AskConfirm && kind.asksConfirmation()
	text := build(m)
	tmpl := o[kind]
	if strings.TrimSpace(tmpl) == "" || !Editable(kind) {
		return text, nil
	}
	out, err := renderOverride(tmpl, m.Data)
	if err == nil && m.askConfirm {
		out, err = withConfirmLine(out)
	}
	if err != nil {
		return text, fmt.Errorf("texts: override for %s: %w", kind, err)
	}
	return out, nil
}

// withConfirmLine appends ConfirmLine to an owner's text, so an override cannot drop the
// question the salon's workflow waits an answer to. A text that already has it is kept.
func withConfirmLine(text string) (string, error) {
	if strings.Contains(text, ConfirmLine) {
		return text, nil
	}
	text += "\n" + ConfirmLine
	if n := utf8.RuneCountInString(text); n > MaxMessageLen {
		return "", badOverride(nil, "Сообщение по шаблону получается слишком длинным: %d %s вместе со строкой подтверждения, можно не больше %d.", n, symbols(n), MaxMessageLen)
	}
	return text, nil
}

// SalonName cleans a salon's name for use inside «…» (outer quotes dropped, inner quotes made
// „…“), as Data.SalonName gives it to templates.
func SalonName(name string) string { return salonName(name) }

// Data is what override templates see. Every field is already formatted and may be "";
// Placeholders describes them in Russian for the owner.
type Data struct {
	ClientName string // «Анна»
	When       string // «в пятницу, 12 декабря, в 14:30», in the salon's zone
	PrevWhen   string // for a reschedule, the old «во вторник, 9 декабря, в 12:00»; "" when the time did not change
	Date       string // «пятница, 12 декабря»
	Time       string // «14:30»
	Services   string // «Стрижка, Укладка и Окрашивание»
	Staff      string // «Оксана», without «мастер»
	SalonName  string // «Бархат», without our quotes; quotes inside the name become „…“
	Address    string // «ул. Тверская, 12»
	Phone      string // «+7 495 123-45-67»
	// Day is «сегодня» or «завтра» when Visit.Now is set and the visit is on that day in
	// the salon's zone, else "". Overrides should use it instead of writing «завтра».
	Day       string
	ReviewURL string // the salon's review link, «https://…»
}
