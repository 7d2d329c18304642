package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// ChangeBookingV2 versions the booking workflow's rewrite: events ordered by YClients'
// last_change_date, the confirmation owed by the record's creation against the salon's
// activation, every pending message in the state (continue-as-new carries it), one timer for
// the next thing due, waits for a paused salon on its resume signal (no polling), notices of
// quick successive changes merged. Runs whose history predates it keep bookingV1.
const ChangeBookingV2 = "2026-12-02-booking-v2"

// Timings of the booking workflow (v2).
const (
	// defaultMergeWindow: a change or cancellation notice waits this long for more changes of
	// the record, and the client gets one notice of where it ended up (BookingInput.MergeWindow).
	defaultMergeWindow = 2 * time.Minute
	// pauseRecheckFirst and pauseRecheckMax bound the look a message waiting for a paused
	// salon takes on its own: after 1 h, then doubling, at least every 3 days. It is a safety
	// net: an unfreeze, a re-link and WhatsApp linked again send the resume signal that wakes
	// the waiting messages at once (and a message's deadline wakes it too).
	pauseRecheckFirst = time.Hour
	pauseRecheckMax   = 72 * time.Hour
)

// Booking is the workflow of one YClients record: it turns the record's webhooks into the
// right messages (confirmation, change notice, cancellation, reminders), each at most once,
// at the salon's local time, and ends after the visit.
func Booking(ctx workflow.Context, in BookingInput) (BookingState, error) {
	if in.NoVersionMarkers {
		ctx = withShardQueues(ctx)
	} else if workflow.GetVersion(ctx, ChangeBookingV2, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return bookingV1(ctx, in)
	}
	b := newBookingFlow(ctx, in)
	if err := workflow.SetQueryHandler(ctx, QueryBooking, func() (BookingState, error) { return b.st, nil }); err != nil {
		return b.st, err
	}
	return b.run(ctx)
}

// bookingFlow is the v2 booking workflow: a loop that applies the record's events to the state,
// sends what is due, and waits for the next event, resume or due time.
type bookingFlow struct {
	st      BookingState
	events  workflow.ReceiveChannel
	resume  workflow.ReceiveChannel
	closed  workflow.ReceiveChannel
	timer   workflow.Future
	timerAt time.Time
	cancel  workflow.CancelFunc // of the timer
	resumed bool                // a resume signal arrived since the last look
	merge   time.Duration       // the merge window of notices
	cause   int64               // the inbox ID of the event being applied
}

func newBookingFlow(ctx workflow.Context, in BookingInput) *bookingFlow {
	b := &bookingFlow{events: workflow.GetSignalChannel(ctx, SignalRecordEvent),
		resume: workflow.GetSignalChannel(ctx, SignalResume), closed: workflow.GetSignalChannel(ctx, SignalSalonClosed),
		merge: in.MergeWindow}
	if b.merge <= 0 {
		b.merge = defaultMergeWindow
	}
	switch {
	case in.State == nil:
		b.st = BookingState{SalonID: in.SalonID, RecordID: in.RecordID}
	case in.State.V2:
		b.st = *in.State
	default:
		b.st = fromV1(*in.State)
	}
	b.st.V2 = true
	return b
}

// fromV1 takes over the state of a v1 run that continued as new: its armed reminders were
// timers of that run, so they are planned again; the client is taken to know the visit (v1
// did not carry whether its confirmation went out).
func fromV1(st BookingState) BookingState {
	if st.Visit != nil && !st.Cancelled {
		v := *st.Visit
		st.Told = &v
		st.PlanFor = v.Start
	}
	st.Reminders = nil
	return st
}

func (b *bookingFlow) run(ctx workflow.Context) (BookingState, error) {
	for {
		b.drain(ctx)
		if !b.st.PlanFor.IsZero() {
			b.plan(ctx)
			continue
		}
		if ran, err := b.sendDue(ctx); err != nil {
			return b.st, err
		} else if ran {
			continue // one message handled: look at the events that came meanwhile first
		}
		if b.finished(ctx) {
			return b.st, nil
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			b.drain(ctx)
			st := b.st
			return b.st, workflow.NewContinueAsNewError(ctx, BookingWorkflowName,
				BookingInput{SalonID: b.st.SalonID, RecordID: b.st.RecordID, State: &st, MergeWindow: b.merge, NoVersionMarkers: true})
		}
		if err := b.wait(ctx); err != nil {
			return b.st, err
		}
	}
}

// drain applies every event and resume that has arrived.
func (b *bookingFlow) drain(ctx workflow.Context) {
	for {
		var ev RecordEvent
		if !b.events.ReceiveAsync(&ev) {
			break
		}
		b.apply(ctx, ev)
	}
	for b.resume.ReceiveAsync(nil) {
		b.resumed = true
	}
	for b.closed.ReceiveAsync(nil) {
		b.st.Closed = true // the installation ended: nothing more will be sent
		b.drop(func(Outgoing) bool { return true })
	}
	if b.resumed {
		b.resumed = false
		b.unpause(workflow.Now(ctx), true)
	}
}

// finished reports the end: nothing owed, and the record cancelled (once its notice went, or
// the merge window passed with nothing to tell), the installation ended, or the visit long
// past. A later event of the record starts a new run, which reads it as first seen: a
// cancellation undone then is confirmed again.
func (b *bookingFlow) finished(ctx workflow.Context) bool {
	switch {
	case len(b.st.Outbox) > 0:
		return false
	case b.st.Cancelled || b.st.Closed:
		return true
	}
	return b.st.Visit != nil && !workflow.Now(ctx).Before(b.st.Visit.Start.Add(bookingLinger))
}

// wait blocks until an event or a resume arrives or the next thing is due, keeping the timer
// it has when that is early enough (every timer is a Temporal action).
func (b *bookingFlow) wait(ctx workflow.Context) error {
	next := b.nextWake()
	if !next.IsZero() && (b.timer == nil || next.Before(b.timerAt)) {
		if b.cancel != nil {
			b.cancel()
		}
		tctx, cancel := workflow.WithCancel(ctx)
		b.timer, b.timerAt, b.cancel = workflow.NewTimer(tctx, next.Sub(workflow.Now(ctx))), next, cancel
	}
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(b.events, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(b.resume, func(workflow.ReceiveChannel, bool) {})
	sel.AddReceive(b.closed, func(workflow.ReceiveChannel, bool) {})
	if b.timer != nil {
		sel.AddFuture(b.timer, func(workflow.Future) { b.timer, b.timerAt, b.cancel = nil, time.Time{}, nil })
	}
	sel.Select(ctx)
	return ctx.Err()
}

// nextWake is when the next thing is due: an outgoing message, the look of paused ones, the
// end after the visit; zero when only an event can move the booking on.
func (b *bookingFlow) nextWake() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, o := range b.st.Outbox {
		if o.Paused {
			earlier(o.Deadline)
			earlier(b.st.RecheckAt)
		} else {
			earlier(o.At)
		}
	}
	if len(b.st.Outbox) == 0 && b.st.Visit != nil && !b.st.Cancelled {
		earlier(b.st.Visit.Start.Add(bookingLinger))
	}
	return next
}

// plan asks for the reminders of the visit in PlanFor (a visit the client knew of before AI
// Admin, or one whose notice was dropped): the notices that tell a visit bring its plan along.
func (b *bookingFlow) plan(ctx workflow.Context) {
	start := b.st.PlanFor
	var out activities.PlanRemindersOutput
	actx := workflow.WithActivityOptions(ctx, planOptions)
	err := workflow.ExecuteActivity(actx, activities.ActPlanReminders,
		activities.PlanRemindersInput{SalonID: b.st.SalonID, Start: start, Now: workflow.Now(ctx)}).Get(actx, &out)
	if b.st.PlanFor.Equal(start) {
		b.st.PlanFor = time.Time{}
	}
	if err != nil {
		b.log(ctx, texts.ReminderDay, start, ledger.Failed, "plan: "+rootMessage(err))
		return
	}
	b.arm(start, out.Reminders)
}
