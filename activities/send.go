package activities

import (
	"context"
	"time"

	"github.com/aiadmin/aiadmin/activities/ledger"
)

// slotSlack is how far ahead of now a pacing slot still counts as now: a slot this close is
// not worth a timer and a second activity.
const slotSlack = time.Second

// Send is send-message, the one send of the booking workflows since the booking-v2 change: the
// decision of Deliver (deadline, kind turned off, installation ended or paused, recipient,
// record re-read, daily cap, exactly once through the ledger), with every wait handed back to
// the workflow instead of polled: Later with the pacing slot it reserved (the next call brings
// it back in Slot), Later with the end of the salon's quiet hours, or paused (the workflow is
// then on the salon's list of paused messages, which an unfreeze or a re-link signals). With
// Plan it also answers the visit's reminders.
func (a *Messaging) Send(ctx context.Context, in SendInput) (SendOutput, error) {
	defer keepAlive(ctx)() // its re-read may wait minutes for the cluster's YClients budget
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return SendOutput{}, err
	}
	var plan []ReminderPlan
	if in.Plan {
		plan = PlanReminderTimes(in.Visit.Start, a.now(), p.loc, p.reminders())
	}
	out, err := a.sendOrWait(ctx, p, in)
	out.Reminders = plan
	return out, err
}

func (a *Messaging) sendOrWait(ctx context.Context, p salonPolicy, in SendInput) (SendOutput, error) {
	key := ledger.Key{SalonID: in.SalonID, RecordID: in.RecordID, Kind: in.Kind, VisitTime: in.Visit.Start, Seq: in.Seq}
	if res, done, err := a.ledger.Finished(ctx, key); err != nil || done {
		return sendOutput(output(res)), err
	}
	if out, decided, err := a.gate(ctx, p, key, in.DeliverInput); decided || err != nil {
		return sendOutput(out), err
	}
	held := heldInQuiet(in.Kind)
	if in.Quiet != nil {
		held = *in.Quiet
	}
	if quiet, end := p.quiet().end(a.now(), p.loc); held && quiet {
		if !end.Before(in.Deadline) {
			out, err := a.skip(ctx, key, in.Visit.ClientPhone, ReasonQuietHours)
			return sendOutput(out), err
		}
		return SendOutput{Outcome: Later, Reason: ReasonQuietHours, At: end}, nil
	}
	if in.Slot.IsZero() || in.Slot.After(a.now().Add(slotSlack)) {
		slot, err := a.PlanSend(ctx, PlanSendInput{SalonID: in.SalonID, Earliest: a.now()})
		if err != nil {
			return SendOutput{}, err
		}
		if slot.SendAt.After(a.now().Add(slotSlack)) {
			return SendOutput{Outcome: Later, Reason: "pacing", At: slot.SendAt, Slot: true}, nil
		}
	}
	out, err := a.deliverNow(ctx, p, key, in.DeliverInput)
	return sendOutput(out), err
}

func sendOutput(o DeliverOutput) SendOutput {
	return SendOutput{Outcome: o.Outcome, Reason: o.Reason}
}
