package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// carried is the input of the next run, as the continue-as-new command holds it.
type carried struct {
	raw   map[string]any // passed on as it is
	state State
}

// continuedInput requires that the run continued as new and returns the next run's input.
func continuedInput(t *testing.T, h *harness) carried {
	t.Helper()
	require.True(t, h.env.IsWorkflowCompleted(), "workflow did not complete")
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.env.GetWorkflowError(), &can, "the run continues as new")
	var in InstallationInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	require.NotNil(t, in.State, "the state is carried")
	var raw map[string]any
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &raw))
	return carried{raw: raw, state: *in.State}
}

// runContinued runs the next run from in until the test's callbacks uninstall it.
func runContinued(t *testing.T, in carried, check func(h *harness)) *harness {
	t.Helper()
	h := newHarness(t)
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "freezed"}, nil
	}
	h.at(time.Minute, func() {
		check(h)
		h.signal(SignalUninstall)
	})
	h.env.ExecuteWorkflow(InstallationWorkflowName, in.raw)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	return h
}

// Signals that arrive while the run is busy right before it continues as new (here: while a
// sync or a status poll runs, with continue-as-new suggested meanwhile) are applied by the
// next run, not dropped with the old one.
func TestContinueAsNewKeepsPendingSignals(t *testing.T) {
	t.Run("active: freeze and link-state during a resync", func(t *testing.T) {
		h := newHarness(t)
		h.env.OnActivity(activities.ActSync, mock.Anything, mock.Anything).After(10*time.Minute).Return(
			activities.SyncOutput{Services: 20}, nil)
		h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
		h.at(time.Hour, func() { h.signal(SignalResync) })
		h.at(time.Hour+time.Minute, func() {
			h.env.SetContinueAsNewSuggested(true)
			h.link(whatsapp.StateRestricted)
			h.signal(SignalFreeze)
		})
		h.env.ExecuteWorkflow(InstallationWorkflowName, InstallationInput{SalonID: testSalon})
		in := continuedInput(t, h)

		next := runContinued(t, in, func(h2 *harness) {
			st := h2.query()
			require.Equal(t, StatusFrozen, st.Status, "the freeze sent at the continue-as-new point: got %s want frozen", st.Status)
			require.Equal(t, whatsapp.StateRestricted, st.Link.State, "the link event: got %q want restricted", st.Link.State)
		})
		require.Equal(t, 1, h.callCount(activities.ActDisconnect)+next.callCount(activities.ActDisconnect),
			"the phone is disconnected on the freeze, once")
		require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":restricted")+next.callCount(activities.ActNotifyOps+":restricted"),
			"ops hear of the restriction, once")
	})

	t.Run("frozen: unfreeze and check-status during a status poll", func(t *testing.T) {
		h := newHarness(t)
		h.env.OnActivity(activities.ActIntegrationStatus, mock.Anything, mock.Anything).After(10*time.Minute).Return(
			activities.IntegrationStatusOutput{Status: "freezed"}, nil)
		activeThen(h, func() { h.signal(SignalFreeze) })
		h.at(time.Hour+35*time.Minute, func() {
			h.env.SetContinueAsNewSuggested(true)
			h.signal(SignalCheckStatus)
			h.signal(SignalUnfreeze)
		})
		h.env.ExecuteWorkflow(InstallationWorkflowName, InstallationInput{SalonID: testSalon,
			Timings: Timings{FrozenPollEvery: 30 * time.Minute}})
		in := continuedInput(t, h)
		require.Equal(t, StatusFrozen, in.state.Status)

		next := runContinued(t, in, func(h2 *harness) {
			st := h2.query()
			require.Equal(t, StatusActive, st.Status, "the unfreeze sent at the continue-as-new point: got %s want active", st.Status)
		})
		require.Equal(t, 1, next.callCount(activities.ActReconnect), "reconnected on the carried unfreeze")
	})
}
