package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
)

// pauseRecheck is how often a message waiting for a paused salon (frozen, unlinked, banned)
// checks again until its deadline, unless a resume signal comes first.
const pauseRecheck = 5 * time.Minute

var planOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

var deliverOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute,
		MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

// sendOptions for send-message (booking v2, the welcome): deliverOptions, with a bound on
// the wait for a worker: the activity runs on the salon's WhatsApp shard queue, and a shard
// without an owner would hold the message (and the booking) forever. Past the bound the
// message is tried again later (sendRetryLater) instead of being dropped. An attempt may run
// for up to sendStartToClose, heartbeating: in a reminder storm its re-read waits minutes for
// the cluster's YClients budget (P7: 1,000 salons' day lists take 5), and an attempt cut at
// one minute only to be retried would cost an action each time (19,000 in that storm); a
// worker that dies is still noticed within the heartbeat timeout. (Timeouts are not part of
// what replay compares: no version gate.)
var sendOptions = func() workflow.ActivityOptions {
	o := deliverOptions
	o.ScheduleToStartTimeout = sendScheduleToStart
	o.StartToCloseTimeout, o.HeartbeatTimeout = sendStartToClose, sendHeartbeat
	return o
}()

// sendScheduleToStart bounds the wait of send-message for a worker of the salon's shard;
// sendRetryLater is when a message that found no worker is tried again.
const (
	sendStartToClose    = 12 * time.Minute
	sendHeartbeat       = 30 * time.Second
	sendScheduleToStart = 5 * time.Minute
	sendRetryLater      = 5 * time.Minute
)

// noWorker reports an activity that found no worker within its schedule-to-start bound.
func noWorker(err error) bool {
	var te *temporal.TimeoutError
	return errors.As(err, &te) && te.TimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START
}

// pacedSend is one client message on its way out.
type pacedSend struct {
	salonID  int64
	earliest time.Time
	deadline time.Time // at and after it the message is dropped, never sent late
	activity string    // the sending activity: ActDeliver or ActSendClientWelcome
	input    any
	// resumes counts the resume signals received; nil when the workflow has none.
	resumes func() int
}

// errPlan marks a failure to reserve a send slot.
var errPlan = errors.New("plan")

// sendPaced is the one paced-send loop of every client message: it reserves the salon's next
// send slot, waits for it and runs the sending activity; while the salon cannot send (paused)
// it waits for a resume signal or pauseRecheck and tries again, until the deadline. An error
// is a failure of an activity (wrapping errPlan for the slot), or ctx's cancellation.
func sendPaced(ctx workflow.Context, p pacedSend) (activities.DeliverOutput, error) {
	for {
		if err := ctx.Err(); err != nil {
			return activities.DeliverOutput{}, err
		}
		if now := workflow.Now(ctx); p.earliest.Before(now) {
			p.earliest = now
		}
		if !p.earliest.Before(p.deadline) {
			return activities.DeliverOutput{Outcome: ledger.Skipped, Reason: "expired"}, nil
		}
		var slot activities.PlanSendOutput
		pctx := workflow.WithActivityOptions(ctx, planOptions)
		if err := workflow.ExecuteActivity(pctx, activities.ActPlanSend,
			activities.PlanSendInput{SalonID: p.salonID, Earliest: p.earliest}).Get(pctx, &slot); err != nil {
			return activities.DeliverOutput{}, fmt.Errorf("%w: %w", errPlan, err)
		}
		if d := slot.SendAt.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return activities.DeliverOutput{}, err
			}
		}
		var out activities.DeliverOutput
		dctx := workflow.WithActivityOptions(ctx, deliverOptions)
		if err := workflow.ExecuteActivity(dctx, p.activity, p.input).Get(dctx, &out); err != nil {
			return activities.DeliverOutput{}, err
		}
		if out.Outcome != ledger.Paused {
			return out, nil
		}
		seen := 0
		if p.resumes != nil {
			seen = p.resumes()
		}
		resumed := func() bool { return p.resumes != nil && p.resumes() > seen }
		if _, err := workflow.AwaitWithTimeout(ctx, pauseRecheck, resumed); err != nil {
			return activities.DeliverOutput{}, err
		}
		p.earliest = workflow.Now(ctx)
	}
}
