package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runR4 (Temporal down): the Temporal server stopped while webhooks arrive → every webhook
// answered 2xx and stored, all processed once it is back, none doubled.
func runR4(t *testing.T, s *chaosSuite) {
	s.up(t)
	salons := s.addSalons(min(20, max(5, s.size.r4Webhooks/25)))
	require.Empty(t, s.installAll(salons, 10, s.size.settle, nil), "installs")
	s.noPacing(t, salons)
	began := time.Now()
	require.NoError(t, s.c.stopChild("temporal"))
	stopped := time.Now()
	restarted := false
	defer func() {
		if !restarted {
			_ = s.c.restartTemporal(time.Minute) // leave the cluster whole for the next scenario
		}
	}()
	// The webhooks arrive over the first half of the downtime, each about a second after its
	// booking.
	var bookings []chaosBooking
	gap := s.size.r4Down / 2 / time.Duration(s.size.r4Webhooks)
	for i := range s.size.r4Webhooks {
		b, err := s.book(salons[i%len(salons)], 2+i%10, 1)
		require.NoError(t, err)
		bookings = append(bookings, b)
		time.Sleep(gap)
	}
	time.Sleep(time.Until(stopped.Add(s.size.r4Down)))
	answered, slowest, refused := s.answers(bookings, stopped)
	stored := s.storedWebhooks(t, salons)
	require.NoError(t, s.c.restartTemporal(time.Minute))
	restarted = true
	down := time.Since(stopped)
	waiting, wrong := s.settle(t, s.size.settle, salons, false, func() ([]string, []string) { return s.checkConfirmed(bookings) })
	processed := time.Since(stopped) - down - 5*time.Second
	report(t, "R4: Temporal down %s while %d webhooks arrived: %d answered 2xx while down (slowest %s), %d refused, %d stored; after its restart %d/%d confirmed exactly once within %s, %d wrong (lost %d); all in %s",
		down.Round(time.Second), len(bookings), answered, slowest.Round(time.Millisecond), len(refused), stored,
		len(bookings)-len(waiting)-len(wrong), len(bookings), processed.Round(time.Second), len(wrong), len(waiting),
		time.Since(began).Round(time.Second))
	require.Empty(t, refused, "webhooks not answered 2xx while Temporal was down")
	require.Equal(t, len(bookings), stored, "webhooks stored in the inbox")
	require.Empty(t, wrong, "doubled or wrong:\n  %s", firstFew(wrong, 30))
	require.Empty(t, waiting, "lost (still missing after %s):\n  %s", s.size.settle, firstFew(waiting, 30))
}

// answers reads the fake's deliveries of the bookings' create webhooks: how many were answered
// 2xx at the first attempt after since, the slowest answer, and the ones that were not.
func (s *chaosSuite) answers(bs []chaosBooking, since time.Time) (ok int, slowest time.Duration, refused []string) {
	want := map[int64]chaosBooking{}
	for _, b := range bs {
		want[b.record] = b
	}
	first := map[int64]bool{}
	for _, d := range s.fake.Deliveries() {
		b, mine := want[d.ResourceID]
		if !mine || d.Resource != "record" || d.At.Before(since) || first[d.ResourceID] {
			continue
		}
		first[d.ResourceID] = true
		if d.HTTPStatus/100 == 2 && d.Attempt == 1 {
			ok++
		} else {
			refused = append(refused, fmt.Sprintf("%s: attempt %d answered %d %s", b, d.Attempt, d.HTTPStatus, d.Error))
		}
	}
	return ok, s.hookLog.slowest(since), refused
}

// storedWebhooks counts the salons' rows in the webhook inbox.
func (s *chaosSuite) storedWebhooks(t *testing.T, salons []*chaosSalon) int {
	ids := make([]int64, 0, len(salons))
	for _, sl := range salons {
		ids = append(ids, sl.ID)
	}
	var n int
	require.NoError(t, s.store.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM webhook_inbox WHERE salon_id = ANY($1) AND resource = 'record'`, ids).Scan(&n))
	return n
}
