package workflows

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// reviewHarness runs the review-request workflow with time skipping and recording stubs.
type reviewHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	start time.Time

	mu        sync.Mutex
	plan      activities.PlanReviewOutput
	requestAt []time.Time
	requestOK ledger.Outcome
	notices   []activities.ReplyNotice
	delivered []texts.Kind
}

func newReviewHarness(t *testing.T) *reviewHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &reviewHarness{t: t, env: suite.NewTestWorkflowEnvironment(), requestOK: ledger.Sent,
		start: time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC)}
	h.plan = activities.PlanReviewOutput{Send: true, At: h.start.Add(3 * time.Hour), Deadline: h.start.Add(9 * time.Hour)}
	h.env.SetTestTimeout(30 * time.Second)
	h.env.SetStartTime(h.start)
	h.env.RegisterWorkflowWithOptions(ReviewRequest, workflow.RegisterOptions{Name: ReviewRequestWorkflowName})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanReviewInput) (activities.PlanReviewOutput, error) {
		require.Equal(t, h.start, in.AttendedAt)
		return h.plan, nil
	}, activity.RegisterOptions{Name: activities.ActPlanReview})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.ReviewSendInput) (activities.DeliverOutput, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		require.Equal(t, h.plan.Deadline, in.Deadline)
		h.requestAt = append(h.requestAt, h.env.Now())
		return activities.DeliverOutput{Outcome: h.requestOK}, nil
	}, activity.RegisterOptions{Name: activities.ActSendReviewRequest})
	registerReplyStubs(h.env, &h.mu, func() activities.FindQuestionOutput { return activities.FindQuestionOutput{} },
		func(activities.AttendanceInput) error { return nil },
		func(n activities.ReplyNotice) { h.notices = append(h.notices, n) },
		func(in activities.DeliverInput) activities.DeliverOutput {
			h.delivered = append(h.delivered, in.Kind)
			return activities.DeliverOutput{Outcome: ledger.Sent}
		})
	return h
}

func (h *reviewHarness) score(after time.Duration, score int) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalReviewScore, ReviewScore{Score: score, MessageID: "m"})
	}, after)
}

func (h *reviewHarness) run() ReviewResult {
	h.env.ExecuteWorkflow(ReviewRequestWorkflowName, ReviewRequestInput{SalonID: 100001, RecordID: 555, AttendedAt: h.start,
		Visit: activities.Visit{Start: h.start.Add(-time.Hour), ClientName: "Анна", ClientPhone: "79161234567", StaffName: "Оксана"}})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res ReviewResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return res
}

// The request goes after the planned delay; a 5 gets the thanks with the link, once.
func TestReviewRequestHighScore(t *testing.T) {
	h := newReviewHarness(t)
	h.score(4*time.Hour, 5)
	h.score(5*time.Hour, 1) // a second number: the request has been answered
	res := h.run()
	require.Len(t, h.requestAt, 1)
	require.False(t, h.requestAt[0].Before(h.plan.At), "not before the delay: %s", h.requestAt[0])
	require.Less(t, h.requestAt[0].Sub(h.plan.At), time.Minute, "the paced slot right after it")
	require.Equal(t, ReviewResult{Request: ledger.Sent, Score: 5, Answer: ledger.Sent}, res)
	require.Equal(t, []texts.Kind{texts.ReviewThanks}, h.delivered)
	require.Empty(t, h.notices)
}

// A 2 gets thanks without the link, and the owner hears of it with the visit.
func TestReviewRequestLowScore(t *testing.T) {
	h := newReviewHarness(t)
	h.score(4*time.Hour, 9) // not a score
	h.score(4*time.Hour+time.Minute, 2)
	res := h.run()
	require.Equal(t, 2, res.Score)
	require.Equal(t, []texts.Kind{texts.ReviewSorry}, h.delivered)
	require.Len(t, h.notices, 1)
	require.Equal(t, activities.NoticeLowScore, h.notices[0].Kind)
	require.Equal(t, 2, h.notices[0].Score)
	require.Equal(t, "Оксана", h.notices[0].Visit.StaffName)
}

// No score within the window: the workflow ends quietly; a salon without review requests, or
// a skipped request, ends it at once.
func TestReviewRequestEnds(t *testing.T) {
	t.Run("no score", func(t *testing.T) {
		h := newReviewHarness(t)
		res := h.run()
		require.Equal(t, ReviewResult{Request: ledger.Sent}, res)
		require.Empty(t, h.delivered)
		require.GreaterOrEqual(t, h.env.Now().Sub(h.plan.At), activities.ReviewAnswerWindow)
	})
	t.Run("turned off", func(t *testing.T) {
		h := newReviewHarness(t)
		h.plan = activities.PlanReviewOutput{Reason: activities.ReasonTurnedOff}
		res := h.run()
		require.Equal(t, ReviewResult{Request: ledger.Skipped, Reason: activities.ReasonTurnedOff}, res)
		require.Empty(t, h.requestAt)
	})
	t.Run("skipped", func(t *testing.T) {
		h := newReviewHarness(t)
		h.requestOK = ledger.Skipped
		res := h.run()
		require.Equal(t, ledger.Skipped, res.Request)
		require.Less(t, h.env.Now().Sub(h.start), 4*time.Hour, "no wait for a score nobody was asked for")
	})
}

// An event marking the visit attended starts its review request once, as a child that
// outlives the booking; the booking does not end before it started.
func TestBookingStartsTheReviewRequestWhenAttended(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	var mu sync.Mutex
	var started []ReviewRequestInput
	h.env.RegisterWorkflowWithOptions(ReviewRequest, workflow.RegisterOptions{Name: ReviewRequestWorkflowName})
	h.env.OnWorkflow(ReviewRequestWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in ReviewRequestInput) (ReviewResult, error) {
			mu.Lock()
			defer mu.Unlock()
			started = append(started, in)
			return ReviewResult{}, nil
		})
	start := h.local("2026-12-12 14:30")
	v := h.visit(start, 7, 1)
	signal := func(at time.Duration, id int64, attendance int) {
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(SignalRecordEvent, RecordEvent{InboxID: id, Status: "update", Visit: v, Attendance: attendance,
				ReceivedAt: h.env.Now()})
		}, at)
	}
	signal(time.Minute, 1, 2) // confirmed by the client: no notice, no review
	signal(2*time.Minute, 2, 0)
	signal(time.Hour+time.Minute, 3, 1) // marked attended after the visit
	signal(time.Hour+2*time.Minute, 4, 1)
	st := h.run(h.local("2026-12-12 13:30"))
	require.Empty(t, h.kinds(), "an update known from before, attendance changes: nothing to tell")
	require.False(t, st.Cancelled)
	require.Len(t, started, 1, "one review request per record")
	require.Equal(t, int64(555), started[0].RecordID)
	require.Equal(t, "Анна", started[0].Visit.ClientName)
	require.Equal(t, h.local("2026-12-12 14:31").UTC(), started[0].AttendedAt.UTC())
}
