package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// reviewSendWindow is how late a review request may still go after its moment (a salon that
// could not send then): later it would be a surprise.
const reviewSendWindow = 6 * time.Hour

// reviewQueuedFor is how long a review request's row written and not yet sent holds back
// another request to the same client (two visits marked attended together).
const reviewQueuedFor = 24 * time.Hour

// Skip reasons of review requests.
const (
	ReasonReviewedRecently = "reviewed_recently" // another request went to the client within ReviewEvery
	ReasonNotAttended      = "not attended"      // YClients no longer marks the visit attended
)

// PlanReview says when a visit's review request is due: the salon's review_delay_minutes (or
// the process's review delay, for demos) after YClients marked it attended, moved out of quiet
// hours; nothing when the salon does not ask for reviews.
func (a *Messaging) PlanReview(ctx context.Context, in PlanReviewInput) (PlanReviewOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return PlanReviewOutput{}, err
	}
	if !p.row.ReviewRequests {
		return PlanReviewOutput{Reason: ReasonTurnedOff}, nil
	}
	delay := time.Duration(p.row.ReviewDelayMinutes) * time.Minute
	if a.reviewDelay > 0 {
		delay = a.reviewDelay
	}
	at, deadline := ReviewTimes(in.AttendedAt, delay, p.loc, p.quiet())
	return PlanReviewOutput{Send: true, At: at, Deadline: deadline}, nil
}

// ReviewTimes is when a review request goes: delay after attended, moved to the end of quiet
// hours when it falls in them, and until when it may go: the next quiet hours, at most
// reviewSendWindow later.
func ReviewTimes(attended time.Time, delay time.Duration, loc *time.Location, q QuietHours) (at, deadline time.Time) {
	at = attended.Add(delay)
	if in, end := q.end(at, loc); in {
		at = end
	}
	deadline = at.Add(reviewSendWindow)
	if start, ok := q.nextStart(at, loc); ok && start.Before(deadline) {
		deadline = start
	}
	return at.UTC(), deadline.UTC()
}

// nextStart is the first start of the quiet window after t (in loc); false when there is none.
func (q QuietHours) nextStart(t time.Time, loc *time.Location) (time.Time, bool) {
	if q.From == q.To {
		return time.Time{}, false
	}
	lt := t.In(loc)
	start := time.Date(lt.Year(), lt.Month(), lt.Day(), q.From/60, q.From%60, 0, 0, loc)
	if !start.After(t) {
		start = time.Date(lt.Year(), lt.Month(), lt.Day()+1, q.From/60, q.From%60, 0, 0, loc)
	}
	return start, true
}

// SendReviewRequest asks the client to score their visit, once per record (the ledger) and
// once per client and salon within ReviewEvery. Like Deliver it skips with a reason (turned
// off, expired, opted out, the visit no longer marked attended, the daily cap, another request
// recently) and answers paused when the salon cannot send now. The row is marked as asking, so
// the client's score finds it.
func (a *Messaging) SendReviewRequest(ctx context.Context, in ReviewSendInput) (DeliverOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return DeliverOutput{}, err
	}
	key := ledger.Key{SalonID: in.SalonID, RecordID: in.RecordID, Kind: texts.ReviewRequest, VisitTime: in.Visit.Start}
	if res, done, err := a.ledger.Finished(ctx, key); err != nil || done {
		return output(res), err
	}
	switch {
	case !a.now().Before(in.Deadline):
		return a.skip(ctx, key, in.Visit.ClientPhone, "expired")
	case !p.sends(texts.ReviewRequest):
		return a.skip(ctx, key, in.Visit.ClientPhone, ReasonTurnedOff)
	}
	if reason, final := a.cannotSend(ctx, p, in.SalonID); final {
		return a.skip(ctx, key, in.Visit.ClientPhone, reason)
	} else if reason != "" && a.waits(ctx, in.SalonID, reason) {
		return a.paused(ctx, key, reason), nil
	}
	phone, reason, err := a.recipient(ctx, in.SalonID, in.Visit.ClientPhone)
	if err != nil || reason != "" {
		return a.skipOrFail(ctx, key, in.Visit.ClientPhone, reason, err)
	}
	if reason, err := a.stillAttended(ctx, in); err != nil || reason != "" {
		return a.skipOrFail(ctx, key, phone, reason, err)
	}
	v := texts.Visit{ClientName: in.Visit.ClientName, Start: in.Visit.Start, Services: in.Visit.Services,
		StaffName: in.Visit.StaffName, Now: a.now()}
	text, rerr := texts.Render(texts.ReviewRequest, p.salon(), v, p.overrides())
	if rerr != nil {
		a.log.WarnContext(ctx, "template override failed, default text used", "salonID", in.SalonID, "kind", texts.ReviewRequest, "err", rerr)
	}
	return a.sendReviewOnce(ctx, key, phone, text, a.dailyCap(p))
}

// stillAttended re-reads the record: a skip reason when YClients no longer has the visit as
// attended (deleted, or its attendance changed back).
func (a *Messaging) stillAttended(ctx context.Context, in ReviewSendInput) (string, error) {
	rec, err := a.records.Record(ctx, in.SalonID, in.RecordID)
	switch {
	case yclients.IsNotFound(err):
		return "record cancelled", nil
	case err != nil:
		return "", classify(err)
	case rec.Deleted:
		return "record cancelled", nil
	case rec.Attendance != AttendanceCame:
		return ReasonNotAttended, nil
	}
	return "", nil
}

// sendReviewOnce writes the request's row, then skips it when the client has another one
// within ReviewEvery (of two written at once, the older row goes), else sends it.
func (a *Messaging) sendReviewOnce(ctx context.Context, key ledger.Key, phone, text string, limit ledger.DailyCap) (DeliverOutput, error) {
	r, err := a.ledger.Reserve(ctx, key, phone, text, true)
	if err != nil {
		return DeliverOutput{}, err
	}
	if !r.Queued {
		res, _, err := a.ledger.Finished(ctx, key)
		return output(res), err
	}
	now := a.now()
	recent, err := a.store.ReviewRequestedBefore(ctx, sqlc.ReviewRequestedBeforeParams{SalonID: key.SalonID, Phone: phone,
		ID: r.ID, SentSince: now.Add(-ReviewEvery), QueuedSince: now.Add(-reviewQueuedFor)})
	if err != nil {
		return DeliverOutput{}, fmt.Errorf("earlier review requests: %w", err)
	}
	if recent {
		return a.skip(ctx, key, phone, ReasonReviewedRecently)
	}
	return a.send(ctx, key, phone, text, ledger.SendOptions{Asks: true, Cap: limit})
}
