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
}

func (k Key) params() sqlc.GetMessageByKeyParams {
	return sqlc.GetMessageByKeyParams{SalonID: k.SalonID, RecordID: k.RecordID, Kind: string(k.Kind), VisitTime: k.VisitTime.UTC()}
}

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
	return l.send(ctx, k, phone, text, false)
}

// SendAsking is Send for a message that asks the client to answer (ConfirmLine, a review
// request's score): its row says so (asks_reply), so that the answer finds it.
func (l *Ledger) SendAsking(ctx context.Context, k Key, phone, text string) (Result, error) {
	return l.send(ctx, k, phone, text, true)
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

func (l *Ledger) send(ctx context.Context, k Key, phone, text string, asks bool) (Result, error) {
	row, err := l.row(ctx, k, phone, text, asks)
	if err != nil {
		return Result{}, err
	}
	if row.Status != queued {
		return already(row.Status), nil
	}
	if _, err := l.wa.Send(ctx, k.SalonID, whatsapp.Message{ID: row.WAMessageID, Phone: row.Phone, Text: row.Body}); err != nil {
		switch {
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
		Kind: p.Kind, VisitTime: p.VisitTime, Phone: phone, WAMessageID: NewMessageID(), Body: text, AsksReply: asks})
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
