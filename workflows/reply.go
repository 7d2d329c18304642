package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// ClientReplyWorkflowName handles a client's replies to one salon, one at a time in the order
// they wrote: «1» or «да» confirms the visit asked about (YClients attendance 2, one thanks),
// «2» or «не смогу» tells the owner (or cancels the visit, when the salon lets it) and answers
// the client once, a score goes to the open review request.
const ClientReplyWorkflowName = "client-reply"

// SignalClientReply carries one client message that texts.ParseReply recognised.
const SignalClientReply = "client-reply"

const (
	// replyIdle is how long the workflow waits for the client's next message before it ends.
	replyIdle = 10 * time.Minute
	// replyAnswerWindow is how long an answer to the client may wait for the salon's send slot
	// (or a paused salon): later it is no answer.
	replyAnswerWindow = 30 * time.Minute
	// maxSeenReplies is how many message IDs the workflow remembers against redeliveries.
	maxSeenReplies = 32
)

// ReplyID is the workflow ID of a client's replies to a salon: "reply-<salon>-<client ref>",
// the ref being a keyed hash of the phone (cmd/internal/incoming.ClientRef): IDs are visible
// to operators, phones are not.
func ReplyID(salonID int64, clientRef string) string {
	return fmt.Sprintf("reply-%d-%s", salonID, clientRef)
}

// ClientReplyInput starts (or continues) the workflow of a client's replies to a salon.
type ClientReplyInput struct {
	SalonID int64
	Phone   string   // the client, digits
	Seen    []string // message IDs handled in earlier runs (continue-as-new)
}

// ClientReply is one recognised client message: what texts.ParseReply made of it, never its
// text.
type ClientReply struct {
	MessageID string // WhatsApp's: a message delivered twice is handled once
	Kind      texts.ReplyKind
	Number    int // for texts.ReplyNumber
	At        time.Time
}

// Answer is what a reply was taken for.
type Answer string

// Answers.
const (
	AnswerNone    Answer = "none" // nothing asked it: left to the salon, which sees the chat
	AnswerConfirm Answer = "confirm"
	AnswerDecline Answer = "decline"
	AnswerScore   Answer = "score"
)

// ReplyLog is what became of one reply, for operators.
type ReplyLog struct {
	MessageID string
	Answer    Answer
	RecordID  int64
	Outcome   string
}

// ClientReplyResult lists the replies a run handled.
type ClientReplyResult struct {
	Replies []ReplyLog
}

// SensitivePayload: the input names the client's phone (see activities/pii).
func (ClientReplyInput) SensitivePayload() {}

var findQuestionOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		MaximumAttempts: 8, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

// attendanceOptions: YClients is retried for about 5 minutes (a 429 waits for its
// Retry-After), then the owner is told instead.
var attendanceOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

var notifyReplyOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

// ClientReplies handles a client's replies to a salon until they have been quiet for
// replyIdle.
func ClientReplies(ctx workflow.Context, in ClientReplyInput) (ClientReplyResult, error) {
	r := &clientReplies{in: in, seen: in.Seen}
	ch := workflow.GetSignalChannel(ctx, SignalClientReply)
	for {
		var msg ClientReply
		ok, _ := ch.ReceiveWithTimeout(ctx, replyIdle, &msg)
		if !ok {
			if err := ctx.Err(); err != nil {
				return r.res, err
			}
			if !ch.ReceiveAsync(&msg) {
				return r.res, nil // quiet: done (a later reply starts a new run)
			}
		}
		r.handle(ctx, msg)
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			for ch.ReceiveAsync(&msg) { // signals not received here would be lost
				r.handle(ctx, msg)
			}
			return r.res, workflow.NewContinueAsNewError(ctx, ClientReplyWorkflowName,
				ClientReplyInput{SalonID: in.SalonID, Phone: in.Phone, Seen: r.seen})
		}
	}
}

type clientReplies struct {
	in   ClientReplyInput
	seen []string
	res  ClientReplyResult
}

// handle finds what the reply answers and acts on it.
func (r *clientReplies) handle(ctx workflow.Context, msg ClientReply) {
	if msg.MessageID != "" {
		if slices.Contains(r.seen, msg.MessageID) {
			return
		}
		r.seen = append(r.seen, msg.MessageID)
		if len(r.seen) > maxSeenReplies {
			r.seen = r.seen[len(r.seen)-maxSeenReplies:]
		}
	}
	var q activities.FindQuestionOutput
	actx := workflow.WithActivityOptions(ctx, findQuestionOptions)
	if err := workflow.ExecuteActivity(actx, activities.ActFindQuestion,
		activities.FindQuestionInput{SalonID: r.in.SalonID, Phone: r.in.Phone, At: msg.At}).Get(actx, &q); err != nil {
		r.log(msg, AnswerNone, 0, "find: "+rootMessage(err))
		return
	}
	switch answer := decide(msg, q); answer {
	case AnswerConfirm:
		r.log(msg, answer, q.Confirm.RecordID, r.confirm(ctx, *q.Confirm))
	case AnswerDecline:
		r.log(msg, answer, q.Confirm.RecordID, r.decline(ctx, *q.Confirm, q.DeclineCancels))
	case AnswerScore:
		r.log(msg, answer, q.Review.RecordID, r.score(ctx, msg, *q.Review))
	default:
		r.log(msg, AnswerNone, 0, "nothing asked")
	}
}

// decide says what a reply answers: words answer the visit that asked to confirm; a bare
// number answers the latest question (a review's score, or «1»/«2» to ConfirmLine), and a
// number that cannot answer the confirmation (3–5) goes to an open review.
func decide(msg ClientReply, q activities.FindQuestionOutput) Answer {
	switch msg.Kind {
	case texts.ReplyConfirm, texts.ReplyDecline:
		if q.Confirm == nil {
			return AnswerNone
		}
		if msg.Kind == texts.ReplyConfirm {
			return AnswerConfirm
		}
		return AnswerDecline
	case texts.ReplyNumber:
		if q.Review != nil && (q.Confirm == nil || q.Review.AskedAt.After(q.Confirm.AskedAt)) {
			return AnswerScore
		}
		if q.Confirm != nil {
			switch (texts.Reply{Kind: msg.Kind, Number: msg.Number}).AsConfirmation() {
			case texts.ReplyConfirm:
				return AnswerConfirm
			case texts.ReplyDecline:
				return AnswerDecline
			}
		}
		if q.Review != nil {
			return AnswerScore
		}
	}
	return AnswerNone
}

// confirm marks the visit confirmed in YClients and thanks the client once. YClients' update
// webhook that follows changes nothing the booking tells the client about (attendance is not
// part of Visit.Significant). When YClients refuses, the owner is told, and the client is
// still thanked: they did confirm.
func (r *clientReplies) confirm(ctx workflow.Context, v activities.AskedVisit) string {
	outcome := "confirmed"
	if err := r.setAttendance(ctx, v.RecordID, activities.AttendanceConfirmed); err != nil {
		outcome = "not saved: " + rootMessage(err)
		r.notify(ctx, activities.ReplyNotice{SalonID: r.in.SalonID, RecordID: v.RecordID,
			Kind: activities.NoticeConfirmStuck, Visit: v.Visit})
	}
	out := r.answer(ctx, v.RecordID, texts.ConfirmThanks, v.Visit)
	return outcome + "; thanks " + string(out.Outcome)
}

// decline tells the owner and answers the client with one message. When the salon lets a «не
// смогу» cancel the visit, it is cancelled in YClients (attendance -1) and the one message is
// the cancellation notice under the booking's own ledger key, so the booking workflow, handed
// YClients' cancellation webhook, finds it sent and sends nothing more; a salon that turned
// cancellation notices off gets the acknowledgement sent instead. A repeated «не смогу» for
// the same visit changes nothing.
func (r *clientReplies) decline(ctx workflow.Context, v activities.AskedVisit, cancels bool) string {
	if v.Declined {
		return "declined before"
	}
	cancelled := cancels && r.setAttendance(ctx, v.RecordID, activities.AttendanceNoShow) == nil
	r.notify(ctx, activities.ReplyNotice{SalonID: r.in.SalonID, RecordID: v.RecordID, Kind: activities.NoticeDeclined,
		Visit: v.Visit, Cancelled: cancelled})
	if cancelled {
		out := r.answer(ctx, v.RecordID, texts.Cancellation, v.Visit)
		if out.Outcome != ledger.Skipped || out.Reason != activities.ReasonTurnedOff {
			return "cancelled; cancellation " + string(out.Outcome)
		}
	}
	out := r.answer(ctx, v.RecordID, texts.DeclineAck, v.Visit)
	return fmt.Sprintf("cancelled %t; ack %s", cancelled, out.Outcome)
}

// score hands the score to the visit's review request, which answers it; a request no longer
// waiting (answered, or its window over) takes nothing.
func (r *clientReplies) score(ctx workflow.Context, msg ClientReply, rv activities.AskedReview) string {
	err := workflow.SignalExternalWorkflow(ctx, ReviewID(r.in.SalonID, rv.RecordID), "", SignalReviewScore,
		ReviewScore{Score: msg.Number, MessageID: msg.MessageID}).Get(ctx, nil)
	if err != nil {
		return "review not waiting: " + rootMessage(err)
	}
	return fmt.Sprintf("score %d", msg.Number)
}

func (r *clientReplies) setAttendance(ctx workflow.Context, recordID int64, attendance int) error {
	actx := workflow.WithActivityOptions(ctx, attendanceOptions)
	return workflow.ExecuteActivity(actx, activities.ActSetAttendance, activities.AttendanceInput{SalonID: r.in.SalonID,
		RecordID: recordID, Attendance: attendance}).Get(actx, nil)
}

func (r *clientReplies) notify(ctx workflow.Context, n activities.ReplyNotice) {
	_ = notifyReply(ctx, n)
}

// notifyReply runs the notify-reply activity; a failure is logged by the SDK and not retried
// further (the client's answer does not wait for the owner's channel).
func notifyReply(ctx workflow.Context, n activities.ReplyNotice) error {
	actx := workflow.WithActivityOptions(ctx, notifyReplyOptions)
	return workflow.ExecuteActivity(actx, activities.ActNotifyReply, n).Get(actx, nil)
}

// answer sends one answer to the client through the salon's paced-send loop, within
// replyAnswerWindow.
func (r *clientReplies) answer(ctx workflow.Context, recordID int64, kind texts.Kind, v activities.Visit) activities.DeliverOutput {
	return answerClient(ctx, r.in.SalonID, recordID, kind, v)
}

// answerClient sends one answer (thanks, acknowledgement) about a record through the salon's
// paced-send loop and the deliver activity (the ledger: once per record, kind and visit time).
func answerClient(ctx workflow.Context, salonID, recordID int64, kind texts.Kind, v activities.Visit) activities.DeliverOutput {
	now := workflow.Now(ctx)
	deadline := now.Add(replyAnswerWindow)
	out, err := sendPaced(ctx, pacedSend{salonID: salonID, earliest: now, deadline: deadline, activity: activities.ActDeliver,
		input: activities.DeliverInput{SalonID: salonID, RecordID: recordID, Kind: kind, Visit: v, Deadline: deadline}})
	if err != nil {
		return activities.DeliverOutput{Outcome: ledger.Failed, Reason: rootMessage(err)}
	}
	return out
}

func (r *clientReplies) log(msg ClientReply, a Answer, recordID int64, outcome string) {
	r.res.Replies = append(r.res.Replies, ReplyLog{MessageID: msg.MessageID, Answer: a, RecordID: recordID, Outcome: outcome})
}
