package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

func (h *harness) link(state whatsapp.LinkState) {
	h.env.SignalWorkflow(SignalLinkState, LinkEvent{State: state, Reason: "test"})
}

func TestPhoneUnlinkedNeedsRelinkThenActiveAgain(t *testing.T) {
	h := newHarness(t)
	activeThen(h,
		func() { h.link(whatsapp.StateLoggedOut) },
		func() {
			st := h.query()
			require.Equal(t, StatusNeedsRelink, st.Status)
			require.Equal(t, whatsapp.StateLoggedOut, st.Link.State)
			require.Empty(t, st.WhatsApp.Phone)
			require.Equal(t, 1, h.callCount(activities.ActNotifyRelink), "owner gets a re-link link")
			require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":needs_relink"), "ops alerted")
			h.requestPairing(activities.PairByQR) // the owner opens the re-link page
		},
		func() {
			st := h.query()
			require.Equal(t, StatusActive, st.Status)
			require.Equal(t, whatsapp.StateLinked, st.Link.State)
			require.Equal(t, "79990001122", st.WhatsApp.Phone)
			require.Equal(t, 1, h.callCount(activities.ActActivate), "no new YClients activation")
			h.signal(SignalUninstall)
		})
	st := h.run(Timings{})
	require.Equal(t, StatusUninstalled, st.Status)
	require.Equal(t, []string{"pending_whatsapp", "whatsapp_connected", "active", "needs_relink", "active", "uninstalled"}, h.statusTrail())
}

func TestLinkEventsOtherThanUnlinkKeepTheInstallationActive(t *testing.T) {
	h := newHarness(t)
	activeThen(h,
		func() { h.link(whatsapp.StateRestricted) },
		func() {
			st := h.query()
			require.Equal(t, StatusActive, st.Status)
			require.Equal(t, whatsapp.StateRestricted, st.Link.State)
			require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":restricted"))
			h.link(whatsapp.StateReplaced)
		},
		func() {
			require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":stream_replaced"))
			h.signal(SignalUninstall)
		})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
}

func TestUnlinkedWhileFrozenRelinksOnUnfreeze(t *testing.T) {
	h := newHarness(t)
	activeThen(h,
		func() { h.signal(SignalFreeze) },
		func() { h.link(whatsapp.StateLoggedOut) },
		func() {
			require.Equal(t, StatusFrozen, h.query().Status, "stays frozen until YClients unfreezes")
			h.signal(SignalUnfreeze)
		},
		func() {
			require.Equal(t, StatusNeedsRelink, h.query().Status)
			h.signal(SignalUninstall)
		})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.Equal(t, 1, h.callCount(activities.ActNotifyRelink))
	_ = time.Second
}
