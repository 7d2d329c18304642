// Package pairing carries a pairing attempt's items (QR codes, the pairing code, the outcome)
// from the worker that owns the salon's WhatsApp connection to the connect page of the API
// process. Codes are secrets: they are sealed (AES-GCM, bound to the salon) in short-lived
// pairing_events rows and never pass through workflow history or logs.
package pairing

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Item is one decrypted pairing event. Code is a secret: never log it.
type Item struct {
	ID        int64             // increasing; the connect page keeps the last one it showed as its cursor
	Attempt   int               // the installation's pairing attempt (workflows.PairingState.Attempt)
	Kind      whatsapp.PairKind // qr, code, success, timeout or error
	Code      string            // the QR payload or the pairing code "ABCD-EFGH"; secret
	Message   string            // for an error item: a Russian text for the owner
	ExpiresAt time.Time         // when Code stops working; zero for terminal items
}

// Events reads and writes a salon's pairing events.
type Events struct {
	store *db.Store
	box   *secretbox.Box
	now   func() time.Time
}

// New returns the pairing events over store, sealed with box; now is the clock (nil:
// time.Now).
func New(store *db.Store, box *secretbox.Box, now func() time.Time) *Events {
	if now == nil {
		now = time.Now
	}
	return &Events{store: store, box: box, now: now}
}

func aad(salonID int64) []byte { return []byte(fmt.Sprintf("pairing:%d", salonID)) }

// Attempt names a pairing attempt: the salon, its number, and the browser session it is for.
type Attempt struct {
	SalonID int64
	Number  int
	Session string
}

// Record stores one item of an attempt; a code is sealed and expires with the event, a message
// (the owner's text of an error) is sealed too.
func (e *Events) Record(ctx context.Context, at Attempt, ev whatsapp.PairEvent, message string) error {
	salonID := at.SalonID
	p := sqlc.InsertPairingEventParams{SalonID: salonID, Attempt: strconv.Itoa(at.Number), Kind: string(ev.Kind), Session: at.Session}
	payload := message
	if ev.Kind == whatsapp.PairQR || ev.Kind == whatsapp.PairCode {
		payload = ev.Code
		exp := e.now().Add(ev.ExpiresIn)
		p.ExpiresAt = &exp
	}
	if payload != "" {
		sealed, err := e.box.Seal([]byte(payload), aad(salonID))
		if err != nil {
			return fmt.Errorf("seal pairing code: %w", err)
		}
		p.PayloadEnc = sealed
	}
	if _, err := e.store.InsertPairingEvent(context.WithoutCancel(ctx), p); err != nil {
		return fmt.Errorf("store pairing event: %w", err)
	}
	return nil
}

// Clear forgets the salon's pairing events (a new attempt, an uninstall).
func (e *Events) Clear(ctx context.Context, salonID int64) error {
	if _, err := e.store.DeletePairingEvents(ctx, salonID); err != nil {
		return fmt.Errorf("clear pairing events: %w", err)
	}
	return nil
}

// Since returns the items of the salon's attempts for one browser session (and of attempts
// that named none) newer than afterID, oldest first, leaving out codes that have expired.
// Another session's codes never reach it.
func (e *Events) Since(ctx context.Context, salonID int64, session string, afterID int64) ([]Item, error) {
	rows, err := e.store.ListSessionPairingEvents(ctx, sqlc.ListSessionPairingEventsParams{
		SalonID: salonID, AfterID: afterID, Session: session, MaxRows: 50})
	if err != nil {
		return nil, err
	}
	now := e.now()
	items := make([]Item, 0, len(rows))
	for _, r := range rows {
		it := Item{ID: r.ID, Kind: whatsapp.PairKind(r.Kind)}
		it.Attempt, _ = strconv.Atoi(r.Attempt)
		if r.ExpiresAt != nil {
			if !r.ExpiresAt.After(now) {
				continue
			}
			it.ExpiresAt = *r.ExpiresAt
		}
		if len(r.PayloadEnc) > 0 {
			plain, err := e.box.Open(r.PayloadEnc, aad(salonID))
			if err != nil {
				return nil, fmt.Errorf("open pairing event %d: %w", r.ID, err)
			}
			if it.Kind == whatsapp.PairQR || it.Kind == whatsapp.PairCode {
				it.Code = string(plain)
			} else {
				it.Message = string(plain)
			}
		}
		items = append(items, it)
	}
	return items, nil
}
