package wameow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// errRetired is returned by a connect of a client that was retired meanwhile.
var errRetired = errors.New("wameow: client retired")

// client is the long-lived whatsmeow client of one salon's device. mu serialises connects with
// retiring, so a retired client is never connected again by us; stop tells its goroutines and
// the reconnect hook to give up; gone is closed once it is disconnected.
type client struct {
	wa        *whatsmeow.Client
	jid       types.JID
	handlerID uint32

	mu       sync.Mutex
	stop     chan struct{}
	stopOnce sync.Once
	gone     chan struct{}
}

func (c *client) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// newWAClient builds a whatsmeow client with the adapter's logger and dial hook.
func (a *Adapter) newWAClient(dev *store.Device) *whatsmeow.Client {
	wa := whatsmeow.NewClient(dev, a.waLog.Sub("Client"))
	if a.opts.DialContext != nil {
		wa.SetPreLoginHTTPClient(a.httpClient())
		wa.SetWebsocketHTTPClient(a.httpClient())
		wa.SetMediaHTTPClient(a.httpClient())
	}
	return wa
}

// attachLocked makes a long-lived client for dev the salon's client, retiring the previous one
// (without waiting). initialAuto lets whatsmeow retry a failed first connect in the background
// (Start); Reconnect wants the error instead. whatsmeow's reconnect delay grows by 2 s per
// failure without bound; the hook clamps the failure count so it stays under
// MaxReconnectBackoff.
func (a *Adapter) attachLocked(s *salon, dev *store.Device, initialAuto bool) *client {
	if s.cli != nil {
		a.retireLocked(s)
	}
	wa := a.newWAClient(dev)
	c := &client{wa: wa, jid: *dev.ID, stop: make(chan struct{}), gone: make(chan struct{})}
	wa.EnableAutoReconnect = true
	wa.InitialAutoReconnect = initialAuto
	maxErrors := max(1, int(a.opts.MaxReconnectBackoff/(2*time.Second)))
	wa.AutoReconnectHook = func(error) bool {
		// Runs on whatsmeow's reconnect goroutine, the only other user of the counter there.
		if wa.AutoReconnectErrors > maxErrors {
			wa.AutoReconnectErrors = maxErrors
		}
		return !c.stopped() && a.base.Err() == nil
	}
	c.handlerID = wa.AddEventHandler(func(evt any) { a.onEvent(s, c, evt) })
	s.cli = c
	return c
}

// retireLocked detaches the salon's client and disconnects it in the background (whatsmeow's
// Disconnect waits for a running connect). The returned channel closes once it is disconnected.
func (a *Adapter) retireLocked(s *salon) <-chan struct{} {
	c := s.cli
	s.cli = nil
	return a.retire(c)
}

// spawnLocked runs fn on a goroutine that Close waits for. Once Close has begun, fn runs
// untracked: Close has already retired every client it knows. Caller holds a.mu.
func (a *Adapter) spawnLocked(fn func()) {
	if a.closing {
		go fn()
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		fn()
	}()
}

// spawn is spawnLocked for callers not holding a.mu.
func (a *Adapter) spawn(fn func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.spawnLocked(fn)
}

func (a *Adapter) retire(c *client) <-chan struct{} {
	c.stopOnce.Do(func() {
		close(c.stop)
		a.spawnLocked(func() {
			defer close(c.gone)
			c.mu.Lock()
			defer c.mu.Unlock()
			c.wa.Disconnect()
			c.wa.RemoveEventHandler(c.handlerID)
		})
	})
	return c.gone
}

// waitGone waits until a retired client is disconnected or ctx ends.
func waitGone(ctx context.Context, gone <-chan struct{}) error {
	select {
	case <-gone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// connect runs one ConnectContext on the adapter's base context (the socket lives until Close
// or retirement, never as long as a caller's context).
func (c *client) connect(base context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped() {
		return errRetired
	}
	return c.wa.ConnectContext(base)
}

// connectOnce connects c and waits at most ConnectTimeout (or until ctx ends) for the socket;
// a connect that takes longer is left to finish in the background and the caller retires c.
func (a *Adapter) connectOnce(ctx context.Context, c *client) error {
	done := make(chan error, 1)
	a.spawn(func() { done <- c.connect(a.base) })
	t := time.NewTimer(a.opts.ConnectTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return unreachable("connect", err)
		}
		return nil
	case <-t.C:
		return unreachable("connect", fmt.Errorf("no answer within %s", a.opts.ConnectTimeout))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// supervise connects a client in the background (Start, after pairing). With
// InitialAutoReconnect a failed dial returns nil and whatsmeow retries by itself; other connect
// errors (e.g. a silent server failing the noise handshake) are retried here with a capped
// backoff until the client is retired or the adapter closed.
func (a *Adapter) supervise(s *salon, c *client) {
	backoff := 2 * time.Second
	for {
		err := c.connect(a.base)
		if err == nil || errors.Is(err, whatsmeow.ErrAlreadyConnected) || errors.Is(err, errRetired) ||
			errors.Is(err, store.ErrDeviceDeleted) {
			return
		}
		a.log.Warn("wameow: connect failed, retrying", "salonID", s.id, "in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-a.base.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, a.opts.MaxReconnectBackoff)
	}
}

// waitLinked waits until the salon's client c has logged in. It fails when c is retired or
// stopped by a final event (ban, logout, replacement, outdated client), at timeout
// (whatsapp.ErrUnreachable) or when ctx ends.
func (a *Adapter) waitLinked(ctx context.Context, s *salon, c *client, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		a.mu.Lock()
		if s.cli == c && s.conn == whatsapp.StateLinked {
			a.mu.Unlock()
			return nil
		}
		if s.cli != c {
			err := stateError(s)
			a.mu.Unlock()
			return err
		}
		ch := s.changed
		a.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return fmt.Errorf("wameow: %w: not logged in within %s", whatsapp.ErrUnreachable, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stateError is the error for a salon whose device cannot be used now. Caller holds a.mu.
func stateError(s *salon) error {
	switch {
	case s.dev == nil:
		return fmt.Errorf("wameow: %w (%s)", whatsapp.ErrNotLinked, s.conn)
	case s.conn == whatsapp.StateTempBanned:
		return fmt.Errorf("wameow: %w: %s", whatsapp.ErrNotConnected, banText(s.ban))
	case s.reason != "":
		return fmt.Errorf("wameow: %w: %s: %s", whatsapp.ErrNotConnected, s.conn, s.reason)
	}
	return fmt.Errorf("wameow: %w: %s", whatsapp.ErrNotConnected, s.conn)
}

// onEvent is every long-lived client's event handler. It runs on whatsmeow's dispatcher: it
// never blocks (state changes are queued) and never panics into whatsmeow.
func (a *Adapter) onEvent(s *salon, c *client, evt any) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("wameow: event handler panicked", "salonID", s.id, "event", fmt.Sprintf("%T", evt), "panic", r)
		}
	}()
	switch e := evt.(type) {
	case *events.Message:
		a.onMessage(s, c, e)
		return
	case *events.PushNameSetting:
		a.onPushName(s, c, e.Action.GetName())
		return
	case *events.StreamError:
		a.log.Warn("wameow: unknown stream error", "salonID", s.id, "code", e.Code)
		return
	}
	st, ok := Translate(evt)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.cli != c {
		// A retired client that still managed to log in (whatsmeow can finish a reconnect that
		// raced with Disconnect) must not hold the device's stream: two clients with the same
		// keys replace each other forever.
		if _, connected := evt.(*events.Connected); connected {
			go func() {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.wa.Disconnect()
			}()
		}
		return
	}
	a.applyLocked(s, c, evt, st)
}

// applyLocked applies a translated event of the salon's current client c.
func (a *Adapter) applyLocked(s *salon, c *client, evt any, st whatsapp.Status) {
	switch st.State {
	case whatsapp.StateLinked:
		if _, timelock := evt.(*events.NotifyAccountReachoutTimelock); timelock {
			s.restrict = nil
		} else {
			s.conn, s.reason, s.ban = whatsapp.StateLinked, "", nil
		}
	case whatsapp.StateRestricted:
		s.restrict = &hold{reason: st.Reason, until: st.Until}
	case whatsapp.StateTempBanned:
		s.conn, s.reason, s.ban = whatsapp.StateTempBanned, "", &hold{reason: st.Reason, until: st.Until}
		a.retireLocked(s)
		a.log.Warn("wameow: temporarily banned", "salonID", s.id, "reason", st.Reason, "until", st.Until)
	case whatsapp.StateLoggedOut:
		// whatsmeow has deleted the device's credentials; the mapping follows.
		s.dropDeviceLocked(whatsapp.StateLoggedOut, st.Reason)
		a.retireLocked(s)
		a.forgetLocked(s, c.jid)
		a.log.Warn("wameow: logged out, re-link needed", "salonID", s.id, "reason", st.Reason)
	case whatsapp.StateReplaced, whatsapp.StateDisconnected:
		// whatsmeow does not reconnect after these; neither do we.
		s.conn, s.reason = st.State, st.Reason
		a.retireLocked(s)
		a.log.Error("wameow: connection ended for good", "salonID", s.id, "state", st.State, "reason", st.Reason)
	default:
		s.conn, s.reason = st.State, st.Reason
	}
	a.publishLocked(s)
}

// onPushName records the account's new display name (stored with the next state write).
func (a *Adapter) onPushName(s *salon, c *client, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.cli != c || s.dev == nil || name == "" || s.dev.name == name {
		return
	}
	s.dev.name = name
	a.publishLocked(s)
}
