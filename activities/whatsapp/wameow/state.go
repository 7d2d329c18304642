package wameow

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// sentIDsKept is how many recently sent message IDs a salon remembers, so a retry after a lost
// reply returns the same ID instead of sending again.
const sentIDsKept = 1024

// salon is one salon's link. dev is the mapped device (nil: none); cli the live client for it
// (nil: not connected, e.g. frozen, banned or not started). conn is the connection state:
// unlinked or logged_out without a device; connecting, linked, disconnected, degraded, replaced
// or temp_banned with one. Fields are guarded by Adapter.mu, except op, which serialises the
// operations that swap clients (Start, Disconnect, Reconnect, Unlink, the end of a pairing).
type salon struct {
	id       int64
	op       sync.Mutex
	loaded   bool
	dev      *device
	cli      *client
	conn     whatsapp.LinkState
	reason   string
	ban      *hold
	restrict *hold
	attempt  *attempt
	unlinks  int         // Unlink calls so far
	batches  []time.Time // starts of the code batches of the last hour
	sentIDs  map[string]struct{}
	sentList []string
	last     whatsapp.Status
	changed  chan struct{} // closed and replaced on every state change
}

// device is a mapped companion device.
type device struct {
	jid   types.JID
	phone string
	name  string
}

// salonLocked returns the salon's record, creating an unloaded one.
func (a *Adapter) salonLocked(id int64) *salon {
	s := a.salons[id]
	if s == nil {
		s = &salon{id: id, conn: whatsapp.StateUnlinked, sentIDs: make(map[string]struct{}),
			changed: make(chan struct{}), last: whatsapp.Status{State: whatsapp.StateUnlinked}}
		a.salons[id] = s
	}
	return s
}

// load returns the salon, reading its mapping from the application store the first time.
// A mapped salon without a live client is disconnected, or keeps a stored ban or replacement.
func (a *Adapter) load(ctx context.Context, id int64) (*salon, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if a.closed.Load() {
		return nil, ErrClosed
	}
	a.mu.Lock()
	s := a.salonLocked(id)
	loaded := s.loaded
	a.mu.Unlock()
	if loaded {
		return s, nil
	}
	row, err := a.store.GetWhatsAppDevice(ctx, id)
	if err = db.NotFound(err); err != nil && !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	found := err == nil
	var jid types.JID
	if found {
		if jid, err = types.ParseJID(row.DeviceJid); err != nil {
			a.log.Error("wameow: bad device JID in mapping; ignoring it", "salonID", id, "err", err)
			found = false
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.loaded {
		return s, nil
	}
	s.loaded = true
	if found {
		s.dev = &device{jid: jid, phone: row.Phone, name: row.PushName}
		s.conn = whatsapp.StateDisconnected
		switch st := whatsapp.LinkState(row.State); st {
		case whatsapp.StateTempBanned:
			s.conn, s.ban = st, &hold{reason: row.StateReason, until: deref(row.StateUntil)}
		case whatsapp.StateReplaced:
			s.conn, s.reason = st, row.StateReason
		case whatsapp.StateRestricted:
			s.restrict = &hold{reason: row.StateReason, until: deref(row.StateUntil)}
		}
		s.last = a.statusLocked(s)
	}
	return s, nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// statusLocked derives the status the outside world sees, like simphone's.
func (a *Adapter) statusLocked(s *salon) whatsapp.Status {
	st := a.connStatusLocked(s)
	if s.attempt != nil {
		st.State, st.Reason, st.Until = whatsapp.StatePairing, "", time.Time{}
	}
	return st
}

// connStatusLocked is the status without a running pairing attempt: what is stored.
func (a *Adapter) connStatusLocked(s *salon) whatsapp.Status {
	st := whatsapp.Status{State: s.conn, Reason: s.reason}
	if s.dev != nil {
		st.Phone, st.Name = s.dev.phone, s.dev.name
	}
	switch {
	case s.conn == whatsapp.StateTempBanned && s.ban != nil:
		st.Reason, st.Until = s.ban.reason, s.ban.until
	case s.conn == whatsapp.StateLinked && s.restrict.active(time.Now()):
		st.State, st.Reason, st.Until = whatsapp.StateRestricted, s.restrict.reason, s.restrict.until
	}
	return st
}

// setConnLocked changes the connection state and publishes the change.
func (a *Adapter) setConnLocked(s *salon, state whatsapp.LinkState, reason string) {
	s.conn, s.reason = state, reason
	a.publishLocked(s)
}

// dropDeviceLocked forgets the device and any sanctions tied to it.
func (s *salon) dropDeviceLocked(state whatsapp.LinkState, reason string) {
	s.dev, s.conn, s.reason, s.ban, s.restrict = nil, state, reason, nil, nil
}

// rememberSentLocked records a delivered message ID, keeping the last sentIDsKept.
func (s *salon) rememberSentLocked(id string) {
	if _, ok := s.sentIDs[id]; ok {
		return
	}
	s.sentIDs[id] = struct{}{}
	s.sentList = append(s.sentList, id)
	if len(s.sentList) > sentIDsKept {
		delete(s.sentIDs, s.sentList[0])
		s.sentList = s.sentList[1:]
	}
}

// change is one queued side effect of a state change: store the state or forget the mapping,
// then tell Options.Events.
type change struct {
	salonID int64
	jid     string // device the stored state belongs to; empty: nothing to store
	stored  whatsapp.Status
	forget  bool // delete the mapping of jid instead of storing the state
	publish *whatsapp.Status
}

// publishLocked wakes waiters and, if the visible status changed, queues it for the store and
// Options.Events. Queueing never blocks: an event handler must not stall whatsmeow.
func (a *Adapter) publishLocked(s *salon) {
	close(s.changed)
	s.changed = make(chan struct{})
	st := a.statusLocked(s)
	if sameStatus(st, s.last) {
		return
	}
	s.last = st
	c := change{salonID: s.id, publish: &st}
	if s.dev != nil {
		c.jid, c.stored = s.dev.jid.String(), a.connStatusLocked(s)
	}
	a.enqueue(c)
}

// forgetLocked queues deleting the mapping of the salon's device jid.
func (a *Adapter) forgetLocked(s *salon, jid types.JID) {
	a.enqueue(change{salonID: s.id, jid: jid.String(), forget: true})
}

func (a *Adapter) enqueue(c change) {
	select {
	case a.changes <- c:
	default:
		a.log.Error("wameow: status queue full, dropping a change", "salonID", c.salonID, "forget", c.forget)
	}
}

func sameStatus(a, b whatsapp.Status) bool {
	return a.State == b.State && a.Phone == b.Phone && a.Name == b.Name && a.Reason == b.Reason && a.Until.Equal(b.Until)
}

// runChanges applies queued changes in order until Close, then flushes what is left.
func (a *Adapter) runChanges() {
	defer a.queueWG.Done()
	for {
		select {
		case c := <-a.changes:
			a.apply(c)
		case <-a.quit:
			for {
				select {
				case c := <-a.changes:
					a.apply(c)
				default:
					return
				}
			}
		}
	}
}

func (a *Adapter) apply(c change) {
	ctx, cancel := dbCtx()
	defer cancel()
	switch {
	case c.forget:
		if _, err := a.store.DeleteWhatsAppDeviceJID(ctx, sqlc.DeleteWhatsAppDeviceJIDParams{SalonID: c.salonID, DeviceJid: c.jid}); err != nil {
			a.log.Error("wameow: forget device mapping", "salonID", c.salonID, "err", err)
		}
	case c.jid != "":
		p := sqlc.SetWhatsAppDeviceStateParams{SalonID: c.salonID, DeviceJid: c.jid, PushName: c.stored.Name,
			State: string(c.stored.State), StateReason: c.stored.Reason}
		if !c.stored.Until.IsZero() {
			p.StateUntil = &c.stored.Until
		}
		if _, err := a.store.SetWhatsAppDeviceState(ctx, p); err != nil {
			a.log.Error("wameow: store link state", "salonID", c.salonID, "err", err)
		}
	}
	if c.publish != nil && a.opts.Events != nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					a.log.Error("wameow: Events callback panicked", "salonID", c.salonID, "panic", r)
				}
			}()
			a.opts.Events(c.salonID, *c.publish)
		}()
	}
}
