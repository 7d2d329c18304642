package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// salonPolicy is a salon's sending policy (salon_settings, or the defaults) in its own zone.
type salonPolicy struct {
	row sqlc.GetSalonSettingsRow
	loc *time.Location
}

func (p salonPolicy) quiet() QuietHours {
	return QuietHours{From: int(p.row.QuietFromMinute), To: int(p.row.QuietToMinute)}
}

func (p salonPolicy) salon() texts.Salon {
	return texts.Salon{Name: p.row.Title, Address: p.row.Address, Phone: p.row.Phone, ReviewURL: p.row.ReviewURL,
		Location: p.loc}
}

// sends reports whether the salon sends messages of the kind (the cabinet's switches); a kind
// turned off is skipped when its moment comes, so the switch counts at send time.
func (p salonPolicy) sends(k texts.Kind) bool {
	switch k {
	case texts.Confirmation:
		return p.row.SendConfirmation
	case texts.Change:
		return p.row.SendChange
	case texts.Cancellation:
		return p.row.SendCancellation
	case texts.ReminderDay:
		return p.row.SendReminderDay
	case texts.Reminder2h:
		return p.row.SendReminderBefore
	case texts.ClientWelcome:
		return p.row.ClientWelcome
	case texts.ReviewRequest:
		return p.row.ReviewRequests
	}
	return true
}

func (p salonPolicy) asksConfirm(k texts.Kind) bool {
	return AsksConfirm(k, p.row.ConfirmByReply, p.row.ConfirmOnBooking)
}

// AsksConfirm reports whether a message of the kind asks the client to confirm by replying
// (texts.Visit.AskConfirm): the day-before reminder when the salon reads replies (byReply),
// and the booking confirmation too when it also asked for that (onBooking).
func AsksConfirm(k texts.Kind, byReply, onBooking bool) bool {
	switch k {
	case texts.ReminderDay:
		return byReply
	case texts.Confirmation:
		return byReply && onBooking
	}
	return false
}

func (p salonPolicy) reminders() ReminderPolicy {
	return ReminderPolicy{DayHour: int(p.row.ReminderDayHour), HoursBefore: int(p.row.ReminderHoursBefore), Quiet: p.quiet()}
}

func (p salonPolicy) overrides() texts.Overrides {
	var o texts.Overrides
	if len(p.row.Templates) > 2 {
		_ = json.Unmarshal(p.row.Templates, &o)
	}
	return o
}

func (a *Messaging) policy(ctx context.Context, salonID int64) (salonPolicy, error) {
	row, err := a.store.GetSalonSettings(ctx, salonID)
	if err != nil {
		return salonPolicy{}, fmt.Errorf("salon settings: %w", db.NotFound(err))
	}
	return salonPolicy{row: row, loc: a.zones.location(ctx, salonID, row.Timezone)}, nil
}

// QuietHours is a daily quiet window in minutes after local midnight; From == To means none.
// The window may wrap midnight (21:00–09:00).
type QuietHours struct {
	From, To int
}

// end reports whether t (in loc) falls in the window, and when the window ends.
func (q QuietHours) end(t time.Time, loc *time.Location) (bool, time.Time) {
	if q.From == q.To {
		return false, time.Time{}
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	at := func(d time.Time) time.Time { return d.Add(time.Duration(q.To) * time.Minute) }
	if q.From < q.To { // e.g. 13:00-15:00
		if m >= q.From && m < q.To {
			return true, at(day)
		}
		return false, time.Time{}
	}
	switch { // wraps midnight
	case m >= q.From:
		return true, at(day.AddDate(0, 0, 1))
	case m < q.To:
		return true, at(day)
	}
	return false, time.Time{}
}

// DefaultHoursBefore is when the second reminder goes out unless the salon chose another
// time: 2 hours before the visit. Its kind stays texts.Reminder2h whatever the hours (ledger
// rows and workflow histories hold the kind).
const DefaultHoursBefore = 2

// Bounds of ReminderPolicy.HoursBefore.
const (
	MinHoursBefore = 1
	MaxHoursBefore = 24
)

// ReminderPolicy is when a salon's reminders are due.
type ReminderPolicy struct {
	DayHour     int // the day-before reminder, at this hour (salon time)
	HoursBefore int // the second reminder, this many hours before the visit (out of bounds: 2)
	Quiet       QuietHours
}

// ReminderTimes computes a visit's reminders in the salon's zone loc with the second one 2 h
// before the visit: see PlanReminderTimes.
func ReminderTimes(start, now time.Time, loc *time.Location, dayHour int, quiet QuietHours) []ReminderPlan {
	return PlanReminderTimes(start, now, loc, ReminderPolicy{DayHour: dayHour, HoursBefore: DefaultHoursBefore, Quiet: quiet})
}

// PlanReminderTimes computes a visit's reminders in the salon's zone loc: the day before at
// p.DayHour (never later than 2 h before the visit), and p.HoursBefore hours before (never
// later than 30 min before). None for a visit known less than 2 h ahead; a reminder whose
// moment has passed is not armed; one inside quiet hours moves to their end, or is dropped
// when that is past its deadline.
func PlanReminderTimes(start, now time.Time, loc *time.Location, p ReminderPolicy) []ReminderPlan {
	if start.Sub(now) < 2*time.Hour {
		return nil
	}
	hours := p.HoursBefore
	if hours < MinHoursBefore || hours > MaxHoursBefore {
		hours = DefaultHoursBefore
	}
	before := start.Add(-time.Duration(hours) * time.Hour)
	ls := start.In(loc)
	dayBefore := time.Date(ls.Year(), ls.Month(), ls.Day()-1, p.DayHour, 0, 0, 0, loc)
	// latest is the last useful moment of each reminder; grace is how late a paused salon may
	// still send it.
	candidates := []struct {
		kind   texts.Kind
		at     time.Time
		latest time.Time
		grace  time.Duration
	}{
		{texts.ReminderDay, dayBefore, start.Add(-2 * time.Hour), 3 * time.Hour},
		{texts.Reminder2h, before, start.Add(-30 * time.Minute), 30 * time.Minute},
	}
	var out []ReminderPlan
	for _, c := range candidates {
		at := c.at
		if in, end := p.Quiet.end(at, loc); in {
			at = end // quiet hours: move to their end …
		}
		if !at.After(now) || !at.Before(c.latest) {
			continue // … or drop when that is too late
		}
		out = append(out, ReminderPlan{Kind: c.kind, At: at.UTC(), Deadline: minTime(at.Add(c.grace), c.latest).UTC()})
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ReasonQuietHours is the skip reason of a message whose moment fell in the salon's quiet
// hours with no time left after them.
const ReasonQuietHours = "quiet_hours"

// heldInQuiet reports the kinds that wait for the end of the salon's quiet hours: what AI
// Admin sends on its own schedule (reminders, the welcome, review requests). A message that
// answers something that just happened (the booking's confirmation, a change, a
// cancellation, a reply's acknowledgement) goes at once: the client usually just acted, and
// needs to know before the visit.
func heldInQuiet(k texts.Kind) bool {
	switch k {
	case texts.ReminderDay, texts.Reminder2h, texts.ClientWelcome, texts.ReviewRequest:
		return true
	}
	return false
}

// inQuiet reports whether a message of the kind must wait now for the end of the salon's
// quiet hours, and when they end.
func (a *Messaging) inQuiet(p salonPolicy, k texts.Kind) (bool, time.Time) {
	if !heldInQuiet(k) {
		return false, time.Time{}
	}
	return p.quiet().end(a.now(), p.loc)
}
