package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"go.temporal.io/sdk/activity"
)

// Messaging plans and sends the messages to a salon's clients, each at most once (the
// ledger), paced per salon, within its quiet hours and daily cap, never to a client who
// opted out, and never when the record no longer matches.
type Messaging struct {
	store    *db.Store
	wa       whatsapp.Client
	records  YClients
	days     *dayLists // reminders re-read their record from its day's list
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

// Deliver sends one booking message exactly once (the booking workflows started before
// send-message took over; Send is the same decision, with its waits handed to the workflow).
// The record is re-read from YClients just before, and the message is skipped (with a reason)
// when the salon turned its kind off, when it no longer matches, when the client opted out,
// when the daily cap is reached, when a reminder falls in the salon's quiet hours, when the
// installation has ended, or when its moment has passed. A salon that cannot send now (frozen,
// phone not linked) answers paused and nothing is recorded.
func (a *Messaging) Deliver(ctx context.Context, in DeliverInput) (DeliverOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return DeliverOutput{}, err
	}
	key := ledger.Key{SalonID: in.SalonID, RecordID: in.RecordID, Kind: in.Kind, VisitTime: in.Visit.Start}
	if res, done, err := a.ledger.Finished(ctx, key); err != nil || done {
		return output(res), err
	}
	if out, decided, err := a.gate(ctx, p, key, in); decided || err != nil {
		return out, err
	}
	if quiet, _ := a.inQuiet(p, in.Kind); quiet {
		return a.skip(ctx, key, in.Visit.ClientPhone, ReasonQuietHours)
	}
	return a.deliverNow(ctx, p, key, in)
}

// gate decides what needs no pacing slot: a message past its deadline, of a kind turned off,
// or of an installation that has ended is skipped; one of a salon that cannot send now is
// paused. decided is false when the message may go on.
func (a *Messaging) gate(ctx context.Context, p salonPolicy, key ledger.Key, in DeliverInput) (DeliverOutput, bool, error) {
	skip := func(reason string) (DeliverOutput, bool, error) {
		out, err := a.skip(ctx, key, in.Visit.ClientPhone, reason)
		return out, true, err
	}
	if !a.now().Before(in.Deadline) {
		return skip("expired")
	}
	if !p.sends(in.Kind) {
		return skip(ReasonTurnedOff)
	}
	if in.Kind == texts.Cancellation {
		told, err := a.store.CancellationTold(ctx, sqlc.CancellationToldParams{SalonID: in.SalonID,
			RecordID: in.RecordID, VisitTime: in.Visit.Start.UTC()})
		if err != nil {
			return DeliverOutput{}, true, fmt.Errorf("cancellation told: %w", err)
		}
		if told { // the client's last news of the record is this cancellation (a reply's)
			return DeliverOutput{Outcome: ledger.Sent, Reason: "already sent"}, true, nil
		}
	}
	if reason, final := a.cannotSend(ctx, p, in.SalonID); final {
		return skip(reason)
	} else if reason != "" && a.waits(ctx, in.SalonID, reason) {
		return a.paused(ctx, key, reason), true, nil
	}
	return DeliverOutput{}, false, nil
}

// deliverNow checks the recipient and the record (a welcome has none), then sends within the
// daily cap.
func (a *Messaging) deliverNow(ctx context.Context, p salonPolicy, key ledger.Key, in DeliverInput) (DeliverOutput, error) {
	phone, reason, err := a.recipient(ctx, in.SalonID, in.Visit.ClientPhone)
	if err != nil || reason != "" {
		return a.skipOrFail(ctx, key, in.Visit.ClientPhone, reason, err)
	}
	if in.Kind == texts.ClientWelcome {
		text, _ := texts.Render(texts.ClientWelcome, p.salon(), texts.Visit{ClientName: in.Visit.ClientName}, p.overrides())
		return a.send(ctx, key, phone, text, ledger.SendOptions{Cap: a.dailyCap(p)})
	}
	if reason, err := a.stillRelevant(ctx, p.loc, in); err != nil || reason != "" {
		return a.skipOrFail(ctx, key, in.Visit.ClientPhone, reason, classify(err))
	}
	v := texts.Visit{ClientName: in.Visit.ClientName, Start: in.Visit.Start, Services: in.Visit.Services,
		StaffName: in.Visit.StaffName, PreviousStart: in.PrevStart, Now: a.now(), AskConfirm: p.asksConfirm(in.Kind)}
	text, rerr := texts.Render(in.Kind, p.salon(), v, p.overrides())
	if rerr != nil {
		a.log.WarnContext(ctx, "template override failed, default text used", "salonID", in.SalonID, "kind", in.Kind, "err", rerr)
	}
	return a.send(ctx, key, phone, text, ledger.SendOptions{Asks: v.AskConfirm, Cap: a.dailyCap(p)})
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
	if reason, final := a.cannotSend(ctx, p, in.SalonID); final {
		return a.skip(ctx, key, phone, reason)
	} else if reason != "" && a.waits(ctx, in.SalonID, reason) {
		return a.paused(ctx, key, reason), nil
	}
	if quiet, _ := a.inQuiet(p, texts.ClientWelcome); quiet {
		return a.skip(ctx, key, phone, ReasonQuietHours)
	}
	if _, reason, err := a.recipient(ctx, in.SalonID, phone); err != nil || reason != "" {
		return a.skipOrFail(ctx, key, phone, reason, err)
	}
	text, _ := texts.Render(texts.ClientWelcome, p.salon(), texts.Visit{ClientName: in.Name}, p.overrides())
	return a.send(ctx, key, phone, text, ledger.SendOptions{Cap: a.dailyCap(p)})
}

// cannotSend says why the salon cannot send now ("" when it can): the installation is not
// active, or its WhatsApp is not linked (frozen, unlinked, banned, restricted). final says it
// never will again: the installation has ended.
func (a *Messaging) cannotSend(ctx context.Context, p salonPolicy, salonID int64) (reason string, final bool) {
	switch p.row.InstallStatus {
	case "active":
	case "uninstalled", "expired", "failed":
		return "salon " + p.row.InstallStatus, true
	default:
		return "salon " + p.row.InstallStatus, false
	}
	if st, err := a.wa.Status(ctx, salonID); err != nil || st.State != whatsapp.StateLinked {
		return "whatsapp " + string(st.State), false
	}
	return "", false
}

// listPaused puts the workflow running this activity on the salon's list of paused messages.
func (a *Messaging) listPaused(ctx context.Context, salonID int64, reason string) {
	if !activity.IsActivity(ctx) {
		return
	}
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	if err := a.store.AddPausedMessage(ctx, sqlc.AddPausedMessageParams{SalonID: salonID, WorkflowID: id, Reason: reason}); err != nil {
		a.log.WarnContext(ctx, "paused message not listed: a resume will not signal it", "salonID", salonID, "err", err)
	}
}

// waits puts the workflow running this activity on the salon's list of paused messages
// (paused_messages: an unfreeze or a re-link signals each workflow on it), then looks again:
// false when the salon can send after all. Registering before the second look means a resume
// that the first look missed still finds the workflow.
func (a *Messaging) waits(ctx context.Context, salonID int64, reason string) bool {
	a.listPaused(ctx, salonID, reason)
	p, err := a.policy(ctx, salonID)
	if err != nil {
		return true
	}
	reason, _ = a.cannotSend(ctx, p, salonID)
	return reason != ""
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
func (a *Messaging) stillRelevant(ctx context.Context, loc *time.Location, in DeliverInput) (string, error) {
	if answersClient(in.Kind) {
		return "", nil // an answer to what the client wrote goes whatever became of the record
	}
	rec, err := a.reread(ctx, loc, in)
	rec = rec.In(loc)
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

// reread is the record as YClients has it now, read from the list of its visit's day: a
// reminder from one shared with the salon's other reminders due about now, a notice from one
// read after it asked (dayLists). Any other message, or a record that list does not hold (moved
// to another day, or, for a reminder, deleted), reads the record itself.
func (a *Messaging) reread(ctx context.Context, loc *time.Location, in DeliverInput) (yclients.Record, error) {
	ctx = yclients.Prompt(ctx) // a client's message waits for it: before the catalogue syncs
	reminder := in.Kind == texts.ReminderDay || in.Kind == texts.Reminder2h
	notice := in.Kind == texts.Confirmation || in.Kind == texts.Change || in.Kind == texts.Cancellation
	if (reminder || notice) && a.days != nil {
		rec, found, err := a.days.record(ctx, in.SalonID, in.RecordID, in.Visit.Start.In(loc), notice, in.ChangedAt)
		if err != nil || found {
			return rec, err
		}
	}
	return a.records.Record(ctx, in.SalonID, in.RecordID)
}

// dailyCap is the salon's cap for today in its zone.
func (a *Messaging) dailyCap(p salonPolicy) ledger.DailyCap {
	return ledger.DailyCap{Limit: int(p.row.DailyCap), Day: a.now().In(p.loc)}
}

// send is the one ledgered send of a client message, within the daily cap (reaching it
// raises an ops alert); o.Asks marks one that asks the client to answer.
func (a *Messaging) send(ctx context.Context, key ledger.Key, phone, text string, o ledger.SendOptions) (DeliverOutput, error) {
	limit := o.Cap
	res, err := a.ledger.SendWith(ctx, key, phone, text, o)
	if errors.Is(err, whatsapp.ErrElsewhere) && activityAttempt(ctx) >= elsewhereAttempts {
		// The shard has had no owner here for a while (its attempts so far ran on a worker
		// that lost it): wait as for a salon that cannot send, rechecked and resumed.
		return a.paused(ctx, key, whatsapp.RedactPhones(err.Error())), nil
	}
	if err != nil {
		return DeliverOutput{}, err
	}
	switch {
	case res.Outcome == ledger.Paused:
		return a.paused(ctx, key, res.Reason), nil
	case res.Outcome == ledger.Skipped && res.Reason == ledger.ReasonDailyCap && !res.Already:
		_ = a.notifier.Notify(ctx, notify.Alert{SalonID: key.SalonID, Level: notify.Warn, Kind: "daily_cap",
			Message: fmt.Sprintf("Достигнут дневной лимит сообщений (%d)", limit.Limit)})
	}
	return output(res), nil
}

// elsewhereAttempts is how many attempts a send that found the salon's connection held by
// another worker makes (retried by Temporal: 2 s, 4 s, 8 s, 16 s) before it waits as paused.
const elsewhereAttempts = 5

// activityAttempt is the running activity's attempt (1 outside an activity).
func activityAttempt(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return activity.GetInfo(ctx).Attempt
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
	a.listPaused(ctx, key.SalonID, reason) // also when WhatsApp refused the send itself
	a.log.InfoContext(ctx, "message waits: salon cannot send now", "salonID", key.SalonID, "recordID", key.RecordID,
		"kind", key.Kind, "reason", reason)
	metrics.Message(string(key.Kind), string(ledger.Paused), metrics.PauseReason(reason))
	return DeliverOutput{Outcome: ledger.Paused, Reason: reason}
}

func output(res ledger.Result) DeliverOutput {
	return DeliverOutput{Outcome: res.Outcome, Reason: res.Reason}
}
