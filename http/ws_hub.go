package httpapi

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/workflows"
)

// Per-salon limits of the connect page in this process.
const (
	maxPagesPerSalon = 3                // open websockets; a fourth closes the oldest
	statusPollEvery  = 5 * time.Second  // the installation is queried at most this often
	statusPollFast   = 30 * time.Second // for this long after news or a page's request,
	statusPollMax    = 20 * time.Second // then less often, down to this
	requestQREvery   = 10 * time.Second // «Показать новый код» at most this often
	// queryGrace: a page that shows the salon's state tells the owner that the server cannot be
	// reached only once its readings have failed for this long (a busy server answers a reading
	// late now and then; the page keeps showing the last state meanwhile).
	queryGrace = 20 * time.Second
)

// stateUpdate is one reading of an installation's state for the pages of a salon.
type stateUpdate struct {
	st  workflows.State
	err error
}

// hub keeps, per salon, the open connect pages and one poller of the installation's state that
// fans out to all of them: however many pages are open, the workflow is queried at most once
// per pollEvery.
type hub struct {
	temporal       temporalAPI
	log            *slog.Logger
	pollEvery      time.Duration
	pollFast       time.Duration
	pollMax        time.Duration
	maxPages       int
	requestQREvery time.Duration
	after          func(time.Duration) <-chan time.Time // the poller's clock: time.After and time.Now
	now            func() time.Time                     // (tests replace them)

	mu     sync.Mutex
	salons map[int64]*room
	lastQR map[int64]time.Time // the last request-qr accepted per salon, kept past its pages

	// stopping is set when the process stops (closeAll): pages are closed with a restart
	// code, new ones refused; idle is closed once the last page has gone.
	stopping   bool
	open       int
	idle       chan struct{}
	idleClosed bool
}

// room is one salon's pages and poller.
type room struct {
	pages    []*wsSession // oldest first
	latest   *stateUpdate
	polledAt time.Time
	kick     chan struct{}
	stop     context.CancelFunc
}

func newHub(tc temporalAPI, log *slog.Logger) *hub {
	return &hub{temporal: tc, log: log, pollEvery: statusPollEvery, pollFast: statusPollFast, pollMax: statusPollMax, after: time.After, now: time.Now, maxPages: maxPagesPerSalon,
		requestQREvery: requestQREvery, salons: map[int64]*room{}, lastQR: map[int64]time.Time{}, idle: make(chan struct{})}
}

// isStopping reports whether the process is stopping: no new page is admitted.
func (h *hub) isStopping() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopping
}

// closeAll closes every page with the restart code and refuses new ones.
func (h *hub) closeAll() {
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		return
	}
	h.stopping = true
	var pages []*wsSession
	for _, r := range h.salons {
		pages = append(pages, r.pages...)
	}
	h.idleLocked()
	h.mu.Unlock()
	for _, p := range pages {
		p.restart()
	}
}

// idleLocked closes idle once the hub is stopping and no page is open.
func (h *hub) idleLocked() {
	if h.stopping && h.open == 0 && !h.idleClosed {
		h.idleClosed = true
		close(h.idle)
	}
}

// wait returns when every page has gone after closeAll, or when ctx ends.
func (h *hub) wait(ctx context.Context) {
	select {
	case <-h.idle:
	case <-ctx.Done():
	}
}

// current returns the salon's state: the poller's latest reading while it is fresh, else a
// query (which counts as the poll).
func (h *hub) current(ctx context.Context, salonID int64) stateUpdate {
	h.mu.Lock()
	r := h.salons[salonID]
	if r != nil && r.latest != nil && h.now().Sub(r.polledAt) < h.pollEvery {
		u := *r.latest
		h.mu.Unlock()
		return u
	}
	h.mu.Unlock()
	u := h.query(ctx, salonID)
	h.mu.Lock()
	if r := h.salons[salonID]; r != nil {
		r.latest, r.polledAt = &u, h.now()
	}
	h.mu.Unlock()
	return u
}

func (h *hub) query(ctx context.Context, salonID int64) stateUpdate {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var st workflows.State
	v, err := h.temporal.QueryWorkflow(ctx, workflows.InstallationID(salonID), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return stateUpdate{st: st, err: err}
}

// join adds a page to its salon; the salon's oldest page is closed when there are too many.
// seed, when set, is the reading the page was admitted with.
func (h *hub) join(s *wsSession, seed *stateUpdate) {
	h.mu.Lock()
	r := h.salons[s.salonID]
	if r == nil {
		ctx, cancel := context.WithCancel(context.Background())
		r = &room{kick: make(chan struct{}, 1), stop: cancel}
		if seed != nil {
			r.latest, r.polledAt = seed, h.now()
		}
		h.salons[s.salonID] = r
		go h.poll(ctx, s.salonID, r)
	}
	r.pages = append(r.pages, s)
	h.open++
	stopping := h.stopping
	var evicted *wsSession
	if len(r.pages) > h.maxPages {
		evicted, r.pages = r.pages[0], r.pages[1:]
	}
	latest := r.latest
	h.mu.Unlock()
	if latest != nil {
		s.deliver(*latest)
	} else {
		h.kickPoll(s.salonID)
	}
	if evicted != nil {
		evicted.closeWith(textTooManyPages)
	}
	if stopping {
		s.restart() // admitted while the process began to stop
	}
}

// leave removes a page; the salon's poller stops with its last page.
func (h *hub) leave(s *wsSession) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open--
	h.idleLocked()
	r := h.salons[s.salonID]
	if r == nil {
		return
	}
	for i, p := range r.pages {
		if p == s {
			r.pages = append(r.pages[:i], r.pages[i+1:]...)
			break
		}
	}
	if len(r.pages) == 0 {
		r.stop()
		delete(h.salons, s.salonID)
	}
}

// kickPoll asks for a reading as soon as the limit allows (e.g. after a pairing request).
func (h *hub) kickPoll(salonID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.salons[salonID]; r != nil {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// allowRequestQR admits one request-qr per requestQREvery per salon; it returns how long to
// wait otherwise.
func (h *hub) allowRequestQR(salonID int64, now time.Time) (bool, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if wait := h.lastQR[salonID].Add(h.requestQREvery).Sub(now); wait > 0 {
		return false, wait
	}
	if len(h.lastQR) > 1000 {
		for id, at := range h.lastQR {
			if now.Sub(at) >= h.requestQREvery {
				delete(h.lastQR, id)
			}
		}
	}
	h.lastQR[salonID] = now
	return true, 0
}

// poll reads the salon's state and hands each reading to the salon's pages: every pollEvery
// for pollFast after the last news or kick (a page's request, a pairing result: the owner
// watches the next step come), then twice as long after each reading, up to pollMax (hundreds
// of owners waiting minutes for their salons' syncs cost the server a query each per pollMax,
// not per pollEvery). A kick brings the next reading as soon as pollEvery has passed since the
// last one.
func (h *hub) poll(ctx context.Context, salonID int64, r *room) {
	every := h.pollEvery
	var last *stateUpdate // the last good reading
	var fastUntil time.Time
	wait := h.untilNext(r) // an admission reading counts as the first
	for {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-h.after(wait):
			}
		}
		u := h.query(ctx, salonID)
		if ctx.Err() != nil {
			return
		}
		now := h.now()
		h.mu.Lock()
		r.latest, r.polledAt = &u, now
		pages := append([]*wsSession(nil), r.pages...)
		h.mu.Unlock()
		for _, p := range pages {
			p.deliver(u)
		}
		if news(last, u) {
			fastUntil = now.Add(h.pollFast)
		}
		if u.err == nil {
			last = &u
		}
		if now.Before(fastUntil) {
			every = h.pollEvery
		} else {
			every = min(2*every, h.pollMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			fastUntil = h.now().Add(h.pollFast)
			wait = h.untilNext(r)
		case <-h.after(every):
			wait = 0
		}
	}
}

// untilNext is how long until the room may be read again: pollEvery after its last reading.
func (h *hub) untilNext(r *room) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return r.polledAt.Add(h.pollEvery).Sub(h.now())
}

// news reports whether a reading tells the pages something the last good one did not. A failed
// reading is no news: a server that cannot answer in time is asked less often.
func news(last *stateUpdate, u stateUpdate) bool {
	return u.err == nil && (last == nil || !reflect.DeepEqual(last.st, u.st))
}
