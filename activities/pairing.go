package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Messages shown to the owner when a pairing attempt fails.
const (
	msgUnreachable  = "Не удаётся связаться с серверами WhatsApp. Проверьте интернет и нажмите «Показать новый код»."
	msgInvalidPhone = "Номер телефона указан неверно. Введите номер в формате +7 999 000-11-22."
	msgPairFailed   = "Не удалось привязать WhatsApp. Попробуйте ещё раз."
)

// pairHeartbeat is how often a running pairing attempt reports liveness (and learns of its
// cancellation).
const pairHeartbeat = 2 * time.Second

// Pair runs one pairing attempt on the worker that owns the salon's WhatsApp connection. The
// QR and pairing codes are secrets: they go, encrypted and short-lived, into pairing_events
// for the connect page, never into workflow history. It returns the terminal outcome.
func (a *Activities) Pair(ctx context.Context, in PairInput) (PairOutput, error) {
	if _, err := a.Store.DeletePairingEvents(ctx, in.SalonID); err != nil {
		return PairOutput{}, fmt.Errorf("clear pairing events: %w", err)
	}
	var (
		ch  <-chan whatsapp.PairEvent
		err error
	)
	if in.Method == "phone" {
		ch, err = a.WhatsApp.PairPhone(ctx, in.SalonID, in.Phone)
	} else {
		ch, err = a.WhatsApp.PairQR(ctx, in.SalonID)
	}
	if err != nil {
		out := PairOutput{Outcome: "error", Error: pairErrorMessage(err)}
		a.recordPairing(ctx, in, whatsapp.PairEvent{Kind: whatsapp.PairError}, out.Error)
		return out, nil
	}
	tick := time.NewTicker(pairHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return PairOutput{}, ctx.Err()
		case <-tick.C:
			activity.RecordHeartbeat(ctx)
		case ev, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return PairOutput{}, ctx.Err()
				}
				return PairOutput{Outcome: "error", Error: msgPairFailed}, nil
			}
			switch ev.Kind {
			case whatsapp.PairQR, whatsapp.PairCode:
				if err := a.recordPairing(ctx, in, ev, ""); err != nil {
					return PairOutput{}, err
				}
				activity.RecordHeartbeat(ctx)
			case whatsapp.PairSuccess:
				_ = a.recordPairing(ctx, in, ev, "")
				a.log().InfoContext(ctx, "whatsapp paired", "salonID", in.SalonID, "attempt", in.Attempt)
				return PairOutput{Outcome: "success", Phone: ev.Phone, Name: ev.Name}, nil
			case whatsapp.PairTimeout:
				_ = a.recordPairing(ctx, in, ev, "")
				return PairOutput{Outcome: "timeout"}, nil
			case whatsapp.PairError:
				msg := pairErrorMessage(ev.Err)
				_ = a.recordPairing(ctx, in, ev, msg)
				a.log().WarnContext(ctx, "whatsapp pairing failed", "salonID", in.SalonID, "err", ev.Err)
				return PairOutput{Outcome: "error", Error: msg}, nil
			}
		}
	}
}

func pairErrorMessage(err error) string {
	switch {
	case errors.Is(err, whatsapp.ErrUnreachable):
		return msgUnreachable
	case errors.Is(err, whatsapp.ErrInvalidPhone):
		return msgInvalidPhone
	}
	return msgPairFailed
}

// recordPairing stores one pairing item for the connect page; codes are sealed.
func (a *Activities) recordPairing(ctx context.Context, in PairInput, ev whatsapp.PairEvent, message string) error {
	p := sqlc.InsertPairingEventParams{SalonID: in.SalonID, Attempt: strconv.Itoa(in.Attempt), Kind: string(ev.Kind)}
	payload := message
	if ev.Kind == whatsapp.PairQR || ev.Kind == whatsapp.PairCode {
		payload = ev.Code
		exp := a.now().Add(ev.ExpiresIn)
		p.ExpiresAt = &exp
	}
	if payload != "" {
		sealed, err := a.Box.Seal([]byte(payload), pairingAAD(in.SalonID))
		if err != nil {
			return fmt.Errorf("seal pairing code: %w", err)
		}
		p.PayloadEnc = sealed
	}
	if _, err := a.Store.InsertPairingEvent(context.WithoutCancel(ctx), p); err != nil {
		return fmt.Errorf("store pairing event: %w", err)
	}
	return nil
}

func pairingAAD(salonID int64) []byte { return []byte(fmt.Sprintf("pairing:%d", salonID)) }

// PairingItem is one decrypted pairing event for the connect page. Code is a secret.
type PairingItem struct {
	ID        int64
	Attempt   int
	Kind      whatsapp.PairKind
	Code      string
	Message   string
	ExpiresAt time.Time
}

// PairingFeed reads pairing events for the connect page (the API process).
type PairingFeed struct {
	Store *db.Store
	Box   *secretbox.Box
	Now   func() time.Time
}

// Since returns the salon's pairing items newer than afterID, oldest first, leaving out codes
// that have already expired.
func (f *PairingFeed) Since(ctx context.Context, salonID, afterID int64) ([]PairingItem, error) {
	rows, err := f.Store.ListPairingEvents(ctx, sqlc.ListPairingEventsParams{SalonID: salonID, AfterID: afterID, MaxRows: 50})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	items := make([]PairingItem, 0, len(rows))
	for _, r := range rows {
		it := PairingItem{ID: r.ID, Kind: whatsapp.PairKind(r.Kind)}
		it.Attempt, _ = strconv.Atoi(r.Attempt)
		if r.ExpiresAt != nil {
			if !r.ExpiresAt.After(now) {
				continue
			}
			it.ExpiresAt = *r.ExpiresAt
		}
		if len(r.PayloadEnc) > 0 {
			plain, err := f.Box.Open(r.PayloadEnc, pairingAAD(salonID))
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
