package workflows

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// harness runs the installation workflow in the SDK's test environment (time skipping) with
// activities replaced by recording stubs whose behaviour each test can change.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	calls    map[string]int
	statuses []string
	alerts   []activities.NotifyInput

	register    func(activities.SalonRef) (activities.RegisterOutput, error)
	pair        func(activities.PairInput) (activities.PairOutput, error)
	activate    func(activities.SalonRef) (activities.ActivateOutput, error)
	sync        func(activities.SalonRef) (activities.SyncOutput, error)
	integration func(activities.SalonRef) (activities.IntegrationStatusOutput, error)
	reconnect   func(activities.SalonRef) error
}

const testSalon = int64(100001)

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), calls: map[string]int{}}
	h.env.SetTestTimeout(30 * time.Second)
	h.register = func(activities.SalonRef) (activities.RegisterOutput, error) {
		return activities.RegisterOutput{Title: "Салон «Бархат»", Timezone: "Europe/Moscow", Phone: "+7 495 123-45-67"}, nil
	}
	h.pair = func(in activities.PairInput) (activities.PairOutput, error) {
		return activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122", Name: "Бархат"}, nil
	}
	h.activate = func(activities.SalonRef) (activities.ActivateOutput, error) {
		return activities.ActivateOutput{RedirectURL: "https://yclients.com/done"}, nil
	}
	h.sync = func(activities.SalonRef) (activities.SyncOutput, error) {
		return activities.SyncOutput{Services: 20, Staff: 5, Schedules: 70}, nil
	}
	h.integration = func(activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "freezed"}, nil
	}
	h.reconnect = func(activities.SalonRef) error { return nil }

	h.env.RegisterWorkflowWithOptions(Installation, workflow.RegisterOptions{Name: InstallationWorkflowName})
	reg := func(name string, fn any) {
		h.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	reg(activities.ActRegister, func(_ context.Context, in activities.SalonRef) (activities.RegisterOutput, error) {
		h.count(activities.ActRegister)
		return h.register(in)
	})
	reg(activities.ActSetStatus, func(_ context.Context, in activities.SetStatusInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.calls[activities.ActSetStatus]++
		h.statuses = append(h.statuses, in.Status)
		return nil
	})
	reg(activities.ActPair, func(_ context.Context, in activities.PairInput) (activities.PairOutput, error) {
		h.count(activities.ActPair)
		return h.pair(in)
	})
	reg(activities.ActActivate, func(_ context.Context, in activities.SalonRef) (activities.ActivateOutput, error) {
		h.count(activities.ActActivate)
		return h.activate(in)
	})
	reg(activities.ActSync, func(_ context.Context, in activities.SalonRef) (activities.SyncOutput, error) {
		h.count(activities.ActSync)
		return h.sync(in)
	})
	reg(activities.ActSendWelcome, func(_ context.Context, _ activities.WelcomeInput) (activities.WelcomeOutput, error) {
		h.count(activities.ActSendWelcome)
		return activities.WelcomeOutput{Sent: true}, nil
	})
	reg(activities.ActIntegrationStatus, func(_ context.Context, in activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		h.count(activities.ActIntegrationStatus)
		return h.integration(in)
	})
	reg(activities.ActReconnect, func(_ context.Context, in activities.SalonRef) error {
		h.count(activities.ActReconnect)
		return h.reconnect(in)
	})
	for _, name := range []string{activities.ActDisconnect, activities.ActUnlink, activities.ActDeleteSecrets, activities.ActNotifyRelink,
		activities.ActForgetDevice} {
		name := name
		reg(name, func(context.Context, activities.SalonRef) error { h.count(name); return nil })
	}
	reg(activities.ActResumeBookings, func(_ context.Context, in activities.ResumeInput) (int, error) {
		h.count(activities.ActResumeBookings)
		return 0, nil
	})
	reg(activities.ActNotifyOps, func(_ context.Context, in activities.NotifyInput) error {
		h.count(activities.ActNotifyOps + ":" + in.Kind)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.alerts = append(h.alerts, in)
		return nil
	})
	return h
}

func (h *harness) count(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls[name]++
}

func (h *harness) callCount(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[name]
}

// at schedules fn at the given workflow time offset.
func (h *harness) at(d time.Duration, fn func()) {
	h.env.RegisterDelayedCallback(fn, d)
}

// requestPairing sends the request-pairing update and requires it to be accepted.
func (h *harness) requestPairing(method string) {
	h.env.UpdateWorkflow(UpdateRequestPairing, "", &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { h.t.Errorf("pairing update rejected: %v", err) },
		OnAccept:   func() {},
		OnComplete: func(any, error) {},
	}, PairingRequest{Method: method, Phone: "79990001122"})
}

func (h *harness) signal(name string) {
	h.env.SignalWorkflow(name, struct{}{})
}

func (h *harness) query() State {
	v, err := h.env.QueryWorkflow(QueryStatus)
	require.NoError(h.t, err)
	var st State
	require.NoError(h.t, v.Get(&st))
	return st
}

// run executes the workflow to completion (or until the test's last callback leaves it
// blocked) and returns its final state.
func (h *harness) run(timings Timings) State {
	h.env.ExecuteWorkflow(InstallationWorkflowName, InstallationInput{SalonID: testSalon, Timings: timings})
	require.True(h.t, h.env.IsWorkflowCompleted(), "workflow did not complete")
	require.NoError(h.t, h.env.GetWorkflowError())
	var st State
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st
}

func (h *harness) statusTrail() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.statuses...)
}
