package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
)

// sendAlone is the send of a workflow with one message (a new client's welcome): send-message
// until it is sent, skipped or failed, sleeping when it answers Later (a pacing slot, the end
// of quiet hours), waiting for the resume signal when it answers paused (the workflow is then
// on the salon's list of paused messages), or for the message's deadline, and looking on its
// own only rarely (after an hour, doubling, at most every 3 days). Every wait is one timer:
// nothing polls. The error is an activity's failure or the workflow's cancellation.
func sendAlone(ctx workflow.Context, in activities.SendInput) (activities.SendOutput, error) {
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	closed := workflow.GetSignalChannel(ctx, SignalSalonClosed)
	recheck := pauseRecheckFirst
	for {
		for resume.ReceiveAsync(nil) {
		}
		var out activities.SendOutput
		actx := workflow.WithActivityOptions(ctx, sendOptions)
		err := workflow.ExecuteActivity(actx, activities.ActSend, in).Get(actx, &out)
		if noWorker(err) { // the salon's WhatsApp shard has no owner now: try again later
			out, err = activities.SendOutput{Outcome: activities.Later, At: workflow.Now(ctx).Add(sendRetryLater)}, nil
		}
		if err != nil {
			return out, err
		}
		in.Slot = time.Time{}
		wait := time.Duration(0)
		switch out.Outcome {
		case activities.Later:
			wait = out.At.Sub(workflow.Now(ctx))
			if out.Slot {
				in.Slot = out.At
			}
		case ledger.Paused:
			wait = min(recheck, in.Deadline.Sub(workflow.Now(ctx)))
			recheck = min(2*recheck, pauseRecheckMax)
		default:
			return out, nil
		}
		if wait > 0 {
			if ended, err := waitOrResume(ctx, resume, closed, wait, out.Outcome == ledger.Paused); err != nil || ended {
				return activities.SendOutput{Outcome: ledger.Skipped, Reason: "salon closed"}, err
			}
		}
	}
}

// waitOrResume sleeps d; a paused message wakes early on a resume signal; the salon closing
// ends the wait (ended).
func waitOrResume(ctx workflow.Context, resume, closed workflow.ReceiveChannel, d time.Duration, paused bool) (ended bool, err error) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {})
	if paused {
		sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	}
	sel.AddReceive(closed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); ended = true })
	sel.Select(ctx)
	return ended, ctx.Err()
}

// sleepUnlessClosed sleeps d unless the salon's installation ends first (ended).
func sleepUnlessClosed(ctx workflow.Context, d time.Duration) (ended bool, err error) {
	return waitOrResume(ctx, nil, workflow.GetSignalChannel(ctx, SignalSalonClosed), d, false)
}
