package activities

import (
	"time"

	"github.com/aiadmin/aiadmin/activities/texts"
)

// The contract of clients' replies (a «1» or «2» to a message that asked them to confirm, a
// score for a review request) and of review requests: names, inputs and outputs.

// Activity names of replies and reviews, pinned at registration.
const (
	ActFindQuestion      = "find-question"
	ActSetAttendance     = "set-attendance"
	ActNotifyReply       = "notify-reply"
	ActPlanReview        = "plan-review"
	ActSendReviewRequest = "send-review-request"
)

// ReviewAnswerWindow is how long a review request waits for the client's score; a number
// written later answers nothing.
const ReviewAnswerWindow = 72 * time.Hour

// ReviewEvery is how often a client is asked for a review by one salon at most.
const ReviewEvery = 30 * 24 * time.Hour

// YClients attendance values (a record's «Статус визита»).
const (
	AttendanceCame      = 1  // the client came (the visit is over: a review may be asked for)
	AttendanceConfirmed = 2  // «Клиент подтвердил»
	AttendanceNoShow    = -1 // «Клиент не пришёл»: the soft cancel
)

// FindQuestionInput asks which of our messages a client's reply answers.
type FindQuestionInput struct {
	SalonID int64
	Phone   string    // the client, as WhatsApp gives it (digits)
	At      time.Time // when the client wrote: only messages sent before it are answered
}

// AskedVisit is an upcoming visit whose confirmation or day-before reminder asked the client
// to confirm, as YClients has it now (still at the time asked about, not cancelled).
type AskedVisit struct {
	RecordID   int64
	Visit      Visit
	AskedAt    time.Time
	Attendance int
	// Declined says the client already answered «не смогу» for this visit.
	Declined bool
}

// AskedReview is a review request that no score has answered yet.
type AskedReview struct {
	RecordID int64
	AskedAt  time.Time
}

// FindQuestionOutput is what the reply may answer: the nearest upcoming visit that asked to
// confirm and the latest open review request (each nil when there is none), and whether the
// salon lets a «не смогу» cancel the visit.
type FindQuestionOutput struct {
	Confirm        *AskedVisit
	Review         *AskedReview
	DeclineCancels bool
}

// AttendanceInput sets a record's attendance in YClients.
type AttendanceInput struct {
	SalonID    int64
	RecordID   int64
	Attendance int // AttendanceConfirmed or AttendanceNoShow
}

// Kinds of ReplyNotice.
const (
	NoticeDeclined     = "client_declined"   // a «не смогу»: the owner calls the client (or it cancelled)
	NoticeLowScore     = "low_review_score"  // a score of 1–3
	NoticeConfirmStuck = "confirm_not_saved" // a confirmation YClients refused
)

// ReplyNotice tells the salon's owner (and, without the client's data, the operators) about
// a client's answer.
type ReplyNotice struct {
	SalonID   int64
	RecordID  int64
	Kind      string // NoticeDeclined, NoticeLowScore or NoticeConfirmStuck
	Visit     Visit
	Score     int  // NoticeLowScore
	Cancelled bool // NoticeDeclined: the visit was cancelled in YClients
}

// PlanReviewInput asks when a visit's review request is due.
type PlanReviewInput struct {
	SalonID    int64
	AttendedAt time.Time // when YClients marked the visit attended
}

// PlanReviewOutput is when the review request goes (At, never in quiet hours) and until when
// it may (Deadline: the next quiet hours, at most reviewSendWindow later); Send is false, with
// Reason, when the salon does not ask for reviews.
type PlanReviewOutput struct {
	Send     bool
	Reason   string
	At       time.Time
	Deadline time.Time
}

// ReviewSendInput sends one review request.
type ReviewSendInput struct {
	SalonID  int64
	RecordID int64
	Visit    Visit
	Deadline time.Time
}

// answersClient reports whether a kind answers what the client wrote: it goes whatever became
// of the record since (a «не смогу» that cancelled it is still answered).
func answersClient(k texts.Kind) bool {
	switch k {
	case texts.DeclineAck, texts.ReviewThanks, texts.ReviewSorry:
		return true
	}
	return false
}

// SensitivePayload: see DeliverInput.
func (FindQuestionInput) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (FindQuestionOutput) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (ReplyNotice) SensitivePayload() {}

// SensitivePayload: see DeliverInput.
func (ReviewSendInput) SensitivePayload() {}
