package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// maxMessageLog bounds the decisions the state keeps for operators (the ledger keeps all).
const maxMessageLog = 50

// sendDue sends the message due first, if any: ran says an activity ran (the events that came
// meanwhile are applied before the next). The error is only the workflow's cancellation.
func (b *bookingFlow) sendDue(ctx workflow.Context) (ran bool, err error) {
	now := workflow.Now(ctx)
	i := b.due(now)
	if i < 0 {
		return false, nil
	}
	o := b.st.Outbox[i]
	in := activities.SendInput{DeliverInput: activities.DeliverInput{SalonID: b.st.SalonID, RecordID: b.st.RecordID,
		Kind: o.Kind, Visit: o.Visit, PrevStart: o.PrevStart, Deadline: o.Deadline, ChangedAt: b.st.ChangedAt},
		Seq: o.Seq, Plan: o.Plan}
	if o.Slot {
		in.Slot = o.At
	}
	var out activities.SendOutput
	actx := workflow.WithActivityOptions(ctx, sendOptions)
	if err := workflow.ExecuteActivity(actx, activities.ActSend, in).Get(actx, &out); err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if noWorker(err) { // the salon's WhatsApp shard has no owner now (ops are alerted)
			b.st.Outbox[i].At = now.Add(sendRetryLater)
			return true, nil
		}
		b.remove(i)
		b.log(ctx, o.Kind, o.Visit.Start, ledger.Failed, rootMessage(err))
		return true, nil
	}
	if o.Plan {
		b.st.Outbox[i].Plan = false
		b.arm(o.Visit.Start, out.Reminders)
	}
	b.outcome(ctx, i, o, out)
	return true, nil
}

// due is the index of the message to send now, -1 when none: the earliest due, or, when the
// salon was paused, one whose deadline came (the activity records it expired) or whose look
// came (one message looks for all).
func (b *bookingFlow) due(now time.Time) int {
	best := -1
	look := !b.st.RecheckAt.IsZero() && !b.st.RecheckAt.After(now)
	for i, o := range b.st.Outbox {
		ready := !o.At.After(now)
		if o.Paused {
			ready = !o.Deadline.After(now) || look
		}
		if ready && (best < 0 || o.At.Before(b.st.Outbox[best].At)) {
			best = i
		}
	}
	return best
}

// outcome applies what send-message answered for the message o at index i.
func (b *bookingFlow) outcome(ctx workflow.Context, i int, o Outgoing, out activities.SendOutput) {
	now := workflow.Now(ctx)
	switch out.Outcome {
	case activities.Later:
		b.st.Outbox[i].At, b.st.Outbox[i].Slot = out.At, out.Slot
	case ledger.Paused:
		b.paused(now, o.Paused)
	default:
		b.remove(i)
		b.log(ctx, o.Kind, o.Visit.Start, out.Outcome, out.Reason)
		b.told(o, out)
		if o.Paused {
			b.unpause(now, true) // the look found the salon sending again
		}
		if out.Outcome == ledger.Skipped && salonEnded(out.Reason) {
			b.st.Closed = true
			b.drop(func(Outgoing) bool { return true })
		}
	}
}

// paused puts every message due on hold for the salon: until a resume signal, a deadline, or
// the next look (after an hour, then doubling, at most daily).
func (b *bookingFlow) paused(now time.Time, looked bool) {
	for i := range b.st.Outbox {
		if !b.st.Outbox[i].At.After(now) {
			b.st.Outbox[i].Paused = true
		}
	}
	switch {
	case b.st.Recheck == 0:
		b.st.Recheck = pauseRecheckFirst
	case looked:
		b.st.Recheck = min(2*b.st.Recheck, pauseRecheckMax)
	default:
		return // the look is already set
	}
	b.st.RecheckAt = now.Add(b.st.Recheck)
}

// unpause lets the messages on hold go now (paced, each still re-checked when it goes).
func (b *bookingFlow) unpause(now time.Time, reset bool) {
	for i := range b.st.Outbox {
		if o := &b.st.Outbox[i]; o.Paused {
			o.Paused, o.Slot = false, false
			o.At = now
		}
	}
	if reset {
		b.st.Recheck, b.st.RecheckAt = 0, time.Time{}
	}
}

// told records what the client now knows: a confirmation or change notice sent (or one the
// salon turned off: the client booked and knows the visit), a cancellation sent.
func (b *bookingFlow) told(o Outgoing, out activities.SendOutput) {
	knows := out.Outcome == ledger.Sent || (out.Outcome == ledger.Skipped && out.Reason == activities.ReasonTurnedOff)
	switch {
	case !knows:
	case o.Kind == texts.Confirmation || o.Kind == texts.Change:
		v := o.Visit
		b.st.Told, b.st.ToldCancelled = &v, false
	case o.Kind == texts.Cancellation:
		b.st.ToldCancelled = true
	}
}

// arm replaces the reminders with the plan for the visit at start, when that is still the
// visit.
func (b *bookingFlow) arm(start time.Time, plan []activities.ReminderPlan) {
	if b.st.Cancelled || b.st.Closed || b.st.Visit == nil || !b.st.Visit.Start.Equal(start) {
		return
	}
	b.drop(func(o Outgoing) bool { return isReminder(o.Kind) })
	b.st.Reminders = nil
	for _, r := range plan {
		b.st.Outbox = append(b.st.Outbox, Outgoing{Kind: r.Kind, Visit: *b.st.Visit, At: r.At, Deadline: r.Deadline})
		b.st.Reminders = append(b.st.Reminders, ReminderInfo{Kind: r.Kind, At: r.At, Deadline: r.Deadline, VisitStart: start})
	}
}

// drop removes the messages owed that match, logging them superseded.
func (b *bookingFlow) drop(match func(Outgoing) bool) {
	kept := b.st.Outbox[:0]
	for _, o := range b.st.Outbox {
		if !match(o) {
			kept = append(kept, o)
			continue
		}
		b.st.Messages = append(b.st.Messages, MessageLog{Kind: o.Kind, VisitStart: o.Visit.Start, Outcome: OutcomeSuperseded})
		if isReminder(o.Kind) {
			b.st.Reminders = nil
		}
	}
	b.st.Outbox = kept
	b.trimLog()
}

func (b *bookingFlow) remove(i int) {
	b.st.Outbox = append(b.st.Outbox[:i], b.st.Outbox[i+1:]...)
}

func (b *bookingFlow) log(ctx workflow.Context, kind texts.Kind, start time.Time, outcome ledger.Outcome, reason string) {
	b.st.Messages = append(b.st.Messages, MessageLog{Kind: kind, VisitStart: start, Outcome: outcome,
		Reason: reason, At: workflow.Now(ctx)})
	b.trimLog()
}

func (b *bookingFlow) trimLog() {
	if n := len(b.st.Messages); n > maxMessageLog {
		b.st.Messages = append([]MessageLog(nil), b.st.Messages[n-maxMessageLog:]...)
	}
}

// salonEnded reports the skip reason of a salon whose installation ended: it never sends
// again.
func salonEnded(reason string) bool {
	switch strings.TrimPrefix(reason, "salon ") {
	case string(StatusUninstalled), string(StatusExpired), string(StatusFailed):
		return strings.HasPrefix(reason, "salon ")
	}
	return false
}
