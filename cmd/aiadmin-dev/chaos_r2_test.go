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

// r2Faults make about 30 % of the requests to each YClients endpoint fail: 429s and 5xx, and
// the activation callback also "accepted but our request failed" (served, then a 504); with
// timeouts (full size) some of them are a delay past our client's 15 s instead, and the
// callback is also served and answered too late.
func r2Faults(timeouts bool) []yclientsfake.Fault {
	var out []yclientsfake.Fault
	late := map[bool]float64{true: 0.07, false: 0}[timeouts]
	for _, p := range []string{"/api/v1/", "/marketplace/salon/"} {
		out = append(out,
			yclientsfake.Fault{PathPrefix: p, Status: 429, Rate: 0.10},
			yclientsfake.Fault{PathPrefix: p, Status: 503, Rate: 0.08},
			yclientsfake.Fault{PathPrefix: p, Status: 500, Rate: 0.06, HTML: true},
			yclientsfake.Fault{PathPrefix: p, Status: 504, Rate: 0.08 - late})
		if timeouts {
			out = append(out, yclientsfake.Fault{PathPrefix: p, DelayMS: 16_000, Rate: late})
		}
	}
	cb := "/marketplace/partner/callback"
	out = append(out,
		yclientsfake.Fault{PathPrefix: cb, Status: 503, Rate: 0.10},
		yclientsfake.Fault{PathPrefix: cb, Status: 504, After: true, Rate: 0.22 - late})
	if timeouts {
		out = append(out, yclientsfake.Fault{PathPrefix: cb, DelayMS: 16_000, After: true, Rate: late})
	}
	return out
}

// runR2 (flaky YClients): installs while ~30 % of YClients' answers fail → all installs
// complete, callbacks exactly once, every stored webhook secret verifies (and a booking's
// webhook is taken), and YClients never sees more than 5 requests/s from the whole cluster.
func runR2(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	salons := s.addSalons(s.size.r2Installs)
	for _, f := range r2Faults(s.size.name == "full") {
		require.NoError(t, s.fake.AddFault(f))
	}
	defer s.fake.ClearFaults()
	restartsBefore := s.ownerRestarts.Load()
	late := s.installAll(salons, 10, s.size.settle, nil)
	installed := time.Since(began)
	// The stored secrets work end to end: one booking per salon once active, its webhook
	// taken, its confirmation sent, while YClients is still flaky.
	booked := map[int64]bool{}
	var bookings []chaosBooking
	waiting, wrong := s.settle(t, s.size.settle, salons, false, func() ([]string, []string) {
		for _, sl := range salons {
			if !booked[sl.ID] && s.active(sl.ID) {
				if b, err := s.book(sl, 3, 1); err == nil {
					booked[sl.ID], bookings = true, append(bookings, b)
				}
			}
		}
		w1, x1 := s.checkInstalled(salons)
		w2, x2 := s.checkConfirmed(bookings)
		if len(bookings) < len(salons) {
			w2 = append(w2, fmt.Sprintf("%d salons not booked yet", len(salons)-len(bookings)))
		}
		return append(w1, w2...), append(x1, x2...)
	})
	badSecrets := s.checkSecrets(salons)
	reqs := s.apiLog.since(began)
	rate := yclientsfake.MaxRequestRate(reqs, time.Second)
	report(t, "R2: %d installs under ~30%% faulty YClients answers (%s of %d requests%s), %d completed only after the owner's %s wait (owners started again %d times); %d wrong (callbacks, welcomes, confirmations), %d missing, %d stored webhook secrets not verifying; max YClients rate %.0f requests/s (limit 5); installs done in %s, all in %s",
		len(salons), tallyStatuses(reqs), len(reqs), map[bool]string{true: ", timeouts included", false: ", no timeouts at this size"}[s.size.name == "full"],
		len(late), s.size.settle, s.ownerRestarts.Load()-restartsBefore, len(wrong), len(waiting),
		len(badSecrets), rate, installed.Round(time.Second), time.Since(began).Round(time.Second))
	require.Empty(t, wrong, "doubled or wrong:\n  %s", firstFew(wrong, 30))
	require.Empty(t, waiting, "never completed:\n  %s", firstFew(waiting, 30))
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
