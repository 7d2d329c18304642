package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
)

// The phone pairs late and the activation is still waiting on a slow YClients when the 1 h
// deadline passes, while YClients accepts the callback: the installation must not expire and
// delete the salon's secrets with YClients active (every webhook would be refused); it reads
// the integration status and, finding it active, goes on.
func TestActivationAcceptedAtTheDeadlineIsNotExpired(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(activities.ActActivate, mock.Anything, mock.Anything).After(15*time.Minute).Return(
		activities.ActivateOutput{RedirectURL: "https://yclients.com/done"}, nil)
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "active"}, nil
	}
	h.at(50*time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(2*time.Hour, func() {
		requireStatus(t, h, StatusActive, "YClients is active: the installation goes on")
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.NotContains(t, h.statusTrail(), "expired")
	require.Equal(t, 1, h.callCount(activities.ActDeleteSecrets), "secrets deleted once, at the uninstall")
}

// The deadline passes and YClients is still pending: the installation expires as before.
func TestActivationStillPendingAtTheDeadlineExpires(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(activities.ActActivate, mock.Anything, mock.Anything).After(15*time.Minute).Return(
		activities.ActivateOutput{}, nil)
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "pending"}, nil
	}
	h.at(50*time.Minute, func() { h.requestPairing(activities.PairByQR) })
	st := h.run(Timings{})
	require.Equal(t, StatusExpired, st.Status)
	require.Equal(t, 1, h.callCount(activities.ActDeleteSecrets))
}

// YClients reports the integration active but the salon has no webhook secret (it was deleted):
// operators hear of it, since no booking webhook can be verified.
func TestActivationWithoutAWebhookSecretAlertsOps(t *testing.T) {
	h := newHarness(t)
	h.activate = func(activities.SalonRef) (activities.ActivateOutput, error) {
		return activities.ActivateOutput{AlreadyActive: true, NoWebhookSecret: true}, nil
	}
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(time.Hour, func() { h.signal(SignalUninstall) })
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":webhook_secret_missing"))
}
