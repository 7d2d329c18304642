package wameow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// deviceRef is enough of a device for the container's DeleteDevice, which only reads the ID.
// A fresh value keeps the delete off the live client's *store.Device, which whatsmeow's
// goroutines read.
func deviceRef(jid types.JID) *store.Device {
	return &store.Device{ID: &jid}
}

// Start connects every mapped salon among salonIDs in the background and returns without
// waiting: a salon whose WhatsApp cannot be reached shows as connecting while whatsmeow retries
// with a backoff capped at MaxReconnectBackoff. It fails only on store errors. Salons already
// connected, or without a mapping, are skipped; a mapping whose credentials are gone is cleared
// and the salon reported logged out.
func (a *Adapter) Start(ctx context.Context, salonIDs []int64) error {
	for _, id := range salonIDs {
		if err := a.startSalon(ctx, id); err != nil {
			return fmt.Errorf("wameow: start salon %d: %w", id, err)
		}
	}
	return nil
}

func (a *Adapter) startSalon(ctx context.Context, id int64) error {
	s, err := a.load(ctx, id)
	if err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	a.mu.Lock()
	dev, running := s.dev, s.cli != nil
	a.mu.Unlock()
	if dev == nil || running {
		return nil
	}
	d, err := a.sessions.container.GetDevice(ctx, dev.jid)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return ErrClosed
	}
	if s.dev == nil || s.dev.jid != dev.jid || s.cli != nil {
		return nil // changed meanwhile
	}
	if d == nil {
		a.missingLocked(s)
		return nil
	}
	c := a.attachLocked(s, d, true)
	a.setConnLocked(s, whatsapp.StateConnecting, "")
	a.spawnLocked(func() { a.supervise(s, c) })
	return nil
}

// missingLocked handles a mapping whose credentials are no longer in the session store (a
// logout processed while the mapping could not be cleared): the mapping goes too.
func (a *Adapter) missingLocked(s *salon) {
	a.log.Warn("wameow: device credentials missing from the session store; re-link needed", "salonID", s.id)
	a.forgetLocked(s, s.dev.jid)
	s.dropDeviceLocked(whatsapp.StateLoggedOut, "device credentials missing")
	a.publishLocked(s)
}

// Status reports the salon's link state.
func (a *Adapter) Status(ctx context.Context, salonID int64) (whatsapp.Status, error) {
	s, err := a.load(ctx, salonID)
	if err != nil {
		return whatsapp.Status{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.statusLocked(s), nil
}

// Disconnect closes the salon's connection and keeps its credentials (freeze); whatsmeow does
// not reconnect after it. A salon without a device has nothing to disconnect, so that is not an
// error. A running pairing attempt is not touched.
func (a *Adapter) Disconnect(ctx context.Context, salonID int64) error {
	s, err := a.load(ctx, salonID)
	if err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	a.mu.Lock()
	if s.dev == nil {
		a.mu.Unlock()
		return nil
	}
	var gone <-chan struct{}
	if s.cli != nil {
		gone = a.retireLocked(s)
	}
	a.setConnLocked(s, whatsapp.StateDisconnected, "")
	a.mu.Unlock()
	if gone != nil {
		return waitGone(ctx, gone)
	}
	return nil
}

// Reconnect connects the kept device again without a scan (unfreeze) and waits until it has
// logged in, at most ConnectTimeout for the socket and as long again for the login. It fails
// with ErrNotLinked without a device, ErrNotConnected while a temporary ban lasts, and
// ErrUnreachable when WhatsApp cannot be reached; the salon is then disconnected (a frozen,
// banned or replaced salon keeps its state) and nothing retries in the background: the caller
// retries. A salon that is already connected is left alone.
func (a *Adapter) Reconnect(ctx context.Context, salonID int64) error {
	s, err := a.load(ctx, salonID)
	if err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	a.mu.Lock()
	switch {
	case s.dev == nil:
		a.mu.Unlock()
		return whatsapp.ErrNotLinked
	case s.ban.active(time.Now()):
		// Connecting now would only earn another failure 402.
		a.setConnLocked(s, whatsapp.StateTempBanned, "")
		err := stateError(s)
		a.mu.Unlock()
		return fmt.Errorf("wameow: reconnect: %w", err)
	case s.cli != nil && s.conn == whatsapp.StateLinked:
		a.mu.Unlock()
		return nil
	}
	jid, prev, prevReason := s.dev.jid, s.conn, s.reason
	var gone <-chan struct{}
	if s.cli != nil {
		gone = a.retireLocked(s)
	}
	a.mu.Unlock()
	if gone != nil {
		if err := waitGone(ctx, gone); err != nil {
			return err
		}
	}

	return a.reconnectDevice(ctx, s, jid, prev, prevReason)
}

// reconnectDevice loads the salon's kept device and connects it; a failed connect leaves the
// link state it had (or "disconnected").
func (a *Adapter) reconnectDevice(ctx context.Context, s *salon, jid types.JID, prev whatsapp.LinkState, prevReason string) error {
	d, err := a.sessions.container.GetDevice(ctx, jid)
	if err != nil {
		return fmt.Errorf("wameow: reconnect: load device: %w", err)
	}
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		return ErrClosed
	}
	if d == nil {
		a.missingLocked(s)
		a.mu.Unlock()
		return fmt.Errorf("wameow: reconnect: %w: device credentials missing", whatsapp.ErrNotLinked)
	}
	c := a.attachLocked(s, d, false)
	a.setConnLocked(s, whatsapp.StateConnecting, "")
	a.mu.Unlock()

	if err := a.connectOnce(ctx, c); err != nil {
		a.mu.Lock()
		if s.cli == c {
			a.retireLocked(s)
			if prev != whatsapp.StateTempBanned && prev != whatsapp.StateReplaced && prev != whatsapp.StateDisconnected {
				prev, prevReason = whatsapp.StateDisconnected, "reconnect failed: WhatsApp unreachable"
			}
			a.setConnLocked(s, prev, prevReason)
		}
		a.mu.Unlock()
		return fmt.Errorf("wameow: reconnect: %w", err)
	}
	if err := a.waitLinked(ctx, s, c, a.opts.ConnectTimeout); err != nil {
		return fmt.Errorf("wameow: reconnect: %w", err)
	}
	return nil
}

// Unlink logs the device out on the phone and deletes its credentials and mapping (uninstall,
// expiry), and ends a running pairing attempt (its stream closes without a terminal item).
// Unlinking an unlinked salon is not an error. When the logout cannot reach WhatsApp (not
// connected, offline) the credentials and mapping are deleted here anyway and the returned
// error wraps ErrLocalOnly: the owner must remove the device on the phone.
func (a *Adapter) Unlink(ctx context.Context, salonID int64) error {
	s, err := a.load(ctx, salonID)
	if err != nil {
		return err
	}
	s.op.Lock()
	defer s.op.Unlock()
	a.mu.Lock()
	s.unlinks++
	if s.attempt != nil {
		s.attempt.cancel()
		s.attempt = nil
	}
	if s.dev == nil {
		a.setConnLocked(s, whatsapp.StateUnlinked, "")
		a.mu.Unlock()
		return nil
	}
	jid, c := s.dev.jid, s.cli
	s.cli = nil // events of the client being logged out no longer count
	a.mu.Unlock()

	logoutErr := errors.New("not connected")
	if c != nil {
		if c.wa.IsLoggedIn() {
			lctx, cancel := context.WithTimeout(ctx, a.opts.ConnectTimeout)
			logoutErr = c.wa.Logout(lctx) // deletes the credentials on success
			cancel()
		}
		a.mu.Lock()
		gone := a.retire(c)
		a.mu.Unlock()
		if err := waitGone(ctx, gone); err != nil {
			return err
		}
	}
	dctx, cancel := dbCtx()
	defer cancel()
	if logoutErr != nil {
		if err := a.sessions.container.DeleteDevice(dctx, deviceRef(jid)); err != nil {
			return fmt.Errorf("wameow: unlink: delete credentials: %w", err)
		}
	}
	if _, err := a.store.DeleteWhatsAppDevice(dctx, salonID); err != nil {
		return fmt.Errorf("wameow: unlink: delete mapping: %w", err)
	}
	a.mu.Lock()
	s.dropDeviceLocked(whatsapp.StateUnlinked, "")
	a.publishLocked(s)
	a.mu.Unlock()
	if logoutErr != nil {
		return fmt.Errorf("wameow: unlink: %w (logout: %v)", ErrLocalOnly, logoutErr)
	}
	return nil
}
