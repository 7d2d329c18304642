package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Booking message kinds that are reminders (the rest are transactional notices).
const (
	kindReminderDay = "reminder_day"
	kindReminder2h  = "reminder_2h"
	kindCancel      = "cancellation"
	kindChange      = "change"
)

// RecordReader re-reads a record just before a message goes out.
type RecordReader interface {
	Record(ctx context.Context, salonID, recordID int64) (yclients.Record, error)
}

// salonPolicy is a salon's sending policy in its own time zone.
type salonPolicy struct {
	row sqlc.GetSalonSettingsRow
	loc *time.Location
}

func (a *Activities) policy(ctx context.Context, salonID int64) (salonPolicy, error) {
	row, err := a.Store.GetSalonSettings(ctx, salonID)
	if err != nil {
		return salonPolicy{}, fmt.Errorf("salon settings: %w", db.NotFound(err))
	}
	loc, err := time.LoadLocation(row.Timezone)
	if err != nil {
		loc, _ = time.LoadLocation("Europe/Moscow")
	}
	return salonPolicy{row: row, loc: loc}, nil
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

// ReminderTimes computes a visit's reminders in the salon's zone loc: the day before at
// dayHour, and 2 h before. None for a visit known less than 2 h ahead; a reminder whose
// moment has passed is not armed; one inside quiet hours moves to their end, or is dropped
// when that is past its deadline.
func ReminderTimes(start, now time.Time, loc *time.Location, dayHour int, quiet QuietHours) []ReminderPlan {
	if start.Sub(now) < 2*time.Hour {
		return nil
	}
	ls := start.In(loc)
	dayBefore := time.Date(ls.Year(), ls.Month(), ls.Day()-1, dayHour, 0, 0, 0, loc)
	// latest is the last useful moment of each reminder; grace is how late a paused salon may
	// still send it.
	candidates := []struct {
		kind   string
		at     time.Time
		latest time.Time
		grace  time.Duration
	}{
		{kindReminderDay, dayBefore, start.Add(-2 * time.Hour), 3 * time.Hour},
		{kindReminder2h, start.Add(-2 * time.Hour), start.Add(-30 * time.Minute), 30 * time.Minute},
	}
	var out []ReminderPlan
	for _, c := range candidates {
		at := c.at
		if in, end := quiet.end(at, loc); in {
			at = end // quiet hours: move to their end …
		}
		if !at.After(now) || !at.Before(c.latest) {
			continue // … or drop when that is too late
		}
		out = append(out, ReminderPlan{Kind: c.kind, At: at.UTC(), Deadline: minTime(at.Add(c.grace), c.latest).UTC()})
	}
	return out
}

// PlanReminders computes a visit's reminders with the salon's policy (see ReminderTimes).
func (a *Activities) PlanReminders(ctx context.Context, in PlanRemindersInput) (PlanRemindersOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return PlanRemindersOutput{}, err
	}
	quiet := QuietHours{From: int(p.row.QuietFromMinute), To: int(p.row.QuietToMinute)}
	return PlanRemindersOutput{Reminders: ReminderTimes(in.Start, in.Now, p.loc, int(p.row.ReminderDayHour), quiet)}, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// PlanSend reserves the salon's next send slot at or after Earliest: at most per_minute
// messages a minute, with ±20 % jitter, so a backlog never bursts.
func (a *Activities) PlanSend(ctx context.Context, in PlanSendInput) (PlanSendOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return PlanSendOutput{}, err
	}
	earliest := in.Earliest
	if now := a.now(); earliest.Before(now) {
		earliest = now
	}
	if p.row.PerMinute <= 0 {
		return PlanSendOutput{SendAt: earliest}, nil
	}
	gap := time.Minute / time.Duration(p.row.PerMinute)
	gap = time.Duration(float64(gap) * (0.8 + 0.4*rand.Float64()))
	slot, err := a.Store.ReserveSendSlot(ctx, sqlc.ReserveSendSlotParams{SalonID: in.SalonID, Earliest: earliest, GapMs: gap.Milliseconds()})
	if err != nil {
		return PlanSendOutput{}, fmt.Errorf("reserve send slot: %w", err)
	}
	return PlanSendOutput{SendAt: slot}, nil
}

// Deliver sends one booking message exactly once. The ledger row (salon, record, kind,
// visit time) is created with its WhatsApp message ID before sending; the record is re-read
// from YClients just before, and the message is skipped (with a reason) when it no longer
// matches, when the client opted out, or when its moment has passed. A salon that cannot
// send now (not active, phone not connected) answers "paused" and nothing is recorded.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (DeliverOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return DeliverOutput{}, err
	}
	key := sqlc.GetMessageByKeyParams{SalonID: in.SalonID, RecordID: in.RecordID, Kind: in.Kind, VisitTime: in.Visit.Start.UTC()}
	if row, err := a.Store.GetMessageByKey(ctx, key); err == nil && row.Status != "queued" {
		return DeliverOutput{Outcome: row.Status, Reason: "already " + row.Status}, nil
	}
	now := a.now()
	if !now.Before(in.Deadline) {
		return a.skip(ctx, in, key, "expired")
	}
	if p.row.InstallStatus != "active" {
		return a.paused(ctx, in, "salon "+p.row.InstallStatus), nil
	}
	if st, err := a.WhatsApp.Status(ctx, in.SalonID); err != nil || st.State != whatsapp.StateLinked {
		return a.paused(ctx, in, "whatsapp "+string(st.State)), nil
	}
	phone, err := whatsapp.NormalizePhone(in.Visit.ClientPhone)
	if err != nil {
		return a.skip(ctx, in, key, "no valid client phone")
	}
	if out, err := a.Store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: in.SalonID, Phone: phone}); err != nil {
		return DeliverOutput{}, err
	} else if out {
		return a.skip(ctx, in, key, "opted_out")
	}
	if reason, err := a.stillRelevant(ctx, in); err != nil {
		return DeliverOutput{}, classify(err)
	} else if reason != "" {
		return a.skip(ctx, in, key, reason)
	}
	if p.row.DailyCap > 0 {
		lt := now.In(p.loc)
		dayStart := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, p.loc)
		n, err := a.Store.CountSentSince(ctx, sqlc.CountSentSinceParams{SalonID: in.SalonID, Since: &dayStart})
		if err != nil {
			return DeliverOutput{}, err
		}
		if n >= int64(p.row.DailyCap) {
			_ = a.Notifier.Notify(ctx, NotifyInput{SalonID: in.SalonID, Level: "warn", Kind: "daily_cap",
				Message: fmt.Sprintf("Достигнут дневной лимит сообщений (%d)", p.row.DailyCap)})
			return a.skip(ctx, in, key, "daily_cap")
		}
	}
	text, rerr := a.render(p, in)
	if rerr != nil {
		a.log().WarnContext(ctx, "template override failed, default text used", "salonID", in.SalonID, "kind", in.Kind, "err", rerr)
	}
	return a.sendLedgered(ctx, in, key, phone, text)
}

// sendLedgered creates (or finds) the message's ledger row and sends it under the row's
// pre-generated WhatsApp ID, so a retry can never deliver twice. A salon that cannot send now
// answers paused; an error final for this message (not on WhatsApp, invalid number,
// reach-out limit) marks the row failed; other errors are returned for Temporal to retry.
func (a *Activities) sendLedgered(ctx context.Context, in DeliverInput, key sqlc.GetMessageByKeyParams, phone, text string) (DeliverOutput, error) {
	row, err := a.ledger(ctx, key, phone, text)
	if err != nil {
		return DeliverOutput{}, err
	}
	if row.Status != "queued" {
		return DeliverOutput{Outcome: row.Status, Reason: "already " + row.Status}, nil
	}
	if _, err := a.WhatsApp.Send(ctx, in.SalonID, whatsapp.Message{ID: row.WAMessageID, Phone: row.Phone, Text: row.Body}); err != nil {
		switch {
		case errors.Is(err, whatsapp.ErrNotConnected), errors.Is(err, whatsapp.ErrNotLinked), errors.Is(err, whatsapp.ErrUnreachable):
			return a.paused(ctx, in, err.Error()), nil
		case errors.Is(err, whatsapp.ErrNotOnWhatsApp), errors.Is(err, whatsapp.ErrInvalidPhone), errors.Is(err, whatsapp.ErrReachoutLimited):
			_, _ = a.Store.MarkMessageFailed(ctx, sqlc.MarkMessageFailedParams{ID: row.ID, Reason: err.Error()})
			return DeliverOutput{Outcome: OutcomeFailed, Reason: err.Error()}, nil
		}
		return DeliverOutput{}, err
	}
	sent := a.now()
	if err := a.Store.MarkMessageSent(context.WithoutCancel(ctx), sqlc.MarkMessageSentParams{ID: row.ID, SentAt: &sent}); err != nil {
		return DeliverOutput{}, fmt.Errorf("mark sent: %w", err)
	}
	return DeliverOutput{Outcome: OutcomeSent}, nil
}

// stillRelevant re-reads the record and returns a skip reason when the message no longer
// matches it.
func (a *Activities) stillRelevant(ctx context.Context, in DeliverInput) (string, error) {
	if a.Records == nil {
		return "", nil
	}
	rec, err := a.Records.Record(ctx, in.SalonID, in.RecordID)
	gone := yclients.IsNotFound(err)
	if err != nil && !gone {
		return "", err
	}
	cancelled := gone || rec.Deleted || rec.Attendance == -1
	if in.Kind == kindCancel {
		if !cancelled {
			return "record is not cancelled", nil
		}
		return "", nil
	}
	if cancelled {
		return "record cancelled", nil
	}
	if !rec.Datetime.Equal(in.Visit.Start) {
		return "record rescheduled", nil
	}
	if in.Kind == kindChange && rec.StaffID != 0 && in.Visit.StaffID != 0 && rec.StaffID != in.Visit.StaffID {
		return "record changed again", nil
	}
	return "", nil
}

func (a *Activities) render(p salonPolicy, in DeliverInput) (string, error) {
	overrides := overridesOf(p)
	v := texts.Visit{ClientName: in.Visit.ClientName, Start: in.Visit.Start, Services: in.Visit.Services,
		StaffName: in.Visit.StaffName, PreviousStart: in.PrevStart, Now: a.now()}
	salon := texts.Salon{Name: p.row.Title, Address: p.row.Address, Phone: p.row.Phone, Location: p.loc}
	return texts.Render(texts.Kind(in.Kind), salon, v, overrides)
}

// ledger creates (or finds) the message's ledger row.
func (a *Activities) ledger(ctx context.Context, key sqlc.GetMessageByKeyParams, phone, text string) (sqlc.Message, error) {
	row, err := a.Store.InsertMessage(ctx, sqlc.InsertMessageParams{SalonID: key.SalonID, RecordID: key.RecordID,
		Kind: key.Kind, VisitTime: key.VisitTime, Phone: phone, WAMessageID: NewMessageID(), Body: text})
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		row, err = a.Store.GetMessageByKey(ctx, key)
	}
	if err != nil {
		return sqlc.Message{}, fmt.Errorf("ledger: %w", err)
	}
	return row, nil
}

func (a *Activities) skip(ctx context.Context, in DeliverInput, key sqlc.GetMessageByKeyParams, reason string) (DeliverOutput, error) {
	row, err := a.ledger(ctx, key, in.Visit.ClientPhone, "")
	if err != nil {
		return DeliverOutput{}, err
	}
	if row.Status == "queued" {
		if _, err := a.Store.MarkMessageSkipped(ctx, sqlc.MarkMessageSkippedParams{ID: row.ID, Reason: reason}); err != nil {
			return DeliverOutput{}, err
		}
	}
	return DeliverOutput{Outcome: OutcomeSkipped, Reason: reason}, nil
}

func (a *Activities) paused(ctx context.Context, in DeliverInput, reason string) DeliverOutput {
	a.log().InfoContext(ctx, "message waits: salon cannot send now", "salonID", in.SalonID, "recordID", in.RecordID,
		"kind", in.Kind, "reason", reason)
	return DeliverOutput{Outcome: OutcomePaused, Reason: reason}
}

// KindClientWelcome is the ledger kind of a new client's welcome.
const KindClientWelcome = "client_welcome"

// SendClientWelcome greets a new client once (ledger key: salon, client, client_welcome),
// unless the salon turned the welcome off meanwhile, the client opted out, or the salon
// cannot send now (paused).
func (a *Activities) SendClientWelcome(ctx context.Context, in ClientWelcomeInput) (DeliverOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return DeliverOutput{}, err
	}
	key := sqlc.GetMessageByKeyParams{SalonID: in.SalonID, RecordID: in.ClientID, Kind: KindClientWelcome, VisitTime: epoch}
	if row, err := a.Store.GetMessageByKey(ctx, key); err == nil && row.Status != "queued" {
		return DeliverOutput{Outcome: row.Status, Reason: "already " + row.Status}, nil
	}
	phone, perr := whatsapp.NormalizePhone(in.Phone)
	din := DeliverInput{SalonID: in.SalonID, RecordID: in.ClientID, Kind: KindClientWelcome, Visit: DeliverVisit{ClientPhone: phone}}
	switch {
	case !p.row.ClientWelcome:
		return a.skip(ctx, din, key, "welcome turned off")
	case !a.now().Before(in.Deadline):
		return a.skip(ctx, din, key, "expired")
	case perr != nil:
		return a.skip(ctx, din, key, "no valid client phone")
	case p.row.InstallStatus != "active":
		return a.paused(ctx, din, "salon "+p.row.InstallStatus), nil
	}
	if st, err := a.WhatsApp.Status(ctx, in.SalonID); err != nil || st.State != whatsapp.StateLinked {
		return a.paused(ctx, din, "whatsapp "+string(st.State)), nil
	}
	if out, err := a.Store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: in.SalonID, Phone: phone}); err != nil {
		return DeliverOutput{}, err
	} else if out {
		return a.skip(ctx, din, key, "opted_out")
	}
	text, _ := texts.Render(texts.ClientWelcome, texts.Salon{Name: p.row.Title, Address: p.row.Address, Phone: p.row.Phone, Location: p.loc},
		texts.Visit{ClientName: in.Name}, overridesOf(p))
	return a.sendLedgered(ctx, din, key, phone, text)
}

func overridesOf(p salonPolicy) texts.Overrides {
	var o texts.Overrides
	if len(p.row.Templates) > 2 {
		_ = json.Unmarshal(p.row.Templates, &o)
	}
	return o
}
