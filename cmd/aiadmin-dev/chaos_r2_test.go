package main

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// r2Faults make about 30 % of the requests to each YClients endpoint fail: 429s, 5xx and
// timeouts (a delay past our client's 15 s), and the activation callback also "accepted but
// our request failed" (served, then a 504 or no answer in time).
var r2Faults = func() []yclientsfake.Fault {
	var out []yclientsfake.Fault
	for _, p := range []string{"/api/v1/", "/marketplace/salon/"} {
		out = append(out,
			yclientsfake.Fault{PathPrefix: p, Status: 429, Rate: 0.10},
			yclientsfake.Fault{PathPrefix: p, Status: 503, Rate: 0.06},
			yclientsfake.Fault{PathPrefix: p, Status: 500, Rate: 0.04, HTML: true},
			yclientsfake.Fault{PathPrefix: p, Status: 504, Rate: 0.05},
			yclientsfake.Fault{PathPrefix: p, DelayMS: 16_000, Rate: 0.07})
	}
	cb := "/marketplace/partner/callback"
	return append(out,
		yclientsfake.Fault{PathPrefix: cb, Status: 503, Rate: 0.10},
		yclientsfake.Fault{PathPrefix: cb, Status: 504, After: true, Rate: 0.12},
		yclientsfake.Fault{PathPrefix: cb, DelayMS: 16_000, After: true, Rate: 0.12})
}()

// runR2 (flaky YClients): installs while ~30 % of YClients' answers fail → all installs
// complete, callbacks exactly once, every stored webhook secret verifies (and a booking's
// webhook is taken), and YClients never sees more than 5 requests/s from the whole cluster.
func runR2(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	salons := s.addSalons(s.size.r2Installs)
	for _, f := range r2Faults {
		require.NoError(t, s.fake.AddFault(f))
	}
	defer s.fake.ClearFaults()
	restartsBefore := s.ownerRestarts.Load()
	installErrs := s.installAll(salons, 10, s.size.settle, nil)
	installed := time.Since(began)
	var waiting, wrong []string
	s.waitUntil(t, time.Minute, "R2: every salon installed", func() (bool, string) {
		waiting, wrong = s.checkInstalled(salons)
		return len(waiting) == 0 || len(wrong) > 0, firstFew(waiting, 10)
	})
	badSecrets := s.checkSecrets(salons)
	// The stored secrets work end to end: one booking per salon, its webhook taken, its
	// confirmation sent, while YClients is still flaky.
	var bookings []chaosBooking
	for _, sl := range salons {
		b, err := s.book(sl, 3, 1)
		require.NoError(t, err)
		bookings = append(bookings, b)
	}
	var unconfirmed []string
	s.waitUntil(t, s.size.settle, "R2: a booking per salon confirmed", func() (bool, string) {
		var bad []string
		unconfirmed, bad = s.checkConfirmed(bookings)
		wrong = append(wrong[:0:0], bad...)
		return len(unconfirmed) == 0 || len(bad) > 0, firstFew(unconfirmed, 10)
	})
	reqs := s.apiLog.since(began)
	rate := yclientsfake.MaxRequestRate(reqs, time.Second)
	tally := tallyStatuses(reqs)
	report(t, "R2: %d installs under ~30%% faulty YClients answers (%s of %d requests), %d completed (owners started again %d times), %d wrong (callbacks, welcomes, confirmations), %d stored webhook secrets not verifying; max YClients rate %.0f requests/s (limit 5); installs done in %s, all in %s",
		len(salons), tally, len(reqs), len(salons)-len(installErrs), s.ownerRestarts.Load()-restartsBefore, len(wrong),
		len(badSecrets), rate, installed.Round(time.Second), time.Since(began).Round(time.Second))
	require.Empty(t, installErrs, "installs that never completed")
	require.Empty(t, wrong, "lost or doubled:\n  %s", firstFew(wrong, 30))
	require.Empty(t, badSecrets, "webhook secrets YClients was given that our store does not verify")
	require.LessOrEqual(t, rate, 5.0, "YClients saw more than 5 requests/s from the whole cluster (its limit is per IP)")
}

// checkSecrets verifies, for every salon, the webhook secret of the activation YClients
// accepted (the one it will post to) against what our store keeps.
func (s *chaosSuite) checkSecrets(salons []*chaosSalon) []string {
	accepted := map[int64]string{}
	for _, cb := range s.fake.Callbacks() {
		if (cb.StatusCode == 201 || cb.StatusCode == 301) && len(cb.WebhookURLs) > 0 {
			accepted[cb.SalonID] = cb.WebhookURLs[0]
		}
	}
	var bad []string
	for _, sl := range salons {
		u, err := url.Parse(accepted[sl.ID])
		if err != nil || u.Path == "" {
			bad = append(bad, fmt.Sprintf("salon %d: no accepted webhook URL", sl.ID))
			continue
		}
		ok, err := s.store.VerifyWebhookSecret(context.Background(), sl.ID, path.Base(u.Path))
		if err != nil || !ok {
			bad = append(bad, fmt.Sprintf("salon %d: the secret of the accepted callback does not verify (%v)", sl.ID, err))
		}
	}
	return bad
}

// tallyStatuses counts the answers that were not a success: «41×429, 12×5xx, 9 timeouts».
func tallyStatuses(reqs []yclientsfake.RequestLog) string {
	var tooMany, server, timeouts int
	for _, r := range reqs {
		switch {
		case r.Status == 429:
			tooMany++
		case r.Status >= 500:
			server++
		case r.Status == 0:
			timeouts++
		}
	}
	return strings.Join([]string{fmt.Sprintf("%d×429", tooMany), fmt.Sprintf("%d×5xx", server),
		fmt.Sprintf("%d timeouts", timeouts)}, ", ")
}
