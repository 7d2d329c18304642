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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 12, 11, 15, 0, 0, 0, time.UTC)
	confirm := &activities.AskedVisit{RecordID: 1, AskedAt: t0}
	olderReview := &activities.AskedReview{RecordID: 2, AskedAt: t0.Add(-time.Hour)}
	newerReview := &activities.AskedReview{RecordID: 2, AskedAt: t0.Add(time.Hour)}
	num := func(n int) ClientReply { return ClientReply{Kind: texts.ReplyNumber, Number: n} }
	word := func(k texts.ReplyKind) ClientReply { return ClientReply{Kind: k} }
	for _, c := range []struct {
		name string
		msg  ClientReply
		q    activities.FindQuestionOutput
		want Answer
	}{
		{"«да» to a reminder", word(texts.ReplyConfirm), activities.FindQuestionOutput{Confirm: confirm}, AnswerConfirm},
		{"«не смогу» to a reminder", word(texts.ReplyDecline), activities.FindQuestionOutput{Confirm: confirm}, AnswerDecline},
		{"«да» with nothing asked", word(texts.ReplyConfirm), activities.FindQuestionOutput{}, AnswerNone},
		{"«да» to a review request", word(texts.ReplyConfirm), activities.FindQuestionOutput{Review: newerReview}, AnswerNone},
		{"«1» to a reminder", num(1), activities.FindQuestionOutput{Confirm: confirm}, AnswerConfirm},
		{"«2» to a reminder", num(2), activities.FindQuestionOutput{Confirm: confirm}, AnswerDecline},
		{"«5» to a reminder only", num(5), activities.FindQuestionOutput{Confirm: confirm}, AnswerNone},
		{"«2» to a review request", num(2), activities.FindQuestionOutput{Review: newerReview}, AnswerScore},
		{"«2» when the review asked last", num(2), activities.FindQuestionOutput{Confirm: confirm, Review: newerReview}, AnswerScore},
		{"«2» when the reminder asked last", num(2), activities.FindQuestionOutput{Confirm: confirm, Review: olderReview}, AnswerDecline},
		{"«5» when the reminder asked last: the open review", num(5), activities.FindQuestionOutput{Confirm: confirm, Review: olderReview}, AnswerScore},
		{"«3» with nothing asked", num(3), activities.FindQuestionOutput{}, AnswerNone},
		{"«стоп» never comes here", word(texts.ReplyStop), activities.FindQuestionOutput{Confirm: confirm}, AnswerNone},
	} {
		require.Equal(t, c.want, decide(c.msg, c.q), c.name)
	}
}

// replyHarness runs the client-reply workflow with time skipping and recording stubs.
type replyHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu         sync.Mutex
	question   activities.FindQuestionOutput
	attendance []int
	attErr     error
	notices    []activities.ReplyNotice
	delivered  []texts.Kind
	deliverOut func(activities.DeliverInput) activities.DeliverOutput
}

func newReplyHarness(t *testing.T) *replyHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &replyHarness{t: t, env: suite.NewTestWorkflowEnvironment(),
		deliverOut: func(activities.DeliverInput) activities.DeliverOutput {
			return activities.DeliverOutput{Outcome: ledger.Sent}
		}}
	h.env.SetTestTimeout(30 * time.Second)
	h.env.RegisterWorkflowWithOptions(ClientReplies, workflow.RegisterOptions{Name: ClientReplyWorkflowName})
	registerReplyStubs(h.env, &h.mu, func() activities.FindQuestionOutput { return h.question },
		func(in activities.AttendanceInput) error {
			h.attendance = append(h.attendance, in.Attendance)
			return h.attErr
		},
		func(n activities.ReplyNotice) { h.notices = append(h.notices, n) },
		func(in activities.DeliverInput) activities.DeliverOutput {
			h.delivered = append(h.delivered, in.Kind)
			return h.deliverOut(in)
		})
	return h
}

// registerReplyStubs registers the reply and send activities as stubs called under mu.
func registerReplyStubs(env *testsuite.TestWorkflowEnvironment, mu *sync.Mutex, find func() activities.FindQuestionOutput,
	attend func(activities.AttendanceInput) error, notice func(activities.ReplyNotice), deliver func(activities.DeliverInput) activities.DeliverOutput) {
	env.RegisterActivityWithOptions(func(context.Context, activities.FindQuestionInput) (activities.FindQuestionOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		return find(), nil
	}, activity.RegisterOptions{Name: activities.ActFindQuestion})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.AttendanceInput) error {
		mu.Lock()
		defer mu.Unlock()
		return attend(in)
	}, activity.RegisterOptions{Name: activities.ActSetAttendance})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.ReplyNotice) error {
		mu.Lock()
		defer mu.Unlock()
		notice(in)
		return nil
	}, activity.RegisterOptions{Name: activities.ActNotifyReply})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanSendInput) (activities.PlanSendOutput, error) {
		return activities.PlanSendOutput{SendAt: in.Earliest.Add(10 * time.Second)}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanSend})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.DeliverInput) (activities.DeliverOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		return deliver(in), nil
	}, activity.RegisterOptions{Name: activities.ActDeliver})
}

func (h *replyHarness) reply(at time.Duration, msg ClientReply) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalClientReply, msg) }, at)
}

func (h *replyHarness) run() ClientReplyResult {
	h.env.ExecuteWorkflow(ClientReplyWorkflowName, ClientReplyInput{SalonID: 100001, Phone: "79161234567"})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var res ClientReplyResult
	require.NoError(h.t, h.env.GetWorkflowResult(&res))
	return res
}

func askedVisit() *activities.AskedVisit {
	return &activities.AskedVisit{RecordID: 555, AskedAt: time.Now().Add(-time.Hour),
		Visit: activities.Visit{Start: time.Now().Add(24 * time.Hour), ClientName: "Анна", ClientPhone: "79161234567", StaffName: "Оксана"}}
}

// «1» confirms once in YClients and thanks once, whatever WhatsApp redelivers; the workflow
// ends when the client has been quiet for replyIdle.
func TestClientReplyConfirms(t *testing.T) {
	h := newReplyHarness(t)
	h.question = activities.FindQuestionOutput{Confirm: askedVisit()}
	msg := ClientReply{MessageID: "3EB0A", Kind: texts.ReplyNumber, Number: 1}
	h.reply(time.Second, msg)
	h.reply(2*time.Second, msg) // delivered again
	res := h.run()
	require.Equal(t, []int{activities.AttendanceConfirmed}, h.attendance)
	require.Equal(t, []texts.Kind{texts.ConfirmThanks}, h.delivered)
	require.Empty(t, h.notices)
	require.Len(t, res.Replies, 1)
	require.Equal(t, AnswerConfirm, res.Replies[0].Answer)
	require.Equal(t, int64(555), res.Replies[0].RecordID)
	require.GreaterOrEqual(t, h.env.Now().Sub(time.Now()), replyIdle-time.Minute, "quiet for replyIdle before it ends")
}

// A confirmation YClients refuses still thanks the client; the owner is told to mark it.
func TestClientReplyConfirmNotSaved(t *testing.T) {
	h := newReplyHarness(t)
	h.question = activities.FindQuestionOutput{Confirm: askedVisit()}
	h.attErr = temporal.NewNonRetryableApplicationError("record gone", activities.ErrTypeNotFound, nil)
	h.reply(time.Second, ClientReply{MessageID: "a", Kind: texts.ReplyConfirm})
	res := h.run()
	require.Equal(t, []texts.Kind{texts.ConfirmThanks}, h.delivered)
	require.Len(t, h.notices, 1)
	require.Equal(t, activities.NoticeConfirmStuck, h.notices[0].Kind)
	require.Contains(t, res.Replies[0].Outcome, "not saved")
}

// «не смогу» tells the owner and acknowledges once; a second one changes nothing; words
// with nothing asked are left to the salon.
func TestClientReplyDeclines(t *testing.T) {
	h := newReplyHarness(t)
	h.question = activities.FindQuestionOutput{Confirm: askedVisit()}
	h.reply(time.Second, ClientReply{MessageID: "a", Kind: texts.ReplyDecline})
	h.env.RegisterDelayedCallback(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		q := askedVisit()
		q.Declined = true
		h.question = activities.FindQuestionOutput{Confirm: q}
	}, time.Minute)
	h.reply(2*time.Minute, ClientReply{MessageID: "b", Kind: texts.ReplyNumber, Number: 2})
	h.env.RegisterDelayedCallback(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.question = activities.FindQuestionOutput{}
	}, 3*time.Minute)
	h.reply(4*time.Minute, ClientReply{MessageID: "c", Kind: texts.ReplyConfirm})
	res := h.run()
	require.Empty(t, h.attendance, "the salon does not let a «не смогу» cancel")
	require.Equal(t, []texts.Kind{texts.DeclineAck}, h.delivered)
	require.Len(t, h.notices, 1)
	require.Equal(t, activities.NoticeDeclined, h.notices[0].Kind)
	require.False(t, h.notices[0].Cancelled)
	require.Equal(t, "Анна", h.notices[0].Visit.ClientName)
	require.Equal(t, []Answer{AnswerDecline, AnswerDecline, AnswerNone}, answers(res))
	require.Equal(t, "declined before", res.Replies[1].Outcome)
}

// With decline_cancels the visit is cancelled in YClients and the client's one message is the
// cancellation notice (the booking's ledger key); with cancellation notices turned off, the
// acknowledgement instead.
func TestClientReplyDeclineCancels(t *testing.T) {
	for _, c := range []struct {
		name string
		off  bool
		want []texts.Kind
	}{
		{"cancellation notice", false, []texts.Kind{texts.Cancellation}},
		{"cancellation notices off", true, []texts.Kind{texts.Cancellation, texts.DeclineAck}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newReplyHarness(t)
			h.question = activities.FindQuestionOutput{Confirm: askedVisit(), DeclineCancels: true}
			h.deliverOut = func(in activities.DeliverInput) activities.DeliverOutput {
				if c.off && in.Kind == texts.Cancellation {
					return activities.DeliverOutput{Outcome: ledger.Skipped, Reason: activities.ReasonTurnedOff}
				}
				return activities.DeliverOutput{Outcome: ledger.Sent}
			}
			h.reply(time.Second, ClientReply{MessageID: "a", Kind: texts.ReplyNumber, Number: 2})
			h.run()
			require.Equal(t, []int{activities.AttendanceNoShow}, h.attendance)
			require.Equal(t, c.want, h.delivered)
			require.Len(t, h.notices, 1)
			require.True(t, h.notices[0].Cancelled)
		})
	}
}

// A score goes to the visit's review request; a number nothing asked is left alone.
func TestClientReplyScoreGoesToTheReview(t *testing.T) {
	h := newReplyHarness(t)
	h.question = activities.FindQuestionOutput{Review: &activities.AskedReview{RecordID: 777, AskedAt: time.Now()}}
	var got []ReviewScore
	h.env.OnSignalExternalWorkflow(mock.Anything, ReviewID(100001, 777), "", SignalReviewScore, mock.Anything).
		Return(func(_, _, _, _ string, arg any) error {
			got = append(got, arg.(ReviewScore))
			return nil
		})
	h.reply(time.Second, ClientReply{MessageID: "a", Kind: texts.ReplyNumber, Number: 5})
	res := h.run()
	require.Equal(t, []ReviewScore{{Score: 5, MessageID: "a"}}, got)
	require.Equal(t, []Answer{AnswerScore}, answers(res))
	require.Empty(t, h.delivered, "the review request answers")
}

func answers(res ClientReplyResult) []Answer {
	var out []Answer
	for _, r := range res.Replies {
		out = append(out, r.Answer)
	}
	return out
}
