package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// slowOnce makes the next call of the activity take d; later calls answer out at once.
func slowOnce(h *harness, name string, d time.Duration, out any) {
	h.env.OnActivity(name, mock.Anything, mock.Anything).After(d).Return(out, nil).Once()
	h.env.OnActivity(name, mock.Anything, mock.Anything).Return(out, nil)
}

// requireStatus fails with got … want … when the installation is not in want.
func requireStatus(t *testing.T, h *harness, want Status, why string) {
	t.Helper()
	got := h.query().Status
	require.Equal(t, want, got, "%s: got %s want %s", why, got, want)
}

// A freeze interrupts what the installation is doing: a long sync, an activation, a pairing
// attempt. The installation is frozen within a minute, the welcome is never sent while frozen,
// and after the unfreeze the installation goes on from where it stood (TestFreezeInterrupts…).
// The first sync runs once the installation is active (the welcome has gone): after the unfreeze
// it runs again, and the salon's bookings are resumed like any active salon's.
func TestFreezeInterruptsFirstSync(t *testing.T) {
	h := newHarness(t)
	slowOnce(h, activities.ActSync, 3*time.Hour, activities.SyncOutput{Services: 20})
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(10*time.Minute, func() {
		requireStatus(t, h, StatusActive, "active during the first sync")
		h.signal(SignalFreeze)
	})
	h.at(11*time.Minute, func() {
		requireStatus(t, h, StatusFrozen, "a freeze during the first sync")
		require.True(t, h.query().LastSync.At.IsZero(), "the interrupted first sync recorded nothing")
		h.signal(SignalUnfreeze)
	})
	h.at(20*time.Minute, func() {
		requireStatus(t, h, StatusActive, "active after the unfreeze")
		require.Equal(t, 20, h.query().LastSync.Services, "the sync ran again after the unfreeze")
		require.Equal(t, 1, h.callCount(activities.ActSendWelcome), "one welcome in all")
		require.Equal(t, 1, h.callCount(activities.ActResumeBookings), "the bookings held while frozen resumed")
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.Equal(t, []string{"pending_whatsapp", "whatsapp_connected", "active", "frozen", "active", "uninstalled"},
		h.statusTrail())
	require.Zero(t, h.callCount(activities.ActNotifyOps+":sync_failed"), "an interrupted sync is no failure")
}

func TestFreezeInterruptsResync(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(activities.ActSync, mock.Anything, mock.Anything).Return(activities.SyncOutput{Services: 20}, nil).Once()
	slowOnce(h, activities.ActSync, 3*time.Hour, activities.SyncOutput{Services: 20})
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(time.Hour, func() { h.signal(SignalResync) })
	h.at(time.Hour+10*time.Minute, func() { h.signal(SignalFreeze) })
	h.at(time.Hour+11*time.Minute, func() {
		requireStatus(t, h, StatusFrozen, "a freeze during a resync")
		require.Equal(t, 1, h.callCount(activities.ActDisconnect))
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.Zero(t, h.callCount(activities.ActNotifyOps+":sync_failed"), "an interrupted sync is no failure")
}

func TestFreezeInterruptsActivation(t *testing.T) {
	h := newHarness(t)
	slowOnce(h, activities.ActActivate, 20*time.Minute, activities.ActivateOutput{})
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(5*time.Minute, func() { h.signal(SignalFreeze) })
	h.at(6*time.Minute, func() {
		requireStatus(t, h, StatusFrozen, "a freeze during the activation")
		h.signal(SignalUnfreeze)
	})
	h.at(10*time.Minute, func() {
		requireStatus(t, h, StatusActive, "activated after the unfreeze")
		require.Equal(t, 1, h.callCount(activities.ActSendWelcome))
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
}

func TestFreezeInterruptsPairing(t *testing.T) {
	h := newHarness(t)
	slowOnce(h, activities.ActPair, 30*time.Minute,
		activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122", Name: "Бархат"})
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(5*time.Minute, func() { h.signal(SignalFreeze) })
	h.at(6*time.Minute, func() {
		requireStatus(t, h, StatusFrozen, "a freeze during pairing")
		require.False(t, h.query().Pairing.Running, "the attempt is cancelled")
		h.signal(SignalUnfreeze)
	})
	h.at(10*time.Minute, func() {
		requireStatus(t, h, StatusPendingWhatsApp, "back to pairing after the unfreeze")
		h.requestPairing(activities.PairByQR)
	})
	h.at(20*time.Minute, func() {
		requireStatus(t, h, StatusActive, "paired after the unfreeze")
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.Equal(t, 1, h.callCount(activities.ActSendWelcome), "one welcome, after the unfreeze")
	require.Equal(t, 1, h.callCount(activities.ActActivate))
}

func TestFreezeInterruptsRelink(t *testing.T) {
	h := newHarness(t)
	activeThen(h,
		func() { h.link(whatsapp.StateLoggedOut) },
		func() { h.signal(SignalFreeze) },
		func() {
			requireStatus(t, h, StatusFrozen, "a freeze while waiting for the re-link")
			h.signal(SignalUnfreeze)
		},
		func() {
			requireStatus(t, h, StatusNeedsRelink, "the re-link is still owed after the unfreeze")
			require.Zero(t, h.callCount(activities.ActResumeBookings), "nothing resumed without a phone")
			h.requestPairing(activities.PairByQR)
		},
		func() {
			requireStatus(t, h, StatusActive, "re-linked")
			h.signal(SignalUninstall)
		})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
}
