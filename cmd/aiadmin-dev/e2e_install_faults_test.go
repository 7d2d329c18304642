package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/workflows"
)

// The installation's failure paths on the whole stack: what a freeze, a retried activation or
// a lost shard owner does to a salon that is being installed. With AIADMIN_RECORD_HISTORY set
// they record the histories the replay tests hold the workflow's new paths against.

// pairSalon installs the salon and scans the QR code; it returns once the phone is paired.
func (s *stack) pairSalon(salon int64) {
	s.t.Helper()
	s.scanUntil(salon, "connected")
}

// TestFreezeDuringFirstSync: YClients freezes the salon while its first catalogue sync waits
// on a slow YClients. The salon is active and welcomed before that sync ends (nothing a client
// gets needs the catalogue); the freeze cancels the sync at once, and after the unfreeze the
// sync runs again; one welcome in all.
func TestFreezeDuringFirstSync(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{
		PathPrefix: fmt.Sprintf("/api/v1/company/%d/services", salon), DelayMS: 30000, Count: 1}))
	s.pairSalon(salon)
	s.waitStatus(workflows.StatusActive)
	require.True(t, s.state().LastSync.At.IsZero(), "active while the first sync waits on YClients: got %+v", s.state().LastSync)
	require.Eventually(t, func() bool { return len(s.phone.Messages(salon)) == 1 }, 10*time.Second, 20*time.Millisecond,
		"the welcome goes once active")
	start := time.Now()
	s.lifecycle(s.cfg.YClientsBaseURL, "freeze")
	s.waitStatus(workflows.StatusFrozen)
	took := time.Since(start)
	require.Less(t, took, 15*time.Second, "frozen during the 30 s sync, not after it: took %s", took)
	require.True(t, s.state().LastSync.At.IsZero(), "the interrupted sync recorded nothing")

	s.lifecycle(s.cfg.YClientsBaseURL, "unfreeze")
	s.waitStatus(workflows.StatusActive)
	require.Eventually(t, func() bool { return s.state().LastSync.Services > 0 }, 20*time.Second, 50*time.Millisecond,
		"the sync ran after the unfreeze")
	require.Contains(t, s.phone.Messages(salon)[0].Text, "AI Admin")

	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	installID := workflows.InstallationID(salon)
	runID := s.waitRun(installID)
	require.Len(t, s.phone.Messages(salon), 1, "one welcome in all")
	s.record(t, installID, runID, "installation-"+t.Name())
}

// TestDoublePairingRequestIsOneAttempt: the page sends its pairing-code request twice (a
// double click) before it has seen the attempt the first one started: one attempt runs, the
// phone enters its code, and the installation goes on to active.
func TestDoublePairingRequestIsOneAttempt(t *testing.T) {
	s := newStack(t)
	conn := s.dial(s.install(s.cfg.YClientsBaseURL))
	ask := map[string]any{"type": "request-pairing-code", "phone": "+7 999 000-11-22", "attempt": 0}
	require.NoError(t, conn.WriteJSON(ask))
	require.NoError(t, conn.WriteJSON(ask))
	next(t, conn, "pairing-code", nil)
	time.Sleep(150 * time.Millisecond) // both requests answered; the code lives 600 ms here
	st := s.state()
	require.Equal(t, 1, st.Pairing.Attempt, "attempts after a double request: got %d want 1", st.Pairing.Attempt)
	require.True(t, st.Pairing.Running, "the one attempt is running")
	s.scan()
	next(t, conn, "active", nil)
	s.waitStatus(workflows.StatusActive)
	require.Equal(t, 1, s.state().Pairing.Attempt)
	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	installID := workflows.InstallationID(s.moscow)
	s.record(t, installID, s.waitRun(installID), "installation-"+t.Name())
}

// TestActivationAcceptedLateKeepsWebhooksWorking: YClients is slow. The first activation
// callback is accepted 6 s after it was sent, long after our 2 s timeout; the retry reads the
// status before that (still pending) and calls back again, accepted never (403, «already
// installed», 3 s late); the third attempt finds the integration active. Exactly one callback
// is accepted, and the webhook secret we keep verifies the URL YClients holds: a booking made
// in YClients reaches the client.
func TestActivationAcceptedLateKeepsWebhooksWorking(t *testing.T) {
	s := newStackAt(t, temporalAddr(t), func(su *stackSetup) { su.yclientsTimeout = 2 * time.Second })
	salon := s.moscow
	callback := "/marketplace/partner/callback"
	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{PathPrefix: callback, DelayMS: 6000, Linger: true, Count: 1}))
	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{PathPrefix: callback, DelayMS: 3000, Linger: true, Skip: 1, Count: 1}))
	s.pairSalon(salon)
	s.waitStatus(workflows.StatusActive)
	require.Eventually(t, func() bool { return len(s.fake.Callbacks()) == 2 }, 20*time.Second, 50*time.Millisecond,
		"both callbacks reached YClients")
	var accepted []yclientsfake.Callback
	for _, cb := range s.fake.Callbacks() {
		if cb.StatusCode == http.StatusCreated || cb.StatusCode == http.StatusMovedPermanently {
			accepted = append(accepted, cb)
		}
	}
	require.Len(t, accepted, 1, "exactly one callback accepted: %+v", s.fake.Callbacks())

	s.noPacing(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "14:30")
	s.bookRecord(salon, local)
	require.Eventually(t, func() bool { return len(s.fake.Deliveries()) > 0 }, 20*time.Second, 50*time.Millisecond)
	d := s.fake.Deliveries()[0]
	require.Equal(t, accepted[0].WebhookURLs[0], d.URL, "YClients posts to the URL it accepted")
	require.Equal(t, http.StatusOK, d.HTTPStatus, "our webhook secret check accepts YClients' webhook: got %d", d.HTTPStatus)
	texts := s.waitClientTexts(salon, 1)
	require.Contains(t, texts[0], "Вы записаны", "the booking reaches the client")
	require.Equal(t, s.fake.Callbacks()[1].WebhookURLs, accepted[0].WebhookURLs, "every attempt sent the same webhook URL")

	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	installID := workflows.InstallationID(salon)
	s.record(t, installID, s.waitRun(installID), "installation-"+t.Name())
}

// TestReopenedPageWhileTheSalonIsSetUpAsksYClientsNothing: the owner has scanned the code, the
// salon is active and its first catalogue sync waits on a slow YClients; the owner
// opens AI Admin again, several times, after everything the register page read has gone
// stale in the usual 30 s. No page asks YClients anything: the company is kept for minutes,
// and an installation past pairing does not need the integration's status. In a wave of
// owners those reads would take the YClients budget the salons' setup needs.
func TestReopenedPageWhileTheSalonIsSetUpAsksYClientsNothing(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{
		PathPrefix: fmt.Sprintf("/api/v1/company/%d/services", salon), DelayMS: 60000})) // every read: the sync waits
	opened := time.Now()
	s.pairSalon(salon)
	s.waitStatus(workflows.StatusActive)
	pageReads := func() (n int) {
		for _, r := range s.fake.Requests() {
			if r.Path == fmt.Sprintf("/api/v1/company/%d", salon) ||
				strings.HasPrefix(r.Path, fmt.Sprintf("/marketplace/salon/%d/application/", salon)) {
				n++
			}
		}
		return n
	}
	time.Sleep(time.Until(opened.Add(31 * time.Second))) // past the page's 30 s status cache
	before := pageReads()
	for range 3 {
		token := s.install(s.cfg.YClientsBaseURL)
		require.NotEmpty(t, token)
	}
	require.True(t, s.state().LastSync.At.IsZero(), "the first sync was still waiting on YClients: got %+v", s.state().LastSync)
	require.Equal(t, before, pageReads(), "the reopened pages read the company or the integration status from YClients")

	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	s.waitRun(workflows.InstallationID(salon))
}

// TestReopenedPageWhilePairingAsksYClientsNoStatus: the owner opened the connect page and has
// not scanned yet; the page stalled, and the owner opens AI Admin again after the 30 s the
// integration's status is kept. Our own installation is pairing, and YClients activates the
// integration only on our callback, after pairing: the page asks YClients nothing, and still
// pairs (a QR code comes). In a wave of owners that read would wait a new turn at the end of
// the cluster's YClients queue, and the owner a queue page, while the salon waits to be paired.
func TestReopenedPageWhilePairingAsksYClientsNoStatus(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	statusReads := func() (n int) {
		for _, r := range s.fake.Requests() {
			if strings.HasPrefix(r.Path, fmt.Sprintf("/marketplace/salon/%d/application/", salon)) {
				n++
			}
		}
		return n
	}
	opened := time.Now()
	first := s.install(s.cfg.YClientsBaseURL)
	require.NotEmpty(t, first)
	require.Equal(t, 1, statusReads(), "the first page reads the integration's status")
	s.waitStatus(workflows.StatusPendingWhatsApp)
	time.Sleep(time.Until(opened.Add(31 * time.Second))) // past the page's 30 s status cache

	token := s.install(s.cfg.YClientsBaseURL)
	require.Equal(t, 1, statusReads(), "the reopened page read the integration's status from YClients again")
	conn := s.dial(token)
	defer conn.Close()
	s.scanOn(conn, salon, "connected")
	s.waitStatus(workflows.StatusActive)

	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	s.waitRun(workflows.InstallationID(salon))
}
