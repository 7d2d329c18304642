// Package ledger is the send-once ledger of every WhatsApp message AI Admin sends. A message is
// named by its Key (salon, record, kind, visit time); its row is written with a pre-generated
// WhatsApp message ID before the send, so duplicate webhooks, retried activities and crashes
// deliver it at most once, and the row keeps what became of it (sent, skipped or failed, with a
// reason).
package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/jackc/pgx/v5/pgtype"
)

// Outcome is what became of a message.
type Outcome string

// Outcomes. Sent, Skipped and Failed are final and stored; Paused is not stored: the salon
// cannot send now (frozen, unlinked, banned), the message is to be tried again later.
const (
	Sent    Outcome = "sent"
	Skipped Outcome = "skipped"
	Failed  Outcome = "failed"
	Paused  Outcome = "paused"
)

// queued is the status of a row written and not yet sent.
const queued = "queued"

// Epoch is the visit time of messages that belong to no visit (welcomes, acknowledgements).
var Epoch = time.Unix(0, 0).UTC()

// Key names one message.
type Key struct {
	SalonID   int64
	RecordID  int64 // the YClients record; for messages about no record, another stable ID or 0
	Kind      texts.Kind
	VisitTime time.Time // Epoch for messages about no visit
	// Seq names the message among those of one kind about one record and visit time (0 when
	// there is only one; a notice takes the inbox ID of the webhook that caused it): a visit
	// moved back to a time told before, or restored after a cancellation, is told again under
	// a new Seq.
	Seq int64
}

func (k Key) params() sqlc.GetMessageByKeyParams {
	return sqlc.GetMessageByKeyParams{SalonID: k.SalonID, RecordID: k.RecordID, Kind: string(k.Kind),
		VisitTime: k.VisitTime.UTC(), Seq: k.Seq}
}

// DailyCap is a salon's cap on messages a day: Limit messages (0: none) on the salon-local
// Day.
type DailyCap struct {
	Limit int
	Day   time.Time // the salon-local date (its time of day is ignored)
}

// ReasonDailyCap is the skip reason of a message over the salon's daily cap.
const ReasonDailyCap = "daily_cap"

// Result is what became of one message. Cause is the WhatsApp error behind Paused and Failed;
// Already says an earlier call had finished the message.
type Result struct {
	Outcome Outcome
	Reason  string
	Cause   error
	Already bool
}

func already(status string) Result {
	return Result{Outcome: Outcome(status), Reason: "already " + status, Already: true}
}

// Ledger sends messages through WhatsApp at most once each.
type Ledger struct {
	store *db.Store
	wa    whatsapp.Client
	now   func() time.Time
}

// New returns a ledger over store that sends through wa; now is the clock (nil: time.Now).
func New(store *db.Store, wa whatsapp.Client, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{store: store, wa: wa, now: now}
}

// Finished reports the final outcome of a message already sent, skipped or failed; ok is false
// while it is still to be sent or unknown.
func (l *Ledger) Finished(ctx context.Context, k Key) (res Result, ok bool, err error) {
	row, err := l.store.GetMessageByKey(ctx, k.params())
	switch {
	case db.IsNotFound(err):
		return Result{}, false, nil
	case err != nil:
		return Result{}, false, fmt.Errorf("ledger: %w", err)
	case row.Status == queued:
		return Result{}, false, nil
	}
	return already(row.Status), true, nil
}

// Send writes (or finds) the message's row, then sends text to phone under the row's message
// ID, so a retry can never deliver twice. A salon that cannot send now gives Paused; an error
// final for this message (not on WhatsApp, invalid number, reach-out limit) marks the row
// failed; any other error is returned for the caller to retry.
func (l *Ledger) Send(ctx context.Context, k Key, phone, text string) (Result, error) {
	return l.SendWith(ctx, k, phone, text, SendOptions{})
}

// SendAsking is Send for a message that asks the client to answer (ConfirmLine, a review
// request's score): its row says so (asks_reply), so that the answer finds it.
func (l *Ledger) SendAsking(ctx context.Context, k Key, phone, text string) (Result, error) {
	return l.SendWith(ctx, k, phone, text, SendOptions{Asks: true})
}

// SendOptions are how a message is sent: Asks marks one that asks the client to answer; Cap
// is the salon's daily cap it counts against (none when its Limit is 0).
type SendOptions struct {
	Asks bool
	Cap  DailyCap
}

// Reservation is a message's row as Reserve wrote or found it.
type Reservation struct {
	ID     int64
	Queued bool // still to be sent: no earlier call finished it
}

// Reserve writes the message's row (queued, with its text) without sending it, or finds it:
// a caller that must check something against the other rows first (two racing review
// requests) reserves, checks, then sends (Send and SendAsking send the reserved text) or
// skips.
func (l *Ledger) Reserve(ctx context.Context, k Key, phone, text string, asks bool) (Reservation, error) {
	row, err := l.row(ctx, k, phone, text, asks)
	if err != nil {
		return Reservation{}, err
	}
	return Reservation{ID: row.ID, Queued: row.Status == queued}, nil
}

// SendWith is Send with options. Within a daily cap the message counts on the cap's day once
// (a retry does not count it again), and a message over the cap is skipped (ReasonDailyCap):
// the count is taken and raised in one transaction, so concurrent sends cannot overrun it.
func (l *Ledger) SendWith(ctx context.Context, k Key, phone, text string, o SendOptions) (Result, error) {
	row, err := l.row(ctx, k, phone, text, o.Asks)
	if err != nil {
		return Result{}, err
	}
	if row.Status != queued {
		return already(row.Status), nil
	}
	if ok, err := l.reserve(ctx, row.ID, k.SalonID, o.Cap); err != nil {
		return Result{}, err
	} else if !ok {
		return l.mark(ctx, k, row.ID, Skipped, errors.New(ReasonDailyCap))
	}
	if _, err := l.wa.Send(ctx, k.SalonID, whatsapp.Message{ID: row.WAMessageID, Phone: row.Phone, Text: row.Body}); err != nil {
		switch {
		case errors.Is(err, whatsapp.ErrElsewhere):
			// Not the salon's state: this worker lost its shard (e.g. while PostgreSQL
			// restarted). The activity is retried and runs where the connection now is; a
			// pause would wait minutes for a recheck.
			return Result{}, err
		case errors.Is(err, whatsapp.ErrNotConnected), errors.Is(err, whatsapp.ErrNotLinked), errors.Is(err, whatsapp.ErrUnreachable):
			return Result{Outcome: Paused, Reason: whatsapp.RedactPhones(err.Error()), Cause: err}, nil
		case errors.Is(err, whatsapp.ErrNotOnWhatsApp), errors.Is(err, whatsapp.ErrInvalidPhone), errors.Is(err, whatsapp.ErrReachoutLimited):
			return l.mark(ctx, k, row.ID, Failed, err)
		}
		return Result{}, err
	}
	sent := l.now()
	if err := l.store.MarkMessageSent(context.WithoutCancel(ctx), sqlc.MarkMessageSentParams{ID: row.ID, SentAt: &sent}); err != nil {
		return Result{}, fmt.Errorf("ledger: mark sent: %w", err)
	}
	metrics.Message(string(k.Kind), string(Sent), "")
	return Result{Outcome: Sent}, nil
}

// reserve counts the message on the cap's day, unless it was counted before; false when the
// cap is reached.
func (l *Ledger) reserve(ctx context.Context, id, salonID int64, limit DailyCap) (bool, error) {
	if limit.Limit <= 0 {
		return true, nil
	}
	day := time.Date(limit.Day.Year(), limit.Day.Month(), limit.Day.Day(), 0, 0, 0, 0, time.UTC)
	date := pgtype.Date{Time: day, Valid: true}
	ok := false
	err := l.store.InTx(ctx, func(q *sqlc.Queries) error {
		counted, err := q.LockMessage(ctx, id)
		if err != nil {
			return err
		}
		if counted.Valid && counted.Time.Equal(day) {
			ok = true
			return nil
		}
		_, err = q.ReserveDailySend(ctx, sqlc.ReserveDailySendParams{SalonID: salonID, Day: day, DailyCap: int32(limit.Limit)})
		if db.IsNotFound(err) {
			return nil // the cap is reached
		}
		if err != nil {
			return err
		}
		ok = true
		return q.MarkMessageCapped(ctx, sqlc.MarkMessageCappedParams{ID: id, Day: date})
	})
	if err != nil {
		return false, fmt.Errorf("ledger: daily cap: %w", err)
	}
	return ok, nil
}

// Skip records that the message will not be sent, and why. A message already sent stays sent.
func (l *Ledger) Skip(ctx context.Context, k Key, phone, reason string) (Result, error) {
	return l.finish(ctx, k, phone, Skipped, errors.New(reason))
}

// Fail records that the message could not be sent and will not be tried again.
func (l *Ledger) Fail(ctx context.Context, k Key, phone string, cause error) (Result, error) {
	return l.finish(ctx, k, phone, Failed, cause)
}

func (l *Ledger) finish(ctx context.Context, k Key, phone string, outcome Outcome, cause error) (Result, error) {
	row, err := l.row(ctx, k, phone, "", false)
	if err != nil {
		return Result{}, err
	}
	if row.Status != queued {
		return already(row.Status), nil
	}
	return l.mark(ctx, k, row.ID, outcome, cause)
}

// mark finishes a row. Reasons go to operators and into workflow history: phone numbers and
// JIDs in them are masked.
func (l *Ledger) mark(ctx context.Context, k Key, id int64, outcome Outcome, cause error) (Result, error) {
	reason := whatsapp.RedactPhones(cause.Error())
	var err error
	if outcome == Skipped {
		_, err = l.store.MarkMessageSkipped(ctx, sqlc.MarkMessageSkippedParams{ID: id, Reason: reason})
	} else {
		_, err = l.store.MarkMessageFailed(ctx, sqlc.MarkMessageFailedParams{ID: id, Reason: reason})
	}
	if err != nil {
		return Result{}, fmt.Errorf("ledger: mark %s: %w", outcome, err)
	}
	label := failReason(cause)
	if outcome == Skipped {
		label = metrics.SkipReason(cause.Error())
	}
	metrics.Message(string(k.Kind), string(outcome), label)
	return Result{Outcome: outcome, Reason: reason, Cause: cause}, nil
}

// failReason is the metrics label of why a message failed for good.
func failReason(err error) string {
	switch {
	case errors.Is(err, whatsapp.ErrNotOnWhatsApp):
		return "not_on_whatsapp"
	case errors.Is(err, whatsapp.ErrInvalidPhone):
		return "invalid_phone"
	case errors.Is(err, whatsapp.ErrReachoutLimited):
		return "reachout_limited"
	case errors.Is(err, whatsapp.ErrNotLinked):
		return "not_linked"
	}
	return "other"
}

// row writes the message's row, or reads it when it exists: the first row, and its message
// ID, text and asks flag, wins.
func (l *Ledger) row(ctx context.Context, k Key, phone, text string, asks bool) (sqlc.Message, error) {
	p := k.params()
	row, err := l.store.InsertMessage(ctx, sqlc.InsertMessageParams{SalonID: p.SalonID, RecordID: p.RecordID,
		Kind: p.Kind, VisitTime: p.VisitTime, Seq: p.Seq, Phone: phone, WAMessageID: NewMessageID(), Body: text, AsksReply: asks})
	inserted, err := db.Inserted(err)
	if err == nil && !inserted {
		row, err = l.store.GetMessageByKey(ctx, p)
	}
	if err != nil {
		return sqlc.Message{}, fmt.Errorf("ledger: %w", err)
	}
	return row, nil
}

// NewMessageID generates a WhatsApp message ID in the format WhatsApp Web uses (hex, 3EB0
// prefix).
func NewMessageID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b))
}
