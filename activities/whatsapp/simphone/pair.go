package simphone

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Errors returned by Scan, the owner's side of pairing. ErrPhoneMismatch also ends the pairing
// stream as the Err of its PairError item.
var (
	ErrNoAttempt     = errors.New("simphone: no pairing attempt is waiting for a scan")
	ErrCodeExpired   = errors.New("simphone: the code has expired")
	ErrPhoneMismatch = errors.New("simphone: the code was entered on a phone with another number")
)

// attempt is one running pairing attempt. codeUntil is when the code now on screen expires (zero
// before the first code is shown); scanned is set once a scan was handed to the goroutine.
type attempt struct {
	kind      whatsapp.PairKind // PairQR or PairCode
	want      string            // phone mode: the number the code was requested for
	cancel    context.CancelFunc
	codeUntil time.Time
	scanned   bool
	stalled   bool            // shows nothing until superseded or cancelled (StallPairing)
	scan      chan scanResult // buffered 1, written at most once
}

type scanResult struct {
	phone, name string
	err         error
}

// step is one code put on screen and how long to wait before the next step.
type step struct {
	item whatsapp.PairEvent
	wait time.Duration
}

// PairQR starts a QR pairing attempt: QRCodes codes, the first valid for FirstQR and the rest for
// NextQR, then PairTimeout if nobody scanned. It supersedes the salon's running attempt, whose
// stream closes without a terminal item. A linked device keeps working until the new one pairs.
func (p *Phone) PairQR(ctx context.Context, salonID int64) (<-chan whatsapp.PairEvent, error) {
	return p.startAttempt(ctx, salonID, whatsapp.PairQR, "")
}

// PairPhone starts a pairing attempt by code: one PairCode item valid for PairCodeTTL (capped at
// the batch window), then PairSuccess when the owner enters it on the phone with that number, or
// PairTimeout when the window ends. An invalid phone fails before any stream is started.
func (p *Phone) PairPhone(ctx context.Context, salonID int64, phone string) (<-chan whatsapp.PairEvent, error) {
	digits, err := whatsapp.NormalizePhone(phone)
	if err != nil {
		return nil, err
	}
	return p.startAttempt(ctx, salonID, whatsapp.PairCode, digits)
}

func (p *Phone) startAttempt(ctx context.Context, salonID int64, kind whatsapp.PairKind, want string) (<-chan whatsapp.PairEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	p.abortLocked(s)
	if p.unreachable {
		// Like whatsmeow's Connect without network: fails in milliseconds, no code ever shown.
		p.publishLocked(salonID, s)
		out := make(chan whatsapp.PairEvent, 1)
		out <- whatsapp.PairEvent{Kind: whatsapp.PairError, Err: fmt.Errorf("simphone: connect: %w", whatsapp.ErrUnreachable)}
		close(out)
		return out, nil
	}
	actx, cancel := context.WithCancel(ctx)
	a := &attempt{kind: kind, want: want, cancel: cancel, scan: make(chan scanResult, 1), stalled: s.stalls > 0}
	if a.stalled {
		s.stalls--
	}
	s.attempt = a
	p.publishLocked(salonID, s)

	steps := p.steps(kind)
	// Room for every item, so the goroutine never blocks on a reader that went away.
	out := make(chan whatsapp.PairEvent, len(steps)+1)
	p.wg.Add(1)
	go p.run(actx, salonID, a, steps, out)
	return out, nil
}

// steps lays out the codes of one attempt. In phone mode whatsmeow still rotates QR codes behind
// the scenes, but the pairing code outlives them: only the end of the batch window ends it.
func (p *Phone) steps(kind whatsapp.PairKind) []step {
	if kind == whatsapp.PairCode {
		ttl := min(p.opts.PairCodeTTL, p.window())
		return []step{{item: whatsapp.PairEvent{Kind: whatsapp.PairCode, Code: newPairingCode(), ExpiresIn: ttl}, wait: p.window()}}
	}
	steps := make([]step, p.opts.QRCodes)
	for i := range steps {
		ttl := p.opts.NextQR
		if i == 0 {
			ttl = p.opts.FirstQR
		}
		steps[i] = step{item: whatsapp.PairEvent{Kind: whatsapp.PairQR, Code: newQRPayload(), ExpiresIn: ttl}, wait: ttl}
	}
	return steps
}

// abortLocked ends the salon's running attempt, if any; its stream closes without a terminal item.
func (p *Phone) abortLocked(s *salon) {
	if s.attempt != nil {
		s.attempt.cancel()
		s.attempt = nil
	}
}

// run drives one attempt's stream. Every exit closes the stream and releases the context; a
// terminal item is sent only by the attempt that is still the salon's current one.
func (p *Phone) run(ctx context.Context, salonID int64, a *attempt, steps []step, out chan<- whatsapp.PairEvent) {
	defer p.wg.Done()
	defer close(out)
	defer a.cancel()

	if a.stalled {
		<-ctx.Done()
		p.finish(salonID, a, nil)
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	scan, scanned := scanResult{}, false
	for i := 0; i < len(steps) && !scanned; i++ {
		if !p.show(salonID, a, steps[i].item.ExpiresIn) {
			return
		}
		out <- steps[i].item
		timer.Reset(steps[i].wait)
		select {
		case <-ctx.Done():
			p.finish(salonID, a, nil)
			return
		case <-timer.C:
		case scan = <-a.scan:
			scanned = true
		}
	}
	if !scanned {
		if _, ok := p.finish(salonID, a, nil); ok {
			out <- whatsapp.PairEvent{Kind: whatsapp.PairTimeout}
		}
		return
	}
	if scan.err != nil {
		if _, ok := p.finish(salonID, a, nil); ok {
			out <- whatsapp.PairEvent{Kind: whatsapp.PairError, Err: scan.err}
		}
		return
	}
	// The server ends the stream after pairing (error 515) and the client logs in again; only
	// then is the device connected.
	timer.Reset(p.opts.ConnectDelay)
	select {
	case <-ctx.Done():
		p.finish(salonID, a, nil)
		return
	case <-timer.C:
	}
	if dev, ok := p.finish(salonID, a, &scan); ok {
		out <- whatsapp.PairEvent{Kind: whatsapp.PairSuccess, Phone: dev.phone, Name: dev.name, JID: dev.jid}
	}
}

// show records that a code with this lifetime is now on screen. It reports false if the attempt
// was superseded meanwhile.
func (p *Phone) show(salonID int64, a *attempt, ttl time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.salons[salonID].attempt != a {
		return false
	}
	a.codeUntil = p.opts.Now().Add(ttl)
	return true
}

// finish ends the attempt if it is still the salon's current one, linking the scanned device on
// success (which replaces any previous device). ok is false if the attempt had been superseded:
// the caller then sends no terminal item.
func (p *Phone) finish(salonID int64, a *attempt, scan *scanResult) (dev *device, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salons[salonID]
	if s.attempt != a {
		return nil, false
	}
	s.attempt = nil
	if scan != nil {
		dev = &device{jid: p.nextJIDLocked(scan.phone), phone: scan.phone, name: scan.name}
		s.dev, s.conn, s.reason, s.ban, s.restrict = dev, whatsapp.StateLinked, "", nil, nil
	}
	p.publishLocked(salonID, s)
	return dev, true
}

// nextJIDLocked returns a full device JID for a new companion of the account. Device numbers
// grow with every link on the same account, as on a real phone.
func (p *Phone) nextJIDLocked(digits string) string {
	n := p.devices[digits]
	if n == 0 {
		n = rand.IntN(20)
	}
	n++
	p.devices[digits] = n
	return fmt.Sprintf("%s:%d@s.whatsapp.net", digits, n)
}

// Scan simulates the owner scanning the QR code now on screen (QR attempt) or entering the
// pairing code (phone attempt) on a phone with this number and push name. PairSuccess follows
// after ConnectDelay. It fails with ErrNoAttempt if no attempt is waiting for a scan,
// ErrCodeExpired if the code on screen has expired, and ErrPhoneMismatch if a pairing code is
// entered on another number, which also ends the attempt with PairError.
func (p *Phone) Scan(salonID int64, phone, name string) error {
	digits, err := whatsapp.NormalizePhone(phone)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salons[salonID]
	if s == nil || s.attempt == nil {
		return ErrNoAttempt
	}
	a := s.attempt
	switch {
	case a.scanned:
		return fmt.Errorf("%w: the code was already used", ErrNoAttempt)
	case a.codeUntil.IsZero():
		return fmt.Errorf("%w: no code shown yet", ErrNoAttempt)
	case !p.opts.Now().Before(a.codeUntil):
		return ErrCodeExpired
	}
	a.scanned = true
	if a.kind == whatsapp.PairCode && digits != a.want {
		a.scan <- scanResult{err: ErrPhoneMismatch}
		return ErrPhoneMismatch
	}
	a.scan <- scanResult{phone: digits, name: name}
	return nil
}
