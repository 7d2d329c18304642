package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/wameow"
	"github.com/aiadmin/aiadmin/db"
)

// WhatsApp is the salon's WhatsApp link: pairing, the connection on freeze and unfreeze, the
// unlink on uninstall, and the one welcome to the linked number. These activities run on the
// worker that owns the salon's live connection (see workflows.WhatsAppRouting).
type WhatsApp struct {
	store    *db.Store
	wa       whatsapp.Client
	pairing  *pairing.Events
	ledger   *ledger.Ledger
	notifier Notifier
	log      *slog.Logger
}

// Messages shown to the owner when a pairing attempt fails.
const (
	msgUnreachable  = "Не удаётся связаться с серверами WhatsApp. Проверьте интернет и нажмите «Показать новый код»."
	msgInvalidPhone = "Номер телефона указан неверно. Введите номер в формате +7 999 000-11-22."
	msgPairFailed   = "Не удалось привязать WhatsApp. Попробуйте ещё раз."
	msgRestarting   = "Сервис перезапускается. Через несколько секунд нажмите «Показать новый код»."
)

// pairHeartbeat is how often a running pairing attempt reports liveness (and learns of its
// cancellation).
const pairHeartbeat = 2 * time.Second

// Pair runs one pairing attempt. The QR and pairing codes are secrets: they go, encrypted and
// short-lived, to the connect page through the pairing events, never into workflow history.
// It returns the terminal outcome. When its worker stops (shutdown, or the salon's shard
// handed over) the attempt ends at once as failed, and the page offers a new code: the
// process does not wait minutes for a batch of codes nobody may scan.
func (a *WhatsApp) Pair(ctx context.Context, in PairInput) (PairOutput, error) {
	out, outcome, err := a.pair(ctx, in)
	method := PairByQR
	if in.Method == PairByPhone {
		method = PairByPhone
	}
	metrics.PairingAttempt(method, outcome)
	return out, err
}

// pair is Pair; outcome is the attempt's metrics label.
func (a *WhatsApp) pair(ctx context.Context, in PairInput) (out PairOutput, outcome string, err error) {
	if err := a.pairing.Clear(ctx, in.SalonID); err != nil {
		return PairOutput{}, "error", err
	}
	// Ends the attempt on the WhatsApp side too, whichever way Pair returns.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ch <-chan whatsapp.PairEvent
	if in.Method == PairByPhone {
		ch, err = a.wa.PairPhone(pctx, in.SalonID, in.Phone)
	} else {
		ch, err = a.wa.PairQR(pctx, in.SalonID)
	}
	if err != nil {
		out := PairOutput{Outcome: PairFailed, Error: pairErrorMessage(err)}
		_ = a.pairing.Record(ctx, attemptOf(in), whatsapp.PairEvent{Kind: whatsapp.PairError}, out.Error)
		return out, string(PairFailed), nil
	}
	stopping := activity.GetWorkerStopChannel(ctx)
	tick := time.NewTicker(pairHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return PairOutput{}, "cancelled", ctx.Err()
		case <-stopping:
			out := PairOutput{Outcome: PairFailed, Error: msgRestarting}
			_ = a.pairing.Record(ctx, attemptOf(in), whatsapp.PairEvent{Kind: whatsapp.PairError}, out.Error)
			a.log.InfoContext(ctx, "pairing attempt ended: its worker is stopping", "salonID", in.SalonID, "attempt", in.Attempt)
			return out, "interrupted", nil
		case <-tick.C:
			activity.RecordHeartbeat(ctx)
		case ev, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return PairOutput{}, "cancelled", ctx.Err()
				}
				return PairOutput{Outcome: PairFailed, Error: msgPairFailed}, string(PairFailed), nil
			}
			if out, done, err := a.pairEvent(ctx, in, ev); done || err != nil {
				if err != nil {
					return out, "error", err
				}
				return out, string(out.Outcome), nil
			}
		}
	}
}

// pairEvent records one item of the attempt; done reports a terminal one.
func (a *WhatsApp) pairEvent(ctx context.Context, in PairInput, ev whatsapp.PairEvent) (out PairOutput, done bool, err error) {
	switch ev.Kind {
	case whatsapp.PairQR, whatsapp.PairCode:
		if err := a.pairing.Record(ctx, attemptOf(in), ev, ""); err != nil {
			return PairOutput{}, true, err
		}
		activity.RecordHeartbeat(ctx)
		return PairOutput{}, false, nil
	case whatsapp.PairSuccess:
		_ = a.pairing.Record(ctx, attemptOf(in), ev, "")
		a.log.InfoContext(ctx, "whatsapp paired", "salonID", in.SalonID, "attempt", in.Attempt)
		return PairOutput{Outcome: PairSucceeded, Phone: ev.Phone, Name: ev.Name}, true, nil
	case whatsapp.PairTimeout:
		_ = a.pairing.Record(ctx, attemptOf(in), ev, "")
		return PairOutput{Outcome: PairTimedOut}, true, nil
	case whatsapp.PairError:
		msg := pairErrorMessage(ev.Err)
		_ = a.pairing.Record(ctx, attemptOf(in), ev, msg)
		a.log.WarnContext(ctx, "whatsapp pairing failed", "salonID", in.SalonID, "err", ev.Err)
		return PairOutput{Outcome: PairFailed, Error: msg}, true, nil
	}
	return PairOutput{}, false, nil
}

func attemptOf(in PairInput) pairing.Attempt {
	return pairing.Attempt{SalonID: in.SalonID, Number: in.Attempt, Session: in.Session}
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

// Disconnect closes the salon's live WhatsApp connection and keeps its credentials (freeze).
func (a *WhatsApp) Disconnect(ctx context.Context, in SalonRef) error {
	err := a.wa.Disconnect(ctx, in.SalonID)
	if errors.Is(err, whatsapp.ErrNotLinked) {
		return nil
	}
	return classify(err)
}

// Reconnect connects again with the kept credentials, without a new scan (unfreeze).
func (a *WhatsApp) Reconnect(ctx context.Context, in SalonRef) error {
	return classify(a.wa.Reconnect(ctx, in.SalonID))
}

// Unlink logs the salon's device out and forgets its pairing events (uninstall, expiry).
func (a *WhatsApp) Unlink(ctx context.Context, in SalonRef) error {
	if err := a.pairing.Clear(ctx, in.SalonID); err != nil {
		return err
	}
	err := a.wa.Unlink(ctx, in.SalonID)
	switch {
	case errors.Is(err, whatsapp.ErrNotLinked):
		return nil
	case errors.Is(err, wameow.ErrLocalOnly):
		// WhatsApp could not be told: our copy of the device is deleted, but the phone keeps
		// listing it until the owner removes it there.
		a.askToRemoveDevice(ctx, in.SalonID)
		return nil
	}
	return classify(err)
}

// ForgetDevice is the local fallback of Unlink when no worker owned the salon's shard within
// the workflow's bound: it needs no live connection and runs on the workflow's task queue. The
// salon's device mapping (whatsapp_devices) and pairing events are deleted, so no later owner
// of the shard connects the device again, and the owner is asked to remove the device on the
// phone (WhatsApp was not told).
func (a *WhatsApp) ForgetDevice(ctx context.Context, in SalonRef) error {
	if err := a.pairing.Clear(ctx, in.SalonID); err != nil {
		return err
	}
	if _, err := a.store.DeleteWhatsAppDevice(ctx, in.SalonID); err != nil {
		return fmt.Errorf("forget device: %w", err)
	}
	a.askToRemoveDevice(ctx, in.SalonID)
	return nil
}

// askToRemoveDevice asks the owner, on the second channel, to remove the device on the phone.
func (a *WhatsApp) askToRemoveDevice(ctx context.Context, salonID int64) {
	_ = a.notifier.NotifyOwner(ctx, notify.OwnerNotice{SalonID: salonID, Kind: "remove_device",
		Message: "AI Admin отключён от WhatsApp салона. Удалите устройство «AI Admin» на телефоне: " +
			"WhatsApp → Настройки → Связанные устройства."})
	a.log.WarnContext(ctx, "device deleted locally only; owner asked to remove it on the phone", "salonID", salonID)
}

// SendWelcome sends the welcome message to the salon's linked number exactly once (ledger
// key: salon, 0, welcome, epoch). A salon that cannot send now is retried; one that has no
// linked device will never get it.
func (a *WhatsApp) SendWelcome(ctx context.Context, in WelcomeInput) (WelcomeOutput, error) {
	key := ledger.Key{SalonID: in.SalonID, Kind: texts.Welcome, VisitTime: ledger.Epoch}
	text, err := texts.Render(texts.Welcome, texts.Salon{Name: in.SalonName}, texts.Visit{}, nil)
	if err != nil {
		return WelcomeOutput{}, err
	}
	res, err := a.ledger.Send(ctx, key, in.Phone, text)
	switch {
	case err != nil:
		return WelcomeOutput{}, fmt.Errorf("welcome: %w", classify(err))
	case res.Already:
		return WelcomeOutput{Already: true}, nil
	case res.Outcome == ledger.Sent:
		return WelcomeOutput{Sent: true}, nil
	case res.Outcome == ledger.Paused && errors.Is(res.Cause, whatsapp.ErrNotLinked):
		if _, err := a.ledger.Fail(ctx, key, in.Phone, res.Cause); err != nil {
			return WelcomeOutput{}, err
		}
	}
	return WelcomeOutput{}, classify(res.Cause)
}
