package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// bookingLinger keeps the workflow after the visit for late webhooks.
const bookingLinger = 2 * time.Hour

// Booking is the workflow of one YClients record: it turns the record's webhooks into the
// right messages (confirmation, change notice, cancellation, reminders), each at most once.
func Booking(ctx workflow.Context, in BookingInput) (BookingState, error) {
	b := &booking{}
	if in.State != nil {
		b.st = *in.State
	} else {
		b.st = BookingState{SalonID: in.SalonID, RecordID: in.RecordID}
	}
	if err := workflow.SetQueryHandler(ctx, QueryBooking, func() (BookingState, error) { return b.st, nil }); err != nil {
		return b.st, err
	}
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			resume.Receive(gctx, nil)
			b.resumes++
		}
	})
	events := workflow.GetSignalChannel(ctx, SignalRecordEvent)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var ev RecordEvent
			events.Receive(gctx, &ev)
			b.queue = append(b.queue, ev)
		}
	})
	return b.run(ctx)
}

type booking struct {
	st      BookingState
	queue   []RecordEvent
	pending int // message coroutines still running
	// cancelReminders stops the armed reminders (reschedule, cancellation).
	cancelReminders workflow.CancelFunc
	// cancelNotices stops notices still waiting for their slot (cancellation).
	cancelNotices workflow.CancelFunc
	noticesCtx    workflow.Context
	// confirmation tracks the confirmation until it is sent: a change before then is told as
	// a confirmation of the new visit, not as a change the client never heard of.
	confirmCancel workflow.CancelFunc
	confirmSent   bool
	resumes       int // resume signals received
}

func (b *booking) run(ctx workflow.Context) (BookingState, error) {
	b.noticesCtx, b.cancelNotices = workflow.WithCancel(ctx)
	for {
		var until time.Duration
		if b.st.Visit != nil {
			until = b.st.Visit.Start.Add(bookingLinger).Sub(workflow.Now(ctx))
		}
		if b.st.Cancelled || (b.st.Visit != nil && until <= 0) {
			// Done: finish what is in flight, then end (late webhooks start a new run).
			if err := workflow.Await(ctx, func() bool { return b.pending == 0 || len(b.queue) > 0 }); err != nil {
				return b.st, err
			}
			if len(b.queue) == 0 {
				return b.st, nil
			}
		} else if b.st.Visit == nil {
			if err := workflow.Await(ctx, func() bool { return len(b.queue) > 0 }); err != nil {
				return b.st, err
			}
		} else if _, err := workflow.AwaitWithTimeout(ctx, until, func() bool { return len(b.queue) > 0 }); err != nil {
			return b.st, err
		}
		for len(b.queue) > 0 {
			ev := b.queue[0]
			b.queue = b.queue[1:]
			b.handle(ctx, ev)
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && b.pending == 0 {
			st := b.st
			return b.st, workflow.NewContinueAsNewError(ctx, BookingWorkflowName,
				BookingInput{SalonID: b.st.SalonID, RecordID: b.st.RecordID, State: &st})
		}
	}
}

// handle applies one record event.
func (b *booking) handle(ctx workflow.Context, ev RecordEvent) {
	if ev.InboxID != 0 && ev.InboxID <= b.st.LastInboxID {
		return // delivered again by the dispatcher
	}
	b.st.LastInboxID = ev.InboxID
	if b.st.Cancelled {
		return
	}
	b.onAttended(ctx, ev) // attendance 1: the visit's review request (review_attended.go)
	prev := b.st.Visit
	switch {
	case ev.Cancelled():
		b.st.Cancelled = true
		b.stopReminders()
		b.cancelNotices() // a notice still waiting for its slot is pointless now
		visit := ev.Visit
		if prev != nil {
			visit = *prev // the visit as the client knows it
		}
		if visit.Start.IsZero() || !b.confirmSent {
			return // the client was never told of this visit: nothing to cancel for them
		}
		b.notice(ctx, texts.Cancellation, visit, time.Time{})
	case prev == nil:
		v := ev.Visit
		b.st.Visit = &v
		if ev.Status == "create" {
			b.confirm(ctx, v)
		} else {
			b.confirmSent = true // known from before we saw it: nothing to confirm
		}
		b.armReminders(ctx, v, ev.ReceivedAt)
	case ev.Visit.Significant(*prev):
		v := ev.Visit
		b.st.Visit = &v
		if b.confirmCancel != nil && !b.confirmSent {
			b.confirmCancel()
			b.confirm(ctx, v)
		} else {
			prevStart := time.Time{}
			if !v.Start.Equal(prev.Start) {
				prevStart = prev.Start
			}
			b.notice(b.noticesCtx, texts.Change, v, prevStart)
		}
		b.stopReminders()
		b.armReminders(ctx, v, ev.ReceivedAt)
	default:
		// A duplicate delivery, a reordered services array or a price-only edit: keep the
		// freshest details (names) without telling the client anything.
		v := ev.Visit
		b.st.Visit = &v
	}
}

func (b *booking) stopReminders() {
	b.st.Reminders = nil
	if b.cancelReminders != nil {
		b.cancelReminders()
		b.cancelReminders = nil
	}
}

// confirm sends the confirmation of v; it can be replaced by a newer one until it is sent.
func (b *booking) confirm(ctx workflow.Context, v activities.Visit) {
	cctx, cancel := workflow.WithCancel(b.noticesCtx)
	b.confirmCancel = cancel
	b.spawn(cctx, func(gctx workflow.Context) {
		if b.deliver(gctx, texts.Confirmation, v, time.Time{}, workflow.Now(gctx), v.Start) == ledger.Sent {
			b.confirmSent = true
		}
	})
}

// notice sends a transactional message (confirmation, change, cancellation) as soon as the
// salon's pacing allows, until the visit starts.
func (b *booking) notice(parent workflow.Context, kind texts.Kind, v activities.Visit, prevStart time.Time) {
	b.spawn(parent, func(gctx workflow.Context) {
		b.deliver(gctx, kind, v, prevStart, workflow.Now(gctx), v.Start)
	})
}

// armReminders plans the visit's reminders in the salon's time zone and waits for each.
func (b *booking) armReminders(ctx workflow.Context, v activities.Visit, knownAt time.Time) {
	if knownAt.IsZero() {
		knownAt = workflow.Now(ctx)
	}
	rctx, cancel := workflow.WithCancel(ctx)
	b.cancelReminders = cancel
	b.spawn(rctx, func(gctx workflow.Context) {
		var plan activities.PlanRemindersOutput
		actx := workflow.WithActivityOptions(gctx, planOptions)
		if err := workflow.ExecuteActivity(actx, activities.ActPlanReminders,
			activities.PlanRemindersInput{SalonID: b.st.SalonID, Start: v.Start, Now: knownAt}).Get(actx, &plan); err != nil {
			if gctx.Err() == nil {
				b.log(gctx, texts.ReminderDay, v.Start, ledger.Failed, "plan: "+rootMessage(err))
			}
			return
		}
		b.st.Reminders = nil
		for _, r := range plan.Reminders {
			b.st.Reminders = append(b.st.Reminders, ReminderInfo{Kind: r.Kind, At: r.At, Deadline: r.Deadline, VisitStart: v.Start})
		}
		for _, r := range plan.Reminders {
			b.spawn(gctx, func(rc workflow.Context) {
				if d := r.At.Sub(workflow.Now(rc)); d > 0 {
					if err := workflow.Sleep(rc, d); err != nil {
						return // re-armed or cancelled
					}
				}
				b.deliver(rc, r.Kind, v, time.Time{}, r.At, r.Deadline)
			})
		}
	})
}

// spawn runs fn in a coroutine and tracks it so the workflow does not end under it.
func (b *booking) spawn(ctx workflow.Context, fn func(workflow.Context)) {
	b.pending++
	workflow.Go(ctx, func(gctx workflow.Context) {
		defer func() { b.pending-- }()
		fn(gctx)
	})
}

// deliver sends one message of the record through the salon's paced-send loop and logs what
// became of it.
func (b *booking) deliver(ctx workflow.Context, kind texts.Kind, v activities.Visit, prevStart, earliest, deadline time.Time) ledger.Outcome {
	in := activities.DeliverInput{SalonID: b.st.SalonID, RecordID: b.st.RecordID, Kind: kind, Visit: v,
		PrevStart: prevStart, Deadline: deadline}
	out, err := sendPaced(ctx, pacedSend{salonID: b.st.SalonID, earliest: earliest, deadline: deadline,
		activity: activities.ActDeliver, input: in, resumes: func() int { return b.resumes }})
	switch {
	case err == nil:
		b.log(ctx, kind, v.Start, out.Outcome, out.Reason)
		return out.Outcome
	case ctx.Err() != nil:
		b.log(ctx, kind, v.Start, OutcomeSuperseded, "")
		return OutcomeSuperseded
	case errors.Is(err, errPlan):
		b.log(ctx, kind, v.Start, ledger.Failed, "plan: "+rootMessage(err))
	default:
		b.log(ctx, kind, v.Start, ledger.Failed, rootMessage(err))
	}
	return ledger.Failed
}

func (b *booking) log(ctx workflow.Context, kind texts.Kind, start time.Time, outcome ledger.Outcome, reason string) {
	b.st.Messages = append(b.st.Messages, MessageLog{Kind: kind, VisitStart: start, Outcome: outcome,
		Reason: reason, At: workflow.Now(ctx)})
}
