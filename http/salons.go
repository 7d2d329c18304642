package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/yclients"
)

// How long the salon directory keeps what YClients said. A company's title, zone and phone
// hardly change, so an owner who opens the page again, or several times while the salon is
// set up, costs no YClients call for it within companyTTL; a title that does not match a
// signed redirect is read again once it is companyRecheck old (the salon was renamed). The
// integration's status changes when YClients activates it, and decides whether the page may
// pair: it is kept only statusTTL.
const (
	companyTTL     = 10 * time.Minute
	companyRecheck = 30 * time.Second
	statusTTL      = 30 * time.Second
)

// How the register page waits for its YClients reads when many owners connect at once and the
// cluster's budget (200 requests a minute) has a queue: a read due within pageWait is waited
// for; a later one goes on in the background while the page tells the owner to wait, and keeps
// its answer for the owner's next visit, whichever api process serves it.
const (
	pageWait = 5 * time.Second
	// answerMargin is how long after its slot a read's answer is expected.
	answerMargin = 2 * time.Second
	// staleQueued is how long after its slot, or after its mark was last renewed, another
	// process's booked read is waited for: a process that died meanwhile leaves its mark, and
	// the read is made again. A process renews the mark of a read still under way past its
	// slot every staleQueued/3 (a turn in a wave's queue can wait for its slot minutes after
	// it came, while urgent requests go first).
	staleQueued = 30 * time.Second
	// maxFlights bounds the reads a process keeps in the queue (about 3 slots a second for 15
	// minutes fit in the budget's queue anyway).
	maxFlights = 5000
)

// QueuedError is a read of the salon that waits its turn in the cluster's YClients budget
// longer than a page should load: its answer is due by Ready. The read goes on meanwhile.
type QueuedError struct{ Ready time.Time }

func (e *QueuedError) Error() string {
	return "salon read queued in the yclients request budget until " + e.Ready.UTC().Format(time.RFC3339)
}

// asQueued is err's QueuedError, or nil.
func asQueued(err error) *QueuedError {
	var q *QueuedError
	if errors.As(err, &q) {
		return q
	}
	return nil
}

// YClientsSalons is what the salon directory needs of the YClients client (*yclients.Client).
type YClientsSalons interface {
	Company(ctx context.Context, salonID int64) (yclients.Company, error)
	IntegrationStatus(ctx context.Context, salonID int64) (yclients.IntegrationStatus, error)
}

// SalonReads keeps what YClients said of salons where every api process finds it
// (*db.Store): behind a load balancer an owner's next request may reach another process.
type SalonReads interface {
	// SalonReadSince is the reading of kind kept for the salon, when it was read after since.
	SalonReadSince(ctx context.Context, salonID int64, kind string, since time.Time) (body []byte, at time.Time, ok bool, err error)
	KeepSalonReading(ctx context.Context, salonID int64, kind string, body []byte, at time.Time) error
}

// What the salon directory keeps in SalonReads.
const (
	readCompany     = "company"
	readIntegration = "integration"
	// queuedMark follows a kind for the mark of its read booked by one process: the slot,
	// {"slot": …}, or none ({}) once the read failed.
	queuedMark = ".queued"
)

// salonDirectory reads salons from YClients for the marketplace redirect, with a cache: in
// the process, and in SalonReads for the other processes (shared, nil when there are none).
// The company and the integration status are kept apart: when many owners connect at once and
// the page runs out of time waiting for the second read, its retry does not pay for the first
// again, whichever process it reaches. A read is made once however many pages wait for it
// (flights), and goes on when the page stops waiting.
type salonDirectory struct {
	yc       YClientsSalons
	shared   SalonReads
	now      func() time.Time
	pageWait time.Duration
	// staleQueued is staleQueued (tests shorten it).
	staleQueued time.Duration

	mu        sync.Mutex
	companies map[int64]cached[*activities.KnownCompany]
	statuses  map[int64]cached[string]
	flights   map[flightKey]*flight
	spares    map[int64]*spareTurn // by salon
}

type cached[T any] struct {
	v  T
	at time.Time
}

// NewSalonDirectory is the SalonDirectory over the YClients API, sharing what it read with the
// other api processes through shared (nil: this process keeps it alone).
func NewSalonDirectory(yc YClientsSalons, shared SalonReads) SalonDirectory {
	return newSalonDirectory(yc, shared)
}

func newSalonDirectory(yc YClientsSalons, shared SalonReads) *salonDirectory {
	return &salonDirectory{yc: yc, shared: shared, now: time.Now, pageWait: pageWait, staleQueued: staleQueued,
		companies: map[int64]cached[*activities.KnownCompany]{}, statuses: map[int64]cached[string]{},
		flights: map[flightKey]*flight{}, spares: map[int64]*spareTurn{}}
}

// Company implements SalonDirectory. The owner's page is waiting: the request goes first in
// the YClients budget (yclients.Queued), as the status's does.
func (d *salonDirectory) Company(ctx context.Context, salonID int64, maxAge time.Duration) (*activities.KnownCompany, error) {
	if c, ok := kept(ctx, d, d.companies, readCompany, salonID, maxAge); ok {
		return c, nil
	}
	// A salon whose status is not kept either may need it next (one not yet pairing does): the
	// company's read keeps the turn after its own for it.
	_, statusKept := kept(ctx, d, d.statuses, readIntegration, salonID, statusTTL)
	err := d.read(ctx, salonID, readCompany, d.pageWait, !statusKept, func(ctx context.Context) error {
		c, err := d.yc.Company(ctx, salonID)
		if yclients.IsNotFound(err) {
			return fmt.Errorf("salon %d: %w", salonID, ErrUnknownSalon)
		}
		if err != nil {
			return err
		}
		keep(ctx, d, d.companies, readCompany, salonID,
			&activities.KnownCompany{Title: c.Title, Phone: c.Phone, Email: c.Email, Address: c.Address, Timezone: c.Timezone})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c, ok := kept(ctx, d, d.companies, readCompany, salonID, maxAge); ok {
		return c, nil
	}
	return nil, errNotKept
}

// errNotKept: a read ended well and its answer is not where it keeps it (no sane path leads
// here).
var errNotKept = errors.New("salon read: the answer is not kept")

// Integration implements SalonDirectory: "" when YClients has no integration of ours.
func (d *salonDirectory) Integration(ctx context.Context, salonID int64) (string, error) {
	return d.integration(ctx, salonID, d.pageWait)
}

// QueueIntegration implements SalonDirectory.
func (d *salonDirectory) QueueIntegration(ctx context.Context, salonID int64) time.Time {
	_, err := d.integration(ctx, salonID, 0)
	if q := asQueued(err); q != nil {
		return q.Ready
	}
	return time.Time{}
}

func (d *salonDirectory) integration(ctx context.Context, salonID int64, wait time.Duration) (string, error) {
	if st, ok := kept(ctx, d, d.statuses, readIntegration, salonID, statusTTL); ok {
		return st, nil
	}
	err := d.read(ctx, salonID, readIntegration, wait, false, d.fetchIntegration(salonID))
	if errors.Is(err, errWithdrawn) {
		// The read this page found was to follow the company's, which failed meanwhile.
		err = d.read(ctx, salonID, readIntegration, wait, false, d.fetchIntegration(salonID))
	}
	if err != nil {
		return "", err
	}
	if st, ok := kept(ctx, d, d.statuses, readIntegration, salonID, statusTTL); ok {
		return st, nil
	}
	return "", errNotKept
}

// fetchIntegration reads the integration's status of the salon from YClients and keeps it.
func (d *salonDirectory) fetchIntegration(salonID int64) func(context.Context) error {
	return func(ctx context.Context) error {
		st, err := d.yc.IntegrationStatus(ctx, salonID)
		switch {
		case yclients.IsNotFound(err):
		case err != nil:
			return err
		}
		keep(ctx, d, d.statuses, readIntegration, salonID, st.Status)
		return nil
	}
}

// spareTurn is the turn in the owners' queue a company read (first) took after its own for the
// salon's next read, the integration's status (yclients.QueuedWithNext): in a wave, an owner's
// two reads then go one after the other, instead of the status's behind the companies of every
// owner who came meanwhile. The status's read takes it when it is needed (a salon not yet
// pairing), and is made once first's answer is in. A spare turn nobody takes is a gap of one
// slot in the queue. Under salonDirectory.mu.
type spareTurn struct {
	first *flight
	at    time.Time     // zero until first has its turn
	known chan struct{} // closed when at is set
}

// spareTurnFor is how long after its time a spare turn is still taken: an owner's status read
// comes right after the company's answer (the same page, or its next visit when the answer is
// due); one asked later takes a turn of its own, behind the owners who came meanwhile.
const spareTurnFor = pageWait + answerMargin

// errWithdrawn ends a read that was to follow another in its spare turn when that one failed:
// it was not made. A page that waited for it reads again.
var errWithdrawn = errors.New("salon read: withdrawn, the read before it failed")

// flightKey names one read of a salon.
type flightKey struct {
	salon int64
	kind  string
}

// flight is a read of a salon under way, in its slot of the YClients budget.
type flight struct {
	done   chan struct{} // closed when the read has ended, with err
	err    error
	booked chan struct{} // closed when the read has its slot
	once   sync.Once
	ended  time.Time // when the read ended (under salonDirectory.mu)
	seen   bool      // a page was told how it failed (under salonDirectory.mu)
	mu     sync.Mutex
	slot   time.Time
	// marking orders the writes of the flight's mark (markSlot).
	marking sync.Mutex
}

// book sets the read's slot; announce then tells the pages that wait.
func (f *flight) book(slot time.Time) {
	f.mu.Lock()
	f.slot = slot
	f.mu.Unlock()
}

func (f *flight) announce() { f.once.Do(func() { close(f.booked) }) }

// ready is when the read's answer is due: answerMargin after its slot, or after fallback when
// it has none yet (a limiter that does not say, or a slow store).
func (f *flight) ready(fallback time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.slot.IsZero() {
		return time.Now().Add(fallback)
	}
	return f.slot.Add(answerMargin)
}

// read makes the salon's read of kind with fetch, which keeps its answer, and waits up to wait
// for it. The read is made once: a page that comes while it is under way waits for the same
// one, in this process or (its mark in shared) in another. When its slot in the YClients
// budget is further than wait, it is a QueuedError saying when the answer is due, and the read
// goes on. A read this one starts keeps the turn after its own for the salon's status (spare);
// the status's read takes a spare turn kept for it.
func (d *salonDirectory) read(ctx context.Context, salonID int64, kind string, wait time.Duration, spare bool, fetch func(context.Context) error) error {
	k := flightKey{salon: salonID, kind: kind}
	d.mu.Lock()
	f := d.current(k)
	d.mu.Unlock()
	if f == nil {
		if err := d.queuedElsewhere(ctx, k); err != nil {
			return err
		}
		d.mu.Lock()
		if f = d.current(k); f == nil {
			if len(d.flights) >= maxFlights {
				d.mu.Unlock()
				return fmt.Errorf("salon read: %d reads queued: %w", maxFlights, yclients.ErrBudgetDeadline)
			}
			f = newFlight()
			d.flights[k] = f
			var taken *spareTurn
			if kind == readIntegration {
				taken = d.takeSpareTurn(salonID)
			}
			switch {
			case spare:
				sp := &spareTurn{first: f, known: make(chan struct{})}
				if len(d.spares) > 10_000 {
					clear(d.spares) // a bound: a spare turn serves seconds
				}
				d.spares[salonID] = sp
				go d.fly(k, f, fetch, func(ctx context.Context, booked func(time.Time)) context.Context {
					return yclients.QueuedWithNext(ctx, booked, func(turn time.Time) { d.tellSpare(sp, turn) })
				})
			case taken != nil:
				go d.flyInSpare(k, f, taken, fetch)
			default:
				go d.fly(k, f, fetch, yclients.Queued)
			}
		}
		d.mu.Unlock()
	}
	return d.await(ctx, f, wait)
}

// takeSpareTurn takes the salon's spare turn, when one may still be taken. d.mu is held.
func (d *salonDirectory) takeSpareTurn(salonID int64) *spareTurn {
	sp := d.spares[salonID]
	delete(d.spares, salonID)
	if sp != nil && !sp.at.IsZero() && time.Since(sp.at) > spareTurnFor {
		return nil
	}
	return sp
}

// tellSpare sets sp's turn, once.
func (d *salonDirectory) tellSpare(sp *spareTurn, turn time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sp.at.IsZero() {
		sp.at = turn
		close(sp.known)
	}
}

func newFlight() *flight { return &flight{done: make(chan struct{}), booked: make(chan struct{})} }

// flyInSpare makes f, the read of k, in the spare turn sp: it tells the pages when that is as
// soon as sp's first read has its turn, and reads once that read's answer is in; when that
// read failed, f is withdrawn unread.
func (d *salonDirectory) flyInSpare(k flightKey, f *flight, sp *spareTurn, fetch func(context.Context) error) {
	first := sp.first
	select {
	case <-sp.known:
	case <-first.done: // it may have ended without a turn (a limiter that is not the Budget)
	}
	d.mu.Lock()
	at := sp.at
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), yclients.QueueHorizon+time.Minute)
	defer cancel()
	var marked atomic.Bool
	renewed := d.renewMark(ctx, k, f, &marked) // first may wait for its slot past f's turn
	if !at.IsZero() {
		f.book(at)
		if d.markSlot(ctx, k, f) {
			marked.Store(true)
		}
		f.announce()
	}
	<-first.done
	renewed()
	if first.err != nil {
		d.mu.Lock()
		if d.flights[k] == f {
			delete(d.flights, k)
		}
		f.err, f.ended, f.seen = errWithdrawn, time.Now(), true
		d.mu.Unlock()
		if marked.Load() { // the other processes read it themselves
			d.mark(ctx, k, queuedMarkBody{})
		}
		close(f.done)
		return
	}
	queue := yclients.Queued
	if !at.IsZero() {
		queue = func(ctx context.Context, booked func(time.Time)) context.Context {
			return yclients.QueuedAt(ctx, at, booked)
		}
	}
	d.fly(k, f, fetch, queue)
}

// fly makes the read, in the Budget's queue (as queue marks it) up to its horizon, whether a
// page still waits or not: the answer is kept for the owner's next visit.
func (d *salonDirectory) fly(k flightKey, f *flight, fetch func(context.Context) error, queue func(context.Context, func(time.Time)) context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), yclients.QueueHorizon+time.Minute)
	defer cancel()
	var marked atomic.Bool
	renewed := d.renewMark(ctx, k, f, &marked)
	err := fetch(queue(ctx, func(slot time.Time) {
		// The mark first: a page told to come back may come back to another process.
		f.book(slot)
		if d.markSlot(ctx, k, f) {
			marked.Store(true)
		}
		f.announce()
	}))
	renewed()
	if err != nil && marked.Load() {
		failed := failedUnavailable
		switch {
		case errors.Is(err, ErrUnknownSalon):
			failed = failedUnknown
		case errors.Is(err, yclients.ErrBudgetDeadline):
			failed = failedQueueFull
		}
		d.mark(ctx, k, queuedMarkBody{Failed: failed})
	}
	d.mu.Lock()
	f.err, f.ended = err, time.Now()
	if err == nil {
		delete(d.flights, k) // the answer is kept
	}
	d.mu.Unlock()
	close(f.done)
}

// markSlot tells the other processes the slot of f, the read of k, and reports whether it did.
// The flight's marks are written one at a time, each with the slot as it is then, so the
// last one written has the last slot.
func (d *salonDirectory) markSlot(ctx context.Context, k flightKey, f *flight) bool {
	f.marking.Lock()
	defer f.marking.Unlock()
	f.mu.Lock()
	slot := f.slot
	f.mu.Unlock()
	return d.mark(ctx, k, queuedMarkBody{Slot: slot})
}

// renewMark renews the mark of f, the read of k, every staleQueued/3 while its slot has
// passed and the read is under way, so that the other processes keep waiting for it rather
// than read again; the function it returns stops it and waits until it has.
func (d *salonDirectory) renewMark(ctx context.Context, k flightKey, f *flight, marked *atomic.Bool) (stop func()) {
	if d.shared == nil {
		return func() {}
	}
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(d.staleQueued / 3)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			f.mu.Lock()
			due := !f.slot.IsZero() && time.Now().After(f.slot)
			f.mu.Unlock()
			if due && d.markSlot(ctx, k, f) {
				marked.Store(true)
			}
		}
	}()
	return func() {
		close(quit)
		<-stopped
	}
}

// current is the flight of k a page waits for: under way, or failed less than failedKeep ago
// while no page has seen how (the owner who was told to wait learns it). d.mu is held.
func (d *salonDirectory) current(k flightKey) *flight {
	f := d.flights[k]
	if f != nil && !f.ended.IsZero() && (f.seen || time.Since(f.ended) > failedKeep) {
		delete(d.flights, k)
		return nil
	}
	return f
}

// await waits up to wait (and answerMargin) for f's answer.
func (d *salonDirectory) await(ctx context.Context, f *flight, wait time.Duration) error {
	timer := time.NewTimer(wait + answerMargin)
	defer timer.Stop()
	booked := f.booked
	for {
		select {
		case <-f.done:
			if f.err != nil {
				d.mu.Lock()
				f.seen = true
				d.mu.Unlock()
			}
			return f.err
		case <-booked:
			booked = nil
			if ready := f.ready(wait); time.Until(ready) > wait+answerMargin {
				return &QueuedError{Ready: ready}
			}
		case <-timer.C:
			return &QueuedError{Ready: f.ready(wait)}
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &QueuedError{Ready: f.ready(wait)}
			}
			return ctx.Err()
		}
	}
}

// queuedMarkBody is the mark of a read booked by one process: its slot, or how it failed.
type queuedMarkBody struct {
	Slot   time.Time `json:"slot,omitzero"`
	Failed string    `json:"failed,omitempty"`
}

// How a marked read failed.
const (
	failedUnknown     = "unknown_salon"
	failedQueueFull   = "queue_full" // the budget's queue was longer than yclients.QueueHorizon
	failedUnavailable = "unavailable"
)

// failedKeep is how long a failed read's end is what the owner's next visit is told: then the
// salon is read again.
const failedKeep = time.Minute

// errReadFailedElsewhere is the failure of another process's read the owner waited for.
var errReadFailedElsewhere = errors.New("salon read: yclients failed the read this page waited for")

// mark tells the other processes how this one's read of k goes, and reports whether it did.
func (d *salonDirectory) mark(ctx context.Context, k flightKey, m queuedMarkBody) bool {
	if d.shared == nil {
		return false
	}
	body, _ := json.Marshal(m)
	return d.shared.KeepSalonReading(ctx, k.salon, k.kind+queuedMark, body, d.now()) == nil
}

// queuedElsewhere is another process's read of k, when one has booked it: a QueuedError when
// its slot is at most staleQueued ago, or how it failed, less than failedKeep ago; nil when
// there is none to wait for.
func (d *salonDirectory) queuedElsewhere(ctx context.Context, k flightKey) error {
	if d.shared == nil {
		return nil
	}
	now := d.now()
	body, at, ok, err := d.shared.SalonReadSince(ctx, k.salon, k.kind+queuedMark, now.Add(-yclients.QueueHorizon-d.staleQueued))
	var m queuedMarkBody
	if err != nil || !ok || json.Unmarshal(body, &m) != nil {
		return nil
	}
	switch {
	case m.Failed == failedUnknown && now.Sub(at) < failedKeep:
		return fmt.Errorf("salon %d: %w", k.salon, ErrUnknownSalon)
	case m.Failed == failedQueueFull && now.Sub(at) < failedKeep:
		return fmt.Errorf("salon read in another process: %w", yclients.ErrBudgetDeadline)
	case m.Failed != "" && now.Sub(at) < failedKeep:
		return errReadFailedElsewhere
	case m.Slot.IsZero() || now.After(later(m.Slot, at).Add(d.staleQueued)):
		return nil
	case now.After(m.Slot.Add(answerMargin)):
		// The read's slot has passed and it is still under way (its mark renewed): waiting
		// for a slot behind urgent requests, or for YClients' answer.
		return &QueuedError{Ready: now.Add(d.pageWait)}
	}
	return &QueuedError{Ready: later(m.Slot.Add(answerMargin), now.Add(answerMargin))}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// kept is what the process or (d.shared) another one read of the salon less than maxAge ago.
// The shared store failing costs a YClients read, nothing else.
func kept[T any](ctx context.Context, d *salonDirectory, m map[int64]cached[T], kind string, salonID int64, maxAge time.Duration) (T, bool) {
	var zero T
	d.mu.Lock()
	c, ok := m[salonID]
	d.mu.Unlock()
	now := d.now()
	if ok && now.Sub(c.at) < maxAge {
		return c.v, true
	}
	if d.shared == nil {
		return zero, false
	}
	body, at, ok, err := d.shared.SalonReadSince(ctx, salonID, kind, now.Add(-maxAge))
	var v T
	if err != nil || !ok || json.Unmarshal(body, &v) != nil {
		return zero, false
	}
	remember(d, m, salonID, v, at)
	return v, true
}

// keep keeps what YClients just said of the salon, in the process and for the others.
func keep[T any](ctx context.Context, d *salonDirectory, m map[int64]cached[T], kind string, salonID int64, v T) {
	at := d.now()
	remember(d, m, salonID, v, at)
	if d.shared == nil {
		return
	}
	if body, err := json.Marshal(v); err == nil {
		_ = d.shared.KeepSalonReading(ctx, salonID, kind, body, at) // not kept: the next process reads it again
	}
}

func remember[T any](d *salonDirectory, m map[int64]cached[T], salonID int64, v T, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(m) > 10_000 {
		clear(m) // a bound, not an eviction policy: entries serve minutes at most anyway
	}
	m[salonID] = cached[T]{v: v, at: at}
}
