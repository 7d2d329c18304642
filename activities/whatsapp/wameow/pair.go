package wameow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Pairing timings. pairWindow is one batch of codes as measured (60 s + 5 × 20 s): the socket,
// and with it a pairing code, lives that long. After the phone accepts, the server ends the
// stream (515) and the device logs in again; mautrix waits 10 s for that, the probe 30 s.
const (
	pairWindow        = 160 * time.Second
	pairSafetyLimit   = pairWindow + time.Minute // a stream never outlives this
	reloginWait       = 10 * time.Second
	postPairLoginWait = 30 * time.Second
	pairBuffer        = 16
	// Display name sent with a pairing-code request; the server accepts only "Browser (OS)".
	pairClientName = "Chrome (Linux)"
)

// attempt is one running pairing attempt. unlinks is the salon's Unlink count when it started:
// a device paired after an Unlink must not be adopted.
type attempt struct {
	cancel  context.CancelFunc
	unlinks int
}

// PairQR starts a QR pairing attempt: the batch of codes WhatsApp hands out for one connect,
// each with ExpiresIn from whatsmeow's QR channel, then exactly one terminal item. It supersedes
// the salon's running attempt, whose stream closes without a terminal item. A linked device
// keeps working until the new one has paired, and is then logged out and replaced. Beyond
// Options.MaxBatchesPerHour batches in the last hour it returns ErrTooManyPairings.
func (a *Adapter) PairQR(ctx context.Context, salonID int64) (<-chan whatsapp.PairEvent, error) {
	return a.startPair(ctx, salonID, "")
}

// PairPhone starts a pairing attempt by code: after the first QR code arrives (QR codes are not
// forwarded) it requests an 8-character pairing code for the phone number and yields one
// PairCode item valid for the rest of the batch window, then the terminal item. An invalid
// phone fails before anything is started.
func (a *Adapter) PairPhone(ctx context.Context, salonID int64, phone string) (<-chan whatsapp.PairEvent, error) {
	digits, err := whatsapp.NormalizePhone(phone)
	if err != nil {
		return nil, err
	}
	return a.startPair(ctx, salonID, digits)
}

func (a *Adapter) startPair(ctx context.Context, salonID int64, phone string) (<-chan whatsapp.PairEvent, error) {
	s, err := a.load(ctx, salonID)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return nil, ErrClosed
	}
	now := time.Now()
	kept := s.batches[:0]
	for _, t := range s.batches {
		if now.Sub(t) < time.Hour {
			kept = append(kept, t)
		}
	}
	s.batches = kept
	if len(s.batches) >= a.opts.MaxBatchesPerHour {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyPairings, a.opts.MaxBatchesPerHour)
	}
	if s.attempt != nil {
		s.attempt.cancel()
	}
	actx, cancel := context.WithCancel(ctx)
	att := &attempt{cancel: cancel, unlinks: s.unlinks}
	s.attempt = att
	a.publishLocked(s)
	out := make(chan whatsapp.PairEvent, pairBuffer)
	a.spawnLocked(func() { a.runPair(actx, s, att, phone, out) })
	return out, nil
}

// runPair drives one attempt's stream. Every exit closes the stream; a terminal item is sent
// only by an attempt that is still the salon's current one and whose context is alive.
func (a *Adapter) runPair(ctx context.Context, s *salon, att *attempt, phone string, out chan<- whatsapp.PairEvent) {
	defer close(out)
	defer att.cancel()
	send := func(ev whatsapp.PairEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ev, ok := a.pair(ctx, s, att, phone, send)
	a.mu.Lock()
	current := s.attempt == att
	if current {
		s.attempt = nil
		a.publishLocked(s)
	}
	a.mu.Unlock()
	if ok && current && ctx.Err() == nil {
		if ev.Kind == whatsapp.PairError {
			a.log.Warn("wameow: pairing failed", "salonID", s.id, "err", ev.Err)
		}
		send(ev)
	}
}

func pairError(err error) (whatsapp.PairEvent, bool) {
	return whatsapp.PairEvent{Kind: whatsapp.PairError, Err: err}, true
}

// pair runs the attempt on a throwaway client whose connection lives as long as ctx. It returns
// the terminal item, or ok=false when ctx ended first.
func (a *Adapter) pair(ctx context.Context, s *salon, att *attempt, phone string, send func(whatsapp.PairEvent) bool) (ev whatsapp.PairEvent, ok bool) {
	r := &pairRun{a: a, s: s, att: att, phone: phone, send: send, first: true,
		success: make(chan events.PairSuccess, 1), relogin: make(chan struct{}, 1)}
	r.cli = a.newWAClient(a.sessions.container.NewDevice())
	r.cli.EnableAutoReconnect = false
	r.cli.DisableLoginAutoReconnect = true // we hand the device to a long-lived client ourselves
	// Registered before GetQRChannel's handler, so PairSuccess is captured before "success".
	hid := r.cli.AddEventHandler(r.event)
	qr, err := r.cli.GetQRChannel(ctx)
	if err != nil {
		r.cli.RemoveEventHandler(hid)
		return pairError(fmt.Errorf("wameow: qr channel: %w", err))
	}
	connDone := make(chan error, 1)
	a.spawn(func() { connDone <- r.cli.ConnectContext(ctx) })
	defer a.spawn(func() {
		// Disconnect waits for a running connect; the pairing client is never reused.
		<-connDone
		r.cli.Disconnect()
		r.cli.RemoveEventHandler(hid)
	})

	r.firstCode = time.NewTimer(a.opts.ConnectTimeout) // the connect and the first code
	defer r.firstCode.Stop()
	safety := time.NewTimer(pairSafetyLimit)
	defer safety.Stop()
	connResult := (<-chan error)(connDone)
	for {
		select {
		case <-ctx.Done():
			return whatsapp.PairEvent{}, false
		case err := <-connResult:
			connResult = nil
			connDone <- err // for the deferred cleanup
			if err != nil {
				// No event follows a failed connect and the QR channel is never closed.
				return pairError(unreachable("connect", err))
			}
		case <-r.firstCode.C:
			return pairError(unreachable("connect", fmt.Errorf("no QR code within %s", a.opts.ConnectTimeout)))
		case <-safety.C:
			return whatsapp.PairEvent{Kind: whatsapp.PairTimeout}, true
		case item, open := <-qr:
			if !open {
				if ctx.Err() != nil {
					return whatsapp.PairEvent{}, false
				}
				return whatsapp.PairEvent{Kind: whatsapp.PairTimeout}, true
			}
			if ev, done, ok := r.item(ctx, item); done {
				return ev, ok
			}
		}
	}
}

// pairRun is one pairing attempt's client and progress.
type pairRun struct {
	a         *Adapter
	s         *salon
	att       *attempt
	cli       *whatsmeow.Client
	phone     string // pairing by code for this number; "" pairs by QR
	send      func(whatsapp.PairEvent) bool
	success   chan events.PairSuccess
	relogin   chan struct{}
	firstCode *time.Timer
	first     bool
	err       error // why the pairing code could not be had
}

// event captures the events the attempt's end needs.
func (r *pairRun) event(evt any) {
	switch e := evt.(type) {
	case *events.PairSuccess:
		select {
		case r.success <- *e:
		default:
		}
	case *events.ManualLoginReconnect:
		select {
		case r.relogin <- struct{}{}:
		default:
		}
	}
}

// item handles one item of the QR channel; done reports the attempt's end with (ev, ok).
func (r *pairRun) item(ctx context.Context, item whatsmeow.QRChannelItem) (ev whatsapp.PairEvent, done, ok bool) {
	end := func(ev whatsapp.PairEvent, ok bool) (whatsapp.PairEvent, bool, bool) { return ev, true, ok }
	switch item.Event {
	case whatsmeow.QRChannelEventCode:
		if !r.code(ctx, item) {
			return end(r.lastErr())
		}
		return whatsapp.PairEvent{}, false, false
	case whatsmeow.QRChannelSuccess.Event:
		var ps events.PairSuccess
		select {
		case ps = <-r.success:
		default:
			ps.ID = r.cli.Store.GetJID()
		}
		return end(r.a.finishPairing(ctx, r.s, r.att, r.cli, ps, r.relogin))
	case whatsmeow.QRChannelTimeout.Event:
		return end(whatsapp.PairEvent{Kind: whatsapp.PairTimeout}, true)
	case whatsmeow.QRChannelScannedWithoutMultidevice.Event:
		r.a.log.Info("wameow: QR scanned by a phone without multi-device; it can scan again", "salonID", r.s.id)
		return whatsapp.PairEvent{}, false, false
	case whatsmeow.QRChannelEventPasskeyRequest, whatsmeow.QRChannelEventPasskeyResponse:
		return end(pairError(ErrPasskeyUnsupported))
	case whatsmeow.QRChannelClientOutdated.Event:
		return end(pairError(ErrClientOutdated))
	case whatsmeow.QRChannelEventError:
		return end(pairError(fmt.Errorf("wameow: pairing failed: %w", item.Error)))
	}
	return end(pairError(fmt.Errorf("wameow: pairing ended unexpectedly (%s)", item.Event)))
}

// code passes a new QR code on (or, with the first one, asks for the pairing code); false
// ends the attempt with lastErr.
func (r *pairRun) code(ctx context.Context, item whatsmeow.QRChannelItem) bool {
	r.err = nil
	if r.first {
		r.first = false
		r.firstCode.Stop()
		r.a.countBatch(r.s)
		if r.phone != "" {
			code, err := r.cli.PairPhone(ctx, "+"+r.phone, true, whatsmeow.PairClientChrome, pairClientName)
			if err != nil {
				r.err = pairPhoneError(err)
				return false
			}
			if !r.send(whatsapp.PairEvent{Kind: whatsapp.PairCode, Code: code, ExpiresIn: pairWindow}) {
				return false
			}
		}
	}
	return r.phone != "" || r.send(whatsapp.PairEvent{Kind: whatsapp.PairQR, Code: item.Code, ExpiresIn: item.Timeout})
}

// lastErr is how an attempt that code ended ends: with the pairing code's error, or quietly
// (the receiver went away).
func (r *pairRun) lastErr() (whatsapp.PairEvent, bool) {
	if r.err != nil {
		return pairError(r.err)
	}
	return whatsapp.PairEvent{}, false
}

// countBatch records that the salon got a batch of codes.
func (a *Adapter) countBatch(s *salon) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.batches = append(s.batches, time.Now())
}

// finishPairing stores the mapping of the newly paired device, hands the device to a
// long-lived client and waits for it to log in. The device is kept even if ctx ends meanwhile:
// the phone already lists it.
func (a *Adapter) finishPairing(ctx context.Context, s *salon, att *attempt, cli *whatsmeow.Client, ps events.PairSuccess, relogin <-chan struct{}) (whatsapp.PairEvent, bool) {
	jid := ps.ID
	if jid.IsEmpty() {
		return pairError(errors.New("wameow: paired, but whatsmeow reported no device JID"))
	}
	name := ps.BusinessName
	if err := a.storePaired(s, jid, name); err != nil {
		// Without a mapping the device would be an orphan nobody reconnects: drop it.
		cli.Disconnect()
		dctx, cancel := dbCtx()
		defer cancel()
		if derr := a.sessions.container.DeleteDevice(dctx, deviceRef(jid)); derr != nil {
			a.log.Error("wameow: delete unmapped device", "salonID", s.id, "err", derr)
		}
		return pairError(fmt.Errorf("wameow: store device mapping: %w", err))
	}
	select {
	case <-relogin:
	case <-time.After(reloginWait):
	case <-ctx.Done():
	}
	cli.Disconnect()
	// Adopting must finish even if the attempt is cancelled now: the phone lists the device.
	actx, cancel := context.WithTimeout(context.Background(), a.opts.ConnectTimeout+2*dbOpTimeout)
	defer cancel()
	c, err := a.adopt(actx, s, att, jid, name)
	if err != nil {
		return pairError(err)
	}
	if ctx.Err() != nil {
		return whatsapp.PairEvent{}, false
	}
	if err := a.waitLinked(ctx, s, c, postPairLoginWait); err != nil {
		if ctx.Err() != nil {
			return whatsapp.PairEvent{}, false
		}
		return pairError(fmt.Errorf("wameow: paired, but the device did not log in (it keeps retrying): %w", err))
	}
	a.mu.Lock()
	if s.dev != nil {
		name = s.dev.name
	}
	a.mu.Unlock()
	return whatsapp.PairEvent{Kind: whatsapp.PairSuccess, Phone: jid.User, Name: name, JID: jid.String()}, true
}

// storePaired maps the salon to the newly paired device.
func (a *Adapter) storePaired(s *salon, jid types.JID, name string) error {
	ctx, cancel := dbCtx()
	defer cancel()
	_, err := a.store.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{
		SalonID: s.id, DeviceJid: jid.String(), Phone: jid.User, PushName: name, State: string(whatsapp.StateConnecting),
	})
	return err
}

// adopt makes the newly paired device the salon's: it starts a long-lived client for it and
// replaces the previous device (left over from a previous phone or pairing), which is logged
// out if possible and deleted from the session store. If the salon was unlinked while the
// phone was pairing, the new device is deleted instead.
func (a *Adapter) adopt(ctx context.Context, s *salon, att *attempt, jid types.JID, name string) (*client, error) {
	dev, err := a.sessions.container.GetDevice(ctx, jid)
	if err != nil {
		return nil, fmt.Errorf("wameow: load paired device: %w", err)
	}
	if dev == nil {
		return nil, errors.New("wameow: paired device missing from the session store")
	}
	s.op.Lock()
	defer s.op.Unlock()
	a.mu.Lock()
	if s.unlinks != att.unlinks {
		a.mu.Unlock()
		if err := a.sessions.container.DeleteDevice(ctx, deviceRef(jid)); err != nil {
			a.log.Error("wameow: delete device paired after unlink", "salonID", s.id, "err", err)
		}
		if _, err := a.store.DeleteWhatsAppDeviceJID(ctx, sqlc.DeleteWhatsAppDeviceJIDParams{SalonID: s.id, DeviceJid: jid.String()}); err != nil {
			a.log.Error("wameow: delete mapping of device paired after unlink", "salonID", s.id, "err", err)
		}
		return nil, fmt.Errorf("wameow: the salon was unlinked during pairing: %w", ErrLocalOnly)
	}
	if a.closing {
		a.mu.Unlock()
		return nil, ErrClosed
	}
	old, oldCli := s.dev, s.cli
	s.cli = nil // retired below, after a logout attempt
	s.dev = &device{jid: jid, phone: jid.User, name: name}
	s.ban, s.restrict = nil, nil
	c := a.attachLocked(s, dev, true)
	a.setConnLocked(s, whatsapp.StateConnecting, "")
	a.spawnLocked(func() { a.supervise(s, c) })
	a.mu.Unlock()

	if old != nil && old.jid != jid {
		a.dropOldDevice(ctx, s, old.jid, oldCli)
	} else if oldCli != nil {
		a.mu.Lock()
		a.retire(oldCli)
		a.mu.Unlock()
	}
	return c, nil
}

// dropOldDevice logs a replaced device out (so the phone forgets it) when it is connected, and
// deletes its credentials in any case.
func (a *Adapter) dropOldDevice(ctx context.Context, s *salon, jid types.JID, c *client) {
	loggedOut := false
	if c != nil {
		if c.wa.IsLoggedIn() {
			lctx, cancel := context.WithTimeout(ctx, a.opts.ConnectTimeout)
			loggedOut = c.wa.Logout(lctx) == nil
			cancel()
		}
		a.mu.Lock()
		gone := a.retire(c)
		a.mu.Unlock()
		if err := waitGone(ctx, gone); err != nil {
			a.log.Warn("wameow: replaced device still disconnecting", "salonID", s.id, "err", err)
		}
	}
	if !loggedOut {
		if err := a.sessions.container.DeleteDevice(ctx, deviceRef(jid)); err != nil {
			a.log.Error("wameow: delete replaced device", "salonID", s.id, "err", err)
		}
	}
	a.log.Info("wameow: replaced previous device", "salonID", s.id, "loggedOut", loggedOut)
}
