package activities

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Messaging plans and sends the messages to a salon's clients, each at most once (the
// ledger), paced per salon, within its quiet hours and daily cap, never to a client who
// opted out, and never when the record no longer matches.
type Messaging struct {
	store    *db.Store
	wa       whatsapp.Client
	records  YClients
	ledger   *ledger.Ledger
	notifier Notifier
	zones    *zones
	log      *slog.Logger
	now      func() time.Time
	// reviewDelay replaces the salons' review delay when set (Deps.ReviewDelay).
	reviewDelay time.Duration
}

// PlanReminders computes a visit's reminders with the salon's policy (see PlanReminderTimes).
// Every reminder is planned, also a kind the salon turned off: the switch counts when it is
// due (Deliver), so turning it back on in time still sends it.
func (a *Messaging) PlanReminders(ctx context.Context, in PlanRemindersInput) (PlanRemindersOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return PlanRemindersOutput{}, err
	}
	return PlanRemindersOutput{Reminders: PlanReminderTimes(in.Start, in.Now, p.loc, p.reminders())}, nil
}

// PlanSend reserves the salon's next send slot at or after Earliest: at most per_minute
// messages a minute, with ±20 % jitter, so a backlog never bursts.
func (a *Messaging) PlanSend(ctx context.Context, in PlanSendInput) (PlanSendOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return PlanSendOutput{}, err
	}
	earliest := in.Earliest
	if now := a.now(); earliest.Before(now) {
		earliest = now
	}
	if p.row.PerMinute <= 0 {
		metrics.PacingDelay(0)
		return PlanSendOutput{SendAt: earliest}, nil
	}
	gap := time.Minute / time.Duration(p.row.PerMinute)
	gap = time.Duration(float64(gap) * (0.8 + 0.4*rand.Float64()))
	slot, err := a.store.ReserveSendSlot(ctx, sqlc.ReserveSendSlotParams{SalonID: in.SalonID, Earliest: earliest, GapMs: gap.Milliseconds()})
	if err != nil {
		return PlanSendOutput{}, fmt.Errorf("reserve send slot: %w", err)
	}
	metrics.PacingDelay(slot.Sub(earliest))
	return PlanSendOutput{SendAt: slot}, nil
}

// Deliver sends one booking message exactly once. The record is re-read from YClients just
// before, and the message is skipped (with a reason) when the salon turned its kind off, when
// it no longer matches, when the client opted out, when the daily cap is reached, or when its
// moment has passed. A salon that cannot send now (not active, phone not connected) answers
// paused and nothing is recorded.
func (a *Messaging) Deliver(ctx context.Context, in DeliverInput) (DeliverOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return DeliverOutput{}, err
	}
	key := ledger.Key{SalonID: in.SalonID, RecordID: in.RecordID, Kind: in.Kind, VisitTime: in.Visit.Start}
	if res, done, err := a.ledger.Finished(ctx, key); err != nil || done {
		return output(res), err
	}
	skip := func(reason string) (DeliverOutput, error) { return a.skip(ctx, key, in.Visit.ClientPhone, reason) }
	if !a.now().Before(in.Deadline) {
		return skip("expired")
	}
	if !p.sends(in.Kind) {
		return skip(ReasonTurnedOff)
	}
	if reason := a.cannotSend(ctx, p, in.SalonID); reason != "" {
		return a.paused(ctx, key, reason), nil
	}
	phone, reason, err := a.recipient(ctx, in.SalonID, in.Visit.ClientPhone)
	if err != nil || reason != "" {
		return a.skipOrFail(ctx, key, in.Visit.ClientPhone, reason, err)
	}
	if reason, err := a.stillRelevant(ctx, in); err != nil || reason != "" {
		return a.skipOrFail(ctx, key, in.Visit.ClientPhone, reason, classify(err))
	}
	if full, err := a.dailyCapReached(ctx, p, in.SalonID); err != nil || full {
		return a.skipOrFail(ctx, key, in.Visit.ClientPhone, "daily_cap", err)
	}
	v := texts.Visit{ClientName: in.Visit.ClientName, Start: in.Visit.Start, Services: in.Visit.Services,
		StaffName: in.Visit.StaffName, PreviousStart: in.PrevStart, Now: a.now(), AskConfirm: p.asksConfirm(in.Kind)}
	text, rerr := texts.Render(in.Kind, p.salon(), v, p.overrides())
	if rerr != nil {
		a.log.WarnContext(ctx, "template override failed, default text used", "salonID", in.SalonID, "kind", in.Kind, "err", rerr)
	}
	return a.send(ctx, key, phone, text, v.AskConfirm)
}

// SendClientWelcome greets a new client once (ledger key: salon, client, client_welcome),
// unless the salon turned the welcome off meanwhile, the client opted out, or the salon
// cannot send now (paused).
func (a *Messaging) SendClientWelcome(ctx context.Context, in ClientWelcomeInput) (DeliverOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return DeliverOutput{}, err
	}
	key := ledger.Key{SalonID: in.SalonID, RecordID: in.ClientID, Kind: texts.ClientWelcome, VisitTime: ledger.Epoch}
	if res, done, err := a.ledger.Finished(ctx, key); err != nil || done {
		return output(res), err
	}
	phone, perr := whatsapp.NormalizePhone(in.Phone)
	switch {
	case !p.sends(texts.ClientWelcome):
		return a.skip(ctx, key, phone, ReasonTurnedOff)
	case !a.now().Before(in.Deadline):
		return a.skip(ctx, key, phone, "expired")
	case perr != nil:
		return a.skip(ctx, key, phone, "no valid client phone")
	}
	if reason := a.cannotSend(ctx, p, in.SalonID); reason != "" {
		return a.paused(ctx, key, reason), nil
	}
	if _, reason, err := a.recipient(ctx, in.SalonID, phone); err != nil || reason != "" {
		return a.skipOrFail(ctx, key, phone, reason, err)
	}
	text, _ := texts.Render(texts.ClientWelcome, p.salon(), texts.Visit{ClientName: in.Name}, p.overrides())
	return a.send(ctx, key, phone, text, false)
}

// cannotSend says why the salon cannot send now ("" when it can): the installation is not
// active, or its WhatsApp is not linked (frozen, unlinked, banned, restricted).
func (a *Messaging) cannotSend(ctx context.Context, p salonPolicy, salonID int64) string {
	if p.row.InstallStatus != "active" {
		return "salon " + p.row.InstallStatus
	}
	if st, err := a.wa.Status(ctx, salonID); err != nil || st.State != whatsapp.StateLinked {
		return "whatsapp " + string(st.State)
	}
	return ""
}

// recipient normalises the client's number; reason says why the message must be skipped (no
// valid number, opted out).
func (a *Messaging) recipient(ctx context.Context, salonID int64, raw string) (phone, reason string, err error) {
	phone, err = whatsapp.NormalizePhone(raw)
	if err != nil {
		return "", "no valid client phone", nil
	}
	out, err := a.store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: salonID, Phone: phone})
	if err != nil {
		return "", "", err
	}
	if out {
		return phone, "opted_out", nil
	}
	return phone, "", nil
}

// stillRelevant re-reads the record and returns a skip reason when the message no longer
// matches it.
func (a *Messaging) stillRelevant(ctx context.Context, in DeliverInput) (string, error) {
	if answersClient(in.Kind) {
		return "", nil // an answer to what the client wrote goes whatever became of the record
	}
	rec, err := a.records.Record(ctx, in.SalonID, in.RecordID)
	gone := yclients.IsNotFound(err)
	if err != nil && !gone {
		return "", err
	}
	cancelled := gone || rec.Deleted || rec.Attendance == -1
	switch {
	case in.Kind == texts.Cancellation && !cancelled:
		return "record is not cancelled", nil
	case in.Kind == texts.Cancellation:
		return "", nil
	case cancelled:
		return "record cancelled", nil
	case !rec.Datetime.Equal(in.Visit.Start):
		return "record rescheduled", nil
	case in.Kind == texts.Change && rec.StaffID != 0 && in.Visit.StaffID != 0 && rec.StaffID != in.Visit.StaffID:
		return "record changed again", nil
	}
	return "", nil
}

// dailyCapReached counts today's sent messages in the salon's zone; reaching the cap raises
// an ops alert.
func (a *Messaging) dailyCapReached(ctx context.Context, p salonPolicy, salonID int64) (bool, error) {
	if p.row.DailyCap <= 0 {
		return false, nil
	}
	dayStart := salontime.DayStart(a.now(), p.loc)
	n, err := a.store.CountSentSince(ctx, sqlc.CountSentSinceParams{SalonID: salonID, Since: &dayStart})
	if err != nil || n < int64(p.row.DailyCap) {
		return false, err
	}
	_ = a.notifier.Notify(ctx, notify.Alert{SalonID: salonID, Level: notify.Warn, Kind: "daily_cap",
		Message: fmt.Sprintf("Достигнут дневной лимит сообщений (%d)", p.row.DailyCap)})
	return true, nil
}

// send is the one ledgered send of a client message; asks marks one that asks the client to
// answer.
func (a *Messaging) send(ctx context.Context, key ledger.Key, phone, text string, asks bool) (DeliverOutput, error) {
	send := a.ledger.Send
	if asks {
		send = a.ledger.SendAsking
	}
	res, err := send(ctx, key, phone, text)
	if err != nil {
		return DeliverOutput{}, err
	}
	if res.Outcome == ledger.Paused {
		return a.paused(ctx, key, res.Reason), nil
	}
	return output(res), nil
}

func (a *Messaging) skip(ctx context.Context, key ledger.Key, phone, reason string) (DeliverOutput, error) {
	res, err := a.ledger.Skip(ctx, key, phone, reason)
	if err != nil {
		return DeliverOutput{}, err
	}
	return output(res), nil
}

// skipOrFail skips the message for reason, or returns err (retried by Temporal).
func (a *Messaging) skipOrFail(ctx context.Context, key ledger.Key, phone, reason string, err error) (DeliverOutput, error) {
	if err != nil {
		return DeliverOutput{}, err
	}
	return a.skip(ctx, key, phone, reason)
}

func (a *Messaging) paused(ctx context.Context, key ledger.Key, reason string) DeliverOutput {
	a.log.InfoContext(ctx, "message waits: salon cannot send now", "salonID", key.SalonID, "recordID", key.RecordID,
		"kind", key.Kind, "reason", reason)
	metrics.Message(string(key.Kind), string(ledger.Paused), metrics.PauseReason(reason))
	return DeliverOutput{Outcome: ledger.Paused, Reason: reason}
}

func output(res ledger.Result) DeliverOutput {
	return DeliverOutput{Outcome: res.Outcome, Reason: res.Reason}
}
