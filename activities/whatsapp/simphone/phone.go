// Package simphone is the simulated phone: an in-memory whatsapp.Client for demo mode and tests
// that behaves like the real whatsmeow adapter as measured in the probe report: one batch of QR
// codes (60 s, then 20 s each) ending in exactly one terminal item, pairing codes valid inside the
// same window, a reconnect delay after the scan, silent close on cancel, and the send and link
// errors of each connection state. Test hooks (Scan, Emit, SetSendError, SetUnreachable, Receive)
// play the salon owner's phone, the salon's clients and WhatsApp's servers.
package simphone

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Default timings, as measured against whatsmeow.
const (
	defaultQRCodes      = 6
	defaultFirstQR      = 60 * time.Second
	defaultNextQR       = 20 * time.Second
	defaultPairCodeTTL  = 60 * time.Second
	defaultConnectDelay = time.Second
	subscriberBuffer    = 64
)

// Options tunes the simulated phone. Zero values take the measured defaults. The pairing schedule
// runs on real timers; Now only stamps messages and decides whether a code or ban has expired.
type Options struct {
	QRCodes      int           // codes per batch, default 6
	FirstQR      time.Duration // lifetime of the first code, default 60 s
	NextQR       time.Duration // lifetime of each later code, default 20 s
	PairCodeTTL  time.Duration // lifetime of a pairing code, default 60 s
	ConnectDelay time.Duration // delay between the scan and PairSuccess (the post-pairing reconnect), default 1 s
	Now          func() time.Time
}

// Sent is one message the simulated phone delivered.
type Sent struct {
	ID    string
	Phone string // recipient, E.164 digits
	Text  string
	At    time.Time
}

// StatusChange is one pushed change of a salon's link status.
type StatusChange struct {
	SalonID int64
	Status  whatsapp.Status
}

// Phone is the simulated phone and WhatsApp service for any number of salons. It implements
// whatsapp.Client and is safe for concurrent use.
type Phone struct {
	opts Options

	mu          sync.Mutex
	salons      map[int64]*salon
	sendErr     map[string]error // recipient digits -> injected error
	unreachable bool
	devices     map[string]int // account digits -> last companion device number
	subs        map[chan StatusChange]struct{}
	onIncoming  whatsapp.IncomingHandler

	wg sync.WaitGroup // pairing goroutines, so tests can prove none leak
}

var _ whatsapp.Client = (*Phone)(nil)

// device is a linked companion device: the credentials whatsmeow would keep in its store.
type device struct {
	jid, phone, name string
}

// hold is a time-limited account sanction (temporary ban or reach-out timelock). A zero until
// means the end is unknown.
type hold struct {
	reason string
	until  time.Time
}

func (h *hold) active(now time.Time) bool {
	return h != nil && (h.until.IsZero() || now.Before(h.until))
}

// salon is one salon's link. conn is the connection state: unlinked or logged_out without a
// device; linked, connecting, disconnected, degraded, replaced or temp_banned with one.
type salon struct {
	dev      *device
	conn     whatsapp.LinkState
	reason   string
	ban      *hold
	restrict *hold
	attempt  *attempt
	sent     []Sent
	sentIDs  map[string]struct{}
	incoming []whatsapp.Incoming
	last     whatsapp.Status // last status pushed to subscribers
	stalls   int             // the next attempts that show nothing (StallPairing)
}

// New returns a simulated phone with no linked salons.
func New(opts Options) *Phone {
	if opts.QRCodes <= 0 {
		opts.QRCodes = defaultQRCodes
	}
	if opts.FirstQR <= 0 {
		opts.FirstQR = defaultFirstQR
	}
	if opts.NextQR <= 0 {
		opts.NextQR = defaultNextQR
	}
	if opts.PairCodeTTL <= 0 {
		opts.PairCodeTTL = defaultPairCodeTTL
	}
	if opts.ConnectDelay <= 0 {
		opts.ConnectDelay = defaultConnectDelay
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Phone{
		opts:    opts,
		salons:  make(map[int64]*salon),
		sendErr: make(map[string]error),
		devices: make(map[string]int),
		subs:    make(map[chan StatusChange]struct{}),
	}
}

// window is how long one pairing attempt lives: the whole batch of QR codes.
func (p *Phone) window() time.Duration {
	return p.opts.FirstQR + time.Duration(p.opts.QRCodes-1)*p.opts.NextQR
}

// salonLocked returns the salon's record, creating an unlinked one.
func (p *Phone) salonLocked(id int64) *salon {
	s := p.salons[id]
	if s == nil {
		s = &salon{conn: whatsapp.StateUnlinked, sentIDs: make(map[string]struct{}), last: whatsapp.Status{State: whatsapp.StateUnlinked}}
		p.salons[id] = s
	}
	return s
}

// statusLocked derives the status the outside world sees.
func (p *Phone) statusLocked(s *salon) whatsapp.Status {
	st := whatsapp.Status{State: s.conn, Reason: s.reason}
	if s.dev != nil {
		st.Phone, st.Name = s.dev.phone, s.dev.name
	}
	now := p.opts.Now()
	switch {
	case s.attempt != nil:
		st.State, st.Reason = whatsapp.StatePairing, ""
	case s.conn == whatsapp.StateTempBanned && s.ban != nil:
		st.Reason, st.Until = s.ban.reason, s.ban.until
	case s.conn == whatsapp.StateLinked && s.restrict.active(now):
		st.State, st.Reason, st.Until = whatsapp.StateRestricted, s.restrict.reason, s.restrict.until
	}
	return st
}

// publishLocked pushes the salon's status to subscribers if it changed. Sends never block: a
// subscriber that does not keep up loses changes, never stalls the phone.
func (p *Phone) publishLocked(id int64, s *salon) {
	st := p.statusLocked(s)
	if sameStatus(st, s.last) {
		return
	}
	s.last = st
	for ch := range p.subs {
		select {
		case ch <- StatusChange{SalonID: id, Status: st}:
		default:
		}
	}
}

func sameStatus(a, b whatsapp.Status) bool {
	return a.State == b.State && a.Phone == b.Phone && a.Name == b.Name && a.Reason == b.Reason && a.Until.Equal(b.Until)
}

// Subscribe returns a buffered channel of status changes for all salons. It is closed when ctx
// ends; a slow reader misses changes rather than blocking the phone.
func (p *Phone) Subscribe(ctx context.Context) <-chan StatusChange {
	ch := make(chan StatusChange, subscriberBuffer)
	p.mu.Lock()
	p.subs[ch] = struct{}{}
	p.mu.Unlock()
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.subs, ch)
		close(ch)
	})
	return ch
}

// Status reports the salon's link state.
func (p *Phone) Status(ctx context.Context, salonID int64) (whatsapp.Status, error) {
	if err := ctx.Err(); err != nil {
		return whatsapp.Status{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusLocked(p.salonLocked(salonID)), nil
}

// Disconnect closes the connection but keeps the device (freeze). A salon without a device has
// nothing to disconnect, so that is not an error. A running pairing attempt is not touched.
func (p *Phone) Disconnect(ctx context.Context, salonID int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	if s.dev == nil {
		return nil
	}
	s.conn, s.reason = whatsapp.StateDisconnected, ""
	p.publishLocked(salonID, s)
	return nil
}

// Reconnect connects the kept device again without a scan (unfreeze). Like a real connect, it
// fails while a temporary ban lasts (failure 402) and when the servers cannot be reached. A
// reach-out timelock is account-wide and survives reconnects.
func (p *Phone) Reconnect(ctx context.Context, salonID int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	if s.dev == nil {
		return whatsapp.ErrNotLinked
	}
	if p.unreachable {
		return fmt.Errorf("simphone: reconnect: %w", whatsapp.ErrUnreachable)
	}
	if s.ban.active(p.opts.Now()) {
		s.conn, s.reason = whatsapp.StateTempBanned, ""
		p.publishLocked(salonID, s)
		return fmt.Errorf("simphone: reconnect: %w: %s", whatsapp.ErrNotConnected, banText(s.ban))
	}
	s.conn, s.reason, s.ban = whatsapp.StateLinked, "", nil
	p.publishLocked(salonID, s)
	return nil
}

// Unlink logs the device out and forgets it, and ends a running pairing attempt (its stream
// closes without a terminal item). Unlinking an unlinked salon is not an error, and it works
// offline too: like the real adapter, it falls back to deleting the credentials locally.
func (p *Phone) Unlink(ctx context.Context, salonID int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	p.abortLocked(s)
	s.dropDevice(whatsapp.StateUnlinked, "")
	p.publishLocked(salonID, s)
	return nil
}

// dropDevice forgets the device and any sanctions tied to it.
func (s *salon) dropDevice(state whatsapp.LinkState, reason string) {
	s.dev, s.conn, s.reason, s.ban, s.restrict = nil, state, reason, nil, nil
}

// Emit simulates a link event from WhatsApp. Logged out (and unlinked) drop the device, as
// whatsmeow deletes its store on LoggedOut. Temp banned uses st.Until and st.Reason; restricted
// marks the account with a reach-out timelock until st.Until (zero: until linked is emitted);
// linked means connected again and lifts both. The other states set the connection state. Events
// that need a device are ignored for a salon without one, and pairing is driven by PairQR and
// PairPhone only, so emitting it does nothing.
func (p *Phone) Emit(salonID int64, st whatsapp.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	switch st.State {
	case whatsapp.StateUnlinked, whatsapp.StateLoggedOut:
		s.dropDevice(st.State, st.Reason)
	case whatsapp.StateLinked:
		if s.dev == nil {
			return
		}
		s.conn, s.reason, s.ban, s.restrict = whatsapp.StateLinked, "", nil, nil
	case whatsapp.StateTempBanned:
		if s.dev == nil {
			return
		}
		s.conn, s.reason, s.ban = whatsapp.StateTempBanned, "", &hold{reason: st.Reason, until: st.Until}
	case whatsapp.StateRestricted:
		if s.dev == nil {
			return
		}
		// The timelock notification arrives over a live connection.
		s.conn, s.reason, s.restrict = whatsapp.StateLinked, "", &hold{reason: st.Reason, until: st.Until}
	case whatsapp.StateConnecting, whatsapp.StateDisconnected, whatsapp.StateDegraded, whatsapp.StateReplaced:
		if s.dev == nil {
			return
		}
		s.conn, s.reason = st.State, st.Reason
	default:
		return
	}
	p.publishLocked(salonID, s)
}

// SetSendError makes every send to the recipient fail with err; a nil err removes the rule. The
// phone is normalised like a send's, so any spelling of the same number matches.
func (p *Phone) SetSendError(phone string, err error) {
	key := phone
	if digits, nerr := whatsapp.NormalizePhone(phone); nerr == nil {
		key = digits
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		delete(p.sendErr, key)
		return
	}
	p.sendErr[key] = err
}

// SetUnreachable simulates a machine without network: new pairing attempts end at once with a
// PairError wrapping whatsapp.ErrUnreachable, Reconnect returns it, and sends fail with
// whatsapp.ErrNotConnected. Pairing attempts already running are not affected.
func (p *Phone) SetUnreachable(unreachable bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unreachable = unreachable
}

// StallPairing makes the salon's next n pairing attempts show nothing: no code, no end, until
// they are superseded or cancelled. From the connect page such an attempt is one that never
// began: a Temporal server too busy to hand the pairing activity to a worker (its history
// service failing to, under load) looks the same to the owner.
func (p *Phone) StallPairing(salonID int64, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.salonLocked(salonID).stalls = n
}

// Messages returns a copy of what was sent for the salon, in order.
func (p *Phone) Messages(salonID int64) []Sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salons[salonID]
	if s == nil {
		return nil
	}
	return append([]Sent(nil), s.sent...)
}

// Restore links a device the salon paired in an earlier run of the process, as the real
// adapter reconnects devices from its session store at start. frozen keeps it disconnected.
func (p *Phone) Restore(salonID int64, phone, name string, frozen bool) {
	digits, err := whatsapp.NormalizePhone(phone)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	s.dev = &device{jid: p.nextJIDLocked(digits), phone: digits, name: name}
	s.conn = whatsapp.StateLinked
	if frozen {
		s.conn = whatsapp.StateDisconnected
	}
	p.publishLocked(salonID, s)
}
