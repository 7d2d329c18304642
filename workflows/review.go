package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// ReviewRequestWorkflowName asks a client to score a visit YClients marked attended, and
// answers the score: 4–5 thanks with the salon's review link, 1–3 thanks without it and the
// owner hears of it. The booking workflow starts it (onAttended); one per record, ever.
const ReviewRequestWorkflowName = "review-request"

// SignalReviewScore carries the client's score (ReviewScore), from the client-reply workflow.
const SignalReviewScore = "review-score"

// ReviewID is the workflow ID of a record's review request.
func ReviewID(salonID, recordID int64) string {
	return fmt.Sprintf("review-%d-%d", salonID, recordID)
}

// ReviewRequestInput starts a review request for an attended visit.
type ReviewRequestInput struct {
	SalonID    int64
	RecordID   int64
	Visit      activities.Visit
	AttendedAt time.Time // when YClients' webhook saying so arrived
}

// ReviewScore is a client's score, 1–5.
type ReviewScore struct {
	Score     int
	MessageID string
}

// ReviewResult is what became of a review request.
type ReviewResult struct {
	Request ledger.Outcome // of the request: sent, skipped (with Reason), failed
	Reason  string
	Score   int            // 0: no score within activities.ReviewAnswerWindow
	Answer  ledger.Outcome // of the thanks
}

// SensitivePayload: the input carries the client's name and phone (see activities/pii).
func (ReviewRequestInput) SensitivePayload() {}

var planReviewOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

// ReviewRequest waits the salon's review delay (out of quiet hours), sends the request through
// the salon's paced-send loop, and waits up to activities.ReviewAnswerWindow for the score.
func ReviewRequest(ctx workflow.Context, in ReviewRequestInput) (ReviewResult, error) {
	var plan activities.PlanReviewOutput
	pctx := workflow.WithActivityOptions(ctx, planReviewOptions)
	if err := workflow.ExecuteActivity(pctx, activities.ActPlanReview,
		activities.PlanReviewInput{SalonID: in.SalonID, AttendedAt: in.AttendedAt}).Get(pctx, &plan); err != nil {
		return ReviewResult{Request: ledger.Failed, Reason: "plan: " + rootMessage(err)}, err
	}
	if !plan.Send {
		return ReviewResult{Request: ledger.Skipped, Reason: plan.Reason}, nil
	}
	if d := plan.At.Sub(workflow.Now(ctx)); d > 0 {
		if ended, err := sleepUnlessClosed(ctx, d); err != nil || ended {
			return ReviewResult{Request: ledger.Skipped, Reason: "salon closed"}, err
		}
	}
	out, err := sendPaced(ctx, pacedSend{salonID: in.SalonID, earliest: plan.At, deadline: plan.Deadline,
		activity: activities.ActSendReviewRequest,
		input:    activities.ReviewSendInput{SalonID: in.SalonID, RecordID: in.RecordID, Visit: in.Visit, Deadline: plan.Deadline}})
	if err != nil {
		return ReviewResult{Request: ledger.Failed, Reason: rootMessage(err)}, nil
	}
	res := ReviewResult{Request: out.Outcome, Reason: out.Reason}
	if out.Outcome != ledger.Sent {
		return res, nil
	}
	score, ok := waitScore(ctx, activities.ReviewAnswerWindow)
	if !ok {
		return res, nil
	}
	res.Score = score
	kind := texts.ReviewThanks
	if score <= 3 {
		kind = texts.ReviewSorry
		_ = notifyReply(ctx, activities.ReplyNotice{SalonID: in.SalonID, RecordID: in.RecordID,
			Kind: activities.NoticeLowScore, Visit: in.Visit, Score: score})
	}
	res.Answer = answerClient(ctx, in.SalonID, in.RecordID, kind, in.Visit).Outcome
	return res, nil
}

// waitScore waits up to window for the first score 1–5; the salon's installation ending
// ends the wait.
func waitScore(ctx workflow.Context, window time.Duration) (int, bool) {
	ch := workflow.GetSignalChannel(ctx, SignalReviewScore)
	closed := workflow.GetSignalChannel(ctx, SignalSalonClosed)
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timeout := workflow.NewTimer(tctx, window)
	for {
		var s ReviewScore
		got, over := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &s); got = true })
		sel.AddReceive(closed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); over = true })
		sel.AddFuture(timeout, func(workflow.Future) { over = true })
		sel.Select(ctx)
		switch {
		case over || ctx.Err() != nil:
			return 0, false
		case got && s.Score >= 1 && s.Score <= 5:
			return s.Score, true
		}
	}
}
