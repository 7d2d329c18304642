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
// one welcome per salon, every booking's confirmation exactly once.
func runR1(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	restartsBefore := s.ownerRestarts.Load()
	salons := s.addSalons(s.size.r1Installs)
	quota := map[int64]int{} // bookings per salon, r1Bookings in all
	for i := range s.size.r1Bookings {
		quota[salons[i%len(salons)].ID]++
	}
	var (
		mu       sync.Mutex
		bookings []chaosBooking
		bookErrs []error
	)
	stop := make(chan struct{})
	kills := make(chan []string, 1)
	go func() { kills <- s.monkey(stop, s.size.r1Kills, r1KillWindow(s.size)) }()
	defer close(stop)
	installErrs := s.installAll(salons, 20, s.size.settle, func(sl *chaosSalon) {
		for i := range quota[sl.ID] {
			b, err := s.book(sl, 2+i, 1)
			mu.Lock()
			if err != nil {
				bookErrs = append(bookErrs, err)
			} else {
				bookings = append(bookings, b)
			}
			mu.Unlock()
		}
	})
	installed := time.Since(began)
	require.Empty(t, bookErrs, "bookings the fake refused")
	killed := <-kills
	var waiting, wrong []string
	s.waitUntil(t, s.size.settle, "R1: every salon installed and every booking confirmed", func() (bool, string) {
		w1, x1 := s.checkInstalled(salons)
		w2, x2 := s.checkConfirmed(bookings)
		waiting, wrong = append(w1, w2...), append(x1, x2...)
		return len(waiting) == 0 || len(wrong) > 0, firstFew(waiting, 10)
	})
	time.Sleep(5 * time.Second) // a duplicate still on its way shows up now
	_, x1 := s.checkInstalled(salons)
	_, x2 := s.checkConfirmed(bookings)
	wrong = append(x1, x2...)
	report(t, "R1: %d installs (%d not completed, owners started again %d times), %d bookings, %d worker kills [%s]; %d salons active with one callback and one welcome, %d/%d confirmations exactly once, %d wrong; installs done in %s, all in %s",
		len(salons), len(installErrs), s.ownerRestarts.Load()-restartsBefore, len(bookings), len(killed), strings.Join(killed, ", "),
		len(salons)-countSalons(waiting, wrong), len(bookings)-countBookings(waiting, wrong), len(bookings), len(wrong),
		installed.Round(time.Second), time.Since(began).Round(time.Second))
	require.Empty(t, installErrs, "installs that never completed")
	require.Empty(t, wrong, "lost or doubled:\n  %s", firstFew(wrong, 30))
}

// r1KillWindow is when the kills fall: while installs and bookings are in flight.
func r1KillWindow(size chaosSize) time.Duration {
	if size.name == "full" {
		return 100 * time.Second
	}
	return 30 * time.Second
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
