package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runR1 (crash): installs and bookings in flight while a worker process is SIGKILLed at
// random moments and started again → every salon active, exactly one activation callback and
// one welcome per salon, every booking's confirmation exactly once. At full size the kills
// fall anywhere in the installs and bookings; at the short size, while the bookings go out
// after the installs (a kill during an activation costs its 2-minute timeout).
func runR1(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	restartsBefore := s.ownerRestarts.Load()
	salons := s.addSalons(s.size.r1Installs)
	r := &r1Bookings{s: s, quota: map[int64]int{}, booked: map[int64]bool{}}
	for i := range s.size.r1Bookings {
		r.quota[salons[i%len(salons)].ID]++
	}
	full := s.size.name == "full"
	window := map[bool]time.Duration{true: 100 * time.Second, false: 20 * time.Second}[full]
	stop := make(chan struct{})
	defer close(stop)
	kills := make(chan []string, 1)
	if full {
		go func() { kills <- s.monkey(stop, s.size.r1Kills, window) }()
	}
	lateInstalls := s.installAll(salons, 20, s.size.settle, func(sl *chaosSalon) {
		if full {
			r.book(sl, 0)
		}
	})
	installed := time.Since(began)
	if !full {
		go func() { kills <- s.monkey(stop, s.size.r1Kills, window) }()
		for _, sl := range salons { // the bookings spread over the kills
			r.book(sl, window/time.Duration(len(salons)))
		}
	}
	killed := <-kills
	check := func() (waiting, wrong []string) {
		for _, sl := range salons { // a salon whose owner gave up waiting may be active since
			if !r.done(sl.ID) && s.active(sl.ID) {
				r.book(sl, 0)
			}
		}
		w1, x1 := s.checkInstalled(salons)
		w2, x2 := s.checkConfirmed(r.all())
		return append(w1, w2...), append(x1, x2...)
	}
	waiting, wrong := s.settle(t, s.size.settle, salons, false, check)
	report(t, "R1: %d installs (%d completed only after the owner's %s wait, owners started again %d times), %d bookings, %d worker kills [%s]; %d salons active with one callback and one welcome, %d/%d confirmations exactly once, %d wrong, %d missing; installs done in %s, all in %s",
		len(salons), len(lateInstalls), s.size.settle, s.ownerRestarts.Load()-restartsBefore, len(r.all()), len(killed),
		strings.Join(killed, ", "), len(salons)-countSalons(waiting, wrong), len(r.all())-countBookings(waiting, wrong),
		s.size.r1Bookings, len(wrong), len(waiting), installed.Round(time.Second), time.Since(began).Round(time.Second))
	require.Empty(t, r.errs, "bookings the fake refused")
	require.Empty(t, wrong, "doubled or wrong:\n  %s", firstFew(wrong, 30))
	require.Empty(t, waiting, "lost (still missing after %s):\n  %s", s.size.settle, firstFew(waiting, 30))
	require.Len(t, r.all(), s.size.r1Bookings, "bookings made (a salon never became active)")
}

// r1Bookings makes each salon's quota of bookings once, when it is active.
type r1Bookings struct {
	s        *chaosSuite
	mu       sync.Mutex
	quota    map[int64]int
	booked   map[int64]bool
	bookings []chaosBooking
	errs     []error
}

// book makes the salon's bookings unless made already, pause apart.
func (r *r1Bookings) book(sl *chaosSalon, pause time.Duration) {
	r.mu.Lock()
	if r.booked[sl.ID] {
		r.mu.Unlock()
		return
	}
	r.booked[sl.ID] = true
	r.mu.Unlock()
	for i := range r.quota[sl.ID] {
		b, err := r.s.book(sl, 2+i, 1)
		r.mu.Lock()
		if err != nil {
			r.errs = append(r.errs, err)
		} else {
			r.bookings = append(r.bookings, b)
		}
		r.mu.Unlock()
		time.Sleep(pause / time.Duration(max(1, r.quota[sl.ID])))
	}
}

func (r *r1Bookings) done(salon int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.booked[salon]
}

func (r *r1Bookings) all() []chaosBooking {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bookings)
}

// monkey SIGKILLs a random worker n times at random moments within window and starts each
// again 1-3 s later (a supervisor's restart). It returns what it did.
func (s *chaosSuite) monkey(stop <-chan struct{}, n int, window time.Duration) []string {
	at := make([]time.Duration, n)
	for i := range at {
		at[i] = time.Duration(rand.Int64N(int64(window)))
	}
	slices.Sort(at)
	began := time.Now()
	var did []string
	for _, d := range at {
		select {
		case <-stop:
			return did
		case <-time.After(time.Until(began.Add(d))):
		}
		ws := s.c.workers()
		name := ws[rand.IntN(len(ws))]
		d = time.Since(began)
		if err := s.c.kill(name); err != nil {
			did = append(did, fmt.Sprintf("%s not killed: %v", name, err))
			continue
		}
		down := time.Second + time.Duration(rand.Int64N(int64(2*time.Second)))
		time.Sleep(down)
		if err := s.c.restart(name); err != nil {
			did = append(did, fmt.Sprintf("%s killed at %s, not restarted: %v", name, d.Round(100*time.Millisecond), err))
			continue
		}
		did = append(did, fmt.Sprintf("%s killed at %s, back %s later", name, d.Round(100*time.Millisecond), down.Round(100*time.Millisecond)))
	}
	return did
}

// countSalons and countBookings count the distinct salons and bookings a list of findings
// names.
func countSalons(lists ...[]string) int {
	seen := map[string]bool{}
	for _, l := range lists {
		for _, f := range l {
			var id int64
			if _, err := fmt.Sscanf(f, "salon %d", &id); err == nil && !strings.Contains(f, "record") {
				seen[fmt.Sprint(id)] = true
			}
		}
	}
	return len(seen)
}

func countBookings(lists ...[]string) int {
	seen := map[string]bool{}
	for _, l := range lists {
		for _, f := range l {
			var salon, record int64
			if _, err := fmt.Sscanf(f, "salon %d record %d", &salon, &record); err == nil {
				seen[fmt.Sprint(salon, record)] = true
			}
		}
	}
	return len(seen)
}
