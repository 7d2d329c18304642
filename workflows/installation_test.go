package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

func TestHappyPath(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() {
		st := h.query()
		require.Equal(t, StatusPendingWhatsApp, st.Status)
		require.Equal(t, "+7 495 123-45-67", st.SalonPhone, "salon phone: got %q want the one YClients gave", st.SalonPhone)
		h.requestPairing(activities.PairByQR)
	})
	h.at(10*time.Minute, func() {
		st := h.query()
		require.Equal(t, StatusActive, st.Status)
		require.Equal(t, "https://yclients.com/done", st.RedirectURL)
		require.Equal(t, "79990001122", st.WhatsApp.Phone)
		require.Equal(t, 20, st.LastSync.Services)
		require.True(t, st.WelcomeSent)
	})
	h.at(25*time.Hour, func() {
		require.Equal(t, 2, h.callCount(activities.ActSync), "24 h resync")
		h.signal(SignalResync)
	})
	h.at(25*time.Hour+time.Minute, func() {
		require.Equal(t, 3, h.callCount(activities.ActSync), "resync signal")
		h.signal(SignalUninstall)
	})
	st := h.run(Timings{})
	require.Equal(t, StatusUninstalled, st.Status)
	require.Equal(t, []string{"pending_whatsapp", "whatsapp_connected", "active", "uninstalled"}, h.statusTrail())
	require.Equal(t, 1, h.callCount(activities.ActActivate))
	require.Equal(t, 1, h.callCount(activities.ActSendWelcome))
	require.Equal(t, 1, h.callCount(activities.ActUnlink))
	require.Equal(t, 1, h.callCount(activities.ActDeleteSecrets))
	require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":uninstalled"))
}

// TestActiveBeforeTheFirstSync: once YClients has accepted the activation the installation is
// active and the owner's number welcomed, while the first catalogue sync (slow here, as behind
// a wave of installs sharing YClients' budget) still runs: nothing a client gets needs the
// catalogue. The sync's summary arrives when it ends; it does not run twice.
func TestActiveBeforeTheFirstSync(t *testing.T) {
	h := newHarness(t)
	slowOnce(h, activities.ActSync, 30*time.Minute, activities.SyncOutput{Services: 20})
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(10*time.Minute, func() {
		st := h.query()
		requireStatus(t, h, StatusActive, "activated, the first sync running")
		require.True(t, st.WelcomeSent, "the owner's number is welcomed once active")
		require.True(t, st.LastSync.At.IsZero(), "the first sync has not ended: got %+v", st.LastSync)
	})
	h.at(time.Hour, func() {
		st := h.query()
		require.Equal(t, 20, st.LastSync.Services, "the first sync's summary once it ended")
		require.False(t, st.LastSync.At.IsZero())
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	require.Equal(t, []string{"pending_whatsapp", "whatsapp_connected", "active", "uninstalled"}, h.statusTrail())
	h.env.AssertNumberOfCalls(t, activities.ActSync, 1)
}

func TestQRBatchTimesOutThenNewBatchSucceeds(t *testing.T) {
	h := newHarness(t)
	h.pair = func(in activities.PairInput) (activities.PairOutput, error) {
		if in.Attempt == 1 {
			return activities.PairOutput{Outcome: activities.PairTimedOut}, nil
		}
		return activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122", Name: "Бархат"}, nil
	}
	h.pair = func(in activities.PairInput) (activities.PairOutput, error) {
		if in.Attempt == 1 {
			return activities.PairOutput{Outcome: activities.PairTimedOut}, nil
		}
		return activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122", Name: "Бархат"}, nil
	}
	h.env.OnActivity(activities.ActPair, mock.Anything, mock.Anything).After(2 * time.Minute).Return(
		func(_ context.Context, in activities.PairInput) (activities.PairOutput, error) { return h.pair(in) })
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(2*time.Minute, func() { require.True(t, h.query().Pairing.Running, "attempt running") })
	h.at(5*time.Minute, func() {
		st := h.query()
		require.Equal(t, StatusPendingWhatsApp, st.Status)
		require.Equal(t, activities.PairTimedOut, st.Pairing.LastOutcome)
		require.False(t, st.Pairing.Running)
		h.requestPairing(activities.PairByQR)
	})
	h.at(10*time.Minute, func() {
		require.Equal(t, StatusActive, h.query().Status)
		require.Equal(t, 2, h.query().Pairing.Attempt)
		h.signal(SignalUninstall)
	})
	st := h.run(Timings{})
	require.Equal(t, StatusUninstalled, st.Status)
	h.env.AssertNumberOfCalls(t, activities.ActPair, 2)
}

func TestPairingRejectedOutsidePending(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	rejected := false
	h.at(10*time.Minute, func() {
		h.env.UpdateWorkflow(UpdateRequestPairing, "", &testUpdate{onReject: func(error) { rejected = true }},
			PairingRequest{Method: activities.PairByQR})
	})
	h.at(11*time.Minute, func() {
		require.True(t, rejected, "pairing must be refused once active")
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
}

func TestExpiresWithoutActivationWithinAnHour(t *testing.T) {
	t.Run("never paired", func(t *testing.T) {
		h := newHarness(t)
		st := h.run(Timings{})
		require.Equal(t, StatusExpired, st.Status)
		require.Equal(t, ReasonActivationDeadline, st.Reason)
		require.Equal(t, 1, h.callCount(activities.ActUnlink))
		require.Zero(t, h.callCount(activities.ActActivate))
	})
	t.Run("paired but activation keeps failing", func(t *testing.T) {
		h := newHarness(t)
		h.activate = func(activities.SalonRef) (activities.ActivateOutput, error) {
			return activities.ActivateOutput{}, errors.New("yclients: 503 service unavailable")
		}
		h.at(50*time.Minute, func() { h.requestPairing(activities.PairByQR) })
		st := h.run(Timings{})
		require.Equal(t, StatusExpired, st.Status)
		require.Equal(t, 1, h.callCount(activities.ActUnlink), "the phone session is unlinked")
		require.Greater(t, h.callCount(activities.ActActivate), 1, "5xx is retried until the deadline")
		require.Equal(t, []string{"pending_whatsapp", "whatsapp_connected", "expired"}, h.statusTrail())
	})
}

func TestActivationUnauthorizedFails(t *testing.T) {
	h := newHarness(t)
	h.activate = func(activities.SalonRef) (activities.ActivateOutput, error) {
		return activities.ActivateOutput{}, temporal.NewNonRetryableApplicationError(
			"yclients 401: Необходима авторизация", activities.ErrTypeUnauthorized, nil)
	}
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	st := h.run(Timings{})
	require.Equal(t, StatusFailed, st.Status)
	require.Equal(t, ReasonActivationRefused, st.Reason)
	require.Equal(t, 1, h.callCount(activities.ActActivate), "401 is not retried")
	require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":failed"), "ops alerted")
	require.Contains(t, h.alerts[len(h.alerts)-1].Message, "401", "the cause reaches operators")
	require.Equal(t, 1, h.callCount(activities.ActUnlink))
}

func TestActivationRateLimitedIsRetried(t *testing.T) {
	h := newHarness(t)
	h.activate = func(activities.SalonRef) (activities.ActivateOutput, error) {
		if h.callCount(activities.ActActivate) < 3 {
			return activities.ActivateOutput{}, temporal.NewApplicationErrorWithOptions("yclients 429",
				activities.ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Second})
		}
		return activities.ActivateOutput{RedirectURL: "https://yclients.com/done"}, nil
	}
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(20*time.Minute, func() { h.signal(SignalUninstall) })
	st := h.run(Timings{})
	require.Equal(t, StatusUninstalled, st.Status)
	require.Equal(t, 3, h.callCount(activities.ActActivate))
	require.Contains(t, h.statusTrail(), "active")
}

func TestRegisterSalonNotFoundFails(t *testing.T) {
	h := newHarness(t)
	h.register = func(activities.SalonRef) (activities.RegisterOutput, error) {
		return activities.RegisterOutput{}, temporal.NewNonRetryableApplicationError("salon not found", activities.ErrTypeNotFound, nil)
	}
	st := h.run(Timings{})
	require.Equal(t, StatusFailed, st.Status)
	require.Equal(t, ReasonSalonNotFound, st.Reason)
	require.Zero(t, h.callCount(activities.ActUnlink), "nothing was linked")
}

func TestRegisterYClientsDownFails(t *testing.T) {
	h := newHarness(t)
	h.register = func(activities.SalonRef) (activities.RegisterOutput, error) {
		return activities.RegisterOutput{}, temporal.NewApplicationError("yclients 503", activities.ErrTypeYClientsUnavailable)
	}
	st := h.run(Timings{})
	require.Equal(t, StatusFailed, st.Status)
	require.Equal(t, ReasonYClientsUnavailable, st.Reason, "a typed reason the register page can tell apart")
	require.Equal(t, 5, h.callCount(activities.ActRegister), "retried while the owner waits, then given up")
}

func activeThen(h *harness, fns ...func()) {
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	for i, fn := range fns {
		h.at(time.Duration(i+1)*time.Hour, fn)
	}
}

func TestFreezeThenUnfreezeBySignal(t *testing.T) {
	h := newHarness(t)
	activeThen(h,
		func() { h.signal(SignalFreeze) },
		func() {
			require.Equal(t, StatusFrozen, h.query().Status)
			require.Equal(t, 1, h.callCount(activities.ActDisconnect))
			h.signal(SignalUnfreeze)
		},
		func() {
			require.Equal(t, StatusActive, h.query().Status)
			require.Equal(t, 1, h.callCount(activities.ActReconnect))
			require.Equal(t, 1, h.callCount(activities.ActResumeBookings), "waiting messages re-checked now")
			h.signal(SignalUninstall)
		})
	st := h.run(Timings{})
	require.Equal(t, StatusUninstalled, st.Status)
	require.Equal(t, []string{"pending_whatsapp", "whatsapp_connected", "active", "frozen", "active", "uninstalled"}, h.statusTrail())
}

func TestUnfreezeByStatusPoll(t *testing.T) {
	h := newHarness(t)
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		if h.callCount(activities.ActIntegrationStatus) < 2 {
			return activities.IntegrationStatusOutput{Status: "freezed"}, nil
		}
		return activities.IntegrationStatusOutput{Status: "active"}, nil
	}
	activeThen(h, func() { h.signal(SignalFreeze) })
	h.at(8*time.Hour, func() {
		require.Equal(t, StatusFrozen, h.query().Status, "first poll at 7 h still says freezed")
		require.Equal(t, 1, h.callCount(activities.ActIntegrationStatus))
	})
	h.at(14*time.Hour, func() {
		require.Equal(t, StatusActive, h.query().Status, "second poll at 13 h says active")
		require.Equal(t, 1, h.callCount(activities.ActReconnect), "reconnected without a new scan")
		require.Equal(t, 1, h.callCount(activities.ActPair))
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
}

func TestCheckStatusSignalUnfreezesAtOnce(t *testing.T) {
	h := newHarness(t)
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "active"}, nil
	}
	activeThen(h,
		func() { h.signal(SignalFreeze) },
		func() { h.signal(SignalCheckStatus) },
		func() {
			require.Equal(t, StatusActive, h.query().Status)
			h.signal(SignalUninstall)
		})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
}

func TestUninstallInEachState(t *testing.T) {
	slow := func(h *harness, name string, out any) {
		h.env.OnActivity(name, mock.Anything, mock.Anything).After(30*time.Minute).Return(out, nil)
	}
	cases := []struct {
		name  string
		setup func(h *harness)
		at    time.Duration
	}{
		{"registering", func(h *harness) {
			slow(h, activities.ActRegister, activities.RegisterOutput{Title: "x"})
		}, 5 * time.Minute},
		{"pending_whatsapp", func(h *harness) {}, 5 * time.Minute},
		{"mid-pairing", func(h *harness) {
			slow(h, activities.ActPair, activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122"})
			h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
		}, 2 * time.Minute},
		{"whatsapp_connected (activating)", func(h *harness) {
			slow(h, activities.ActActivate, activities.ActivateOutput{})
			h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
		}, 5 * time.Minute},
		{"active (mid-first-sync)", func(h *harness) {
			slow(h, activities.ActSync, activities.SyncOutput{})
			h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
		}, 5 * time.Minute},
		{"active", func(h *harness) {
			h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
		}, 2 * time.Hour},
		{"frozen", func(h *harness) {
			h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
			h.at(time.Hour, func() { h.signal(SignalFreeze) })
		}, 2 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(h)
			h.at(tc.at, func() { h.signal(SignalUninstall) })
			st := h.run(Timings{})
			require.Equal(t, StatusUninstalled, st.Status)
			require.Equal(t, 1, h.callCount(activities.ActUnlink), "phone unlinked")
			require.Equal(t, 1, h.callCount(activities.ActDeleteSecrets), "secrets deleted")
			require.Equal(t, 1, h.callCount(activities.ActNotifyOps+":uninstalled"), "ops notified")
			require.Empty(t, st.WhatsApp.Phone)
		})
	}
}

func TestContinuesAsNewWhenSuggested(t *testing.T) {
	h := newHarness(t)
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(time.Hour, func() { h.env.SetContinueAsNewSuggested(true) })
	h.at(time.Hour+time.Second, func() { h.signal(SignalResync) })
	h.env.ExecuteWorkflow(InstallationWorkflowName, InstallationInput{SalonID: testSalon})
	require.True(t, h.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.env.GetWorkflowError(), &can)
	require.Equal(t, InstallationWorkflowName, can.WorkflowType.Name)
}

func TestResumesFromContinuedState(t *testing.T) {
	h := newHarness(t)
	prev := &State{SalonID: testSalon, SalonName: "Бархат", Status: StatusFrozen, WelcomeSent: true,
		WhatsApp: WhatsAppInfo{Phone: "79990001122"}}
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "active"}, nil
	}
	h.at(7*time.Hour, func() {
		require.Equal(t, StatusActive, h.query().Status)
		h.signal(SignalUninstall)
	})
	h.env.ExecuteWorkflow(InstallationWorkflowName, InstallationInput{SalonID: testSalon, State: prev})
	require.NoError(t, h.env.GetWorkflowError())
	require.Zero(t, h.callCount(activities.ActSendWelcome), "welcome is never sent twice")
	require.Zero(t, h.callCount(activities.ActRegister))
}

type testUpdate struct{ onReject func(error) }

func (u *testUpdate) Accept()             {}
func (u *testUpdate) Reject(err error)    { u.onReject(err) }
func (u *testUpdate) Complete(any, error) {}
