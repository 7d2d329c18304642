package workflows

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// ask sends a request-pairing update as the connect page sends it: the method, the session and
// the newest attempt the page had seen; it records the attempt the update answered.
func (h *harness) ask(method string, seen int, got *[]int) {
	h.env.UpdateWorkflow(UpdateRequestPairing, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) { h.t.Errorf("pairing update rejected: %v", err) },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			require.NoError(h.t, err)
			if p, ok := v.(PairingStarted); ok {
				*got = append(*got, p.Attempt)
			}
		},
	}, map[string]any{"Method": method, "Phone": "79990001122", "Session": "page-1", "Seen": seen})
}

// A double click on «Показать новый код» (or a page that sent its request twice) asks twice
// for the attempt after the one it saw: one attempt runs, and both requests are answered
// with it.
func TestDoublePairingRequestStartsOneAttempt(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(activities.ActPair, mock.Anything, mock.Anything).After(10*time.Minute).Return(
		activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122", Name: "Бархат"}, nil)
	var answers []int
	h.at(time.Minute, func() {
		h.ask(activities.PairByQR, 0, &answers)
		h.ask(activities.PairByQR, 0, &answers)
	})
	h.at(2*time.Minute, func() {
		st := h.query()
		require.Equal(t, 1, st.Pairing.Attempt, "attempts after a double request: got %d want 1", st.Pairing.Attempt)
		require.True(t, st.Pairing.Running)
	})
	h.at(20*time.Minute, func() {
		requireStatus(t, h, StatusActive, "the one attempt paired")
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	h.env.AssertNumberOfCalls(t, activities.ActPair, 1)
	require.Equal(t, []int{1, 1}, answers, "both requests are answered with the running attempt")
}

// pairGate is a pairing activity: attempt 1 succeeds once the test releases it (the phone
// scanned its code); a later attempt shows codes nobody scans (the phone is paired already).
type pairGate struct {
	mu      sync.Mutex
	calls   []int
	release chan struct{}
	onCall  func() // if set, called as each attempt starts
}

func (g *pairGate) pair(ctx context.Context, in activities.PairInput) (activities.PairOutput, error) {
	g.mu.Lock()
	g.calls = append(g.calls, in.Attempt)
	onCall := g.onCall
	g.mu.Unlock()
	if onCall != nil {
		onCall()
	}
	release := g.release
	if in.Attempt > 1 {
		release = nil
	}
	select {
	case <-release:
		return activities.PairOutput{Outcome: activities.PairSucceeded, Phone: "79990001122", Name: "Бархат"}, nil
	case <-ctx.Done():
		return activities.PairOutput{}, ctx.Err()
	}
}

func (g *pairGate) attempts() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.calls...)
}

// stubActivities registers the installation's activities, answering as the harness does.
func stubActivities(w worker.Worker, gate *pairGate) {
	reg := func(name string, fn any) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(activities.ActRegister, func(context.Context, activities.SalonRef) (activities.RegisterOutput, error) {
		return activities.RegisterOutput{Title: "Бархат", Timezone: "Europe/Moscow"}, nil
	})
	reg(activities.ActPair, gate.pair)
	reg(activities.ActActivate, func(context.Context, activities.SalonRef) (activities.ActivateOutput, error) {
		return activities.ActivateOutput{RedirectURL: "https://yclients.com/done"}, nil
	})
	reg(activities.ActSync, func(context.Context, activities.SalonRef) (activities.SyncOutput, error) {
		return activities.SyncOutput{Services: 1}, nil
	})
	reg(activities.ActSendWelcome, func(context.Context, activities.WelcomeInput) (activities.WelcomeOutput, error) {
		return activities.WelcomeOutput{Sent: true}, nil
	})
	reg(activities.ActSetStatus, func(context.Context, activities.SetStatusInput) error { return nil })
	reg(activities.ActNotifyOps, func(context.Context, activities.NotifyInput) error { return nil })
	for _, name := range []string{activities.ActUnlink, activities.ActDeleteSecrets, activities.ActForgetDevice} {
		reg(name, func(context.Context, activities.SalonRef) error { return nil })
	}
}

// race is an installation on a real Temporal server: its activities on one worker, its
// workflow on another that the test stops and starts.
type race struct {
	t     *testing.T
	c     client.Client
	queue string
	gate  *pairGate
}

func newRace(t *testing.T) *race {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through cmd/temporal-dev/with-temporal.sh")
	}
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	r := &race{t: t, c: c, queue: fmt.Sprintf("pairing-race-%d", time.Now().UnixNano()),
		gate: &pairGate{release: make(chan struct{})}}
	acts := worker.New(c, r.queue, worker.Options{DisableWorkflowWorker: true})
	stubActivities(acts, r.gate)
	require.NoError(t, acts.Start())
	t.Cleanup(acts.Stop)
	return r
}

// workflowWorker starts a worker that runs the installation workflow only.
func (r *race) workflowWorker() worker.Worker {
	w := worker.New(r.c, r.queue, worker.Options{StickyScheduleToStartTimeout: time.Second, LocalActivityWorkerOnly: true})
	w.RegisterWorkflowWithOptions(Installation, workflow.RegisterOptions{Name: InstallationWorkflowName})
	require.NoError(r.t, w.Start())
	return w
}

func (r *race) state() State {
	v, err := r.c.QueryWorkflow(context.Background(), r.queue, "", QueryStatus)
	if err != nil {
		return State{}
	}
	var st State
	_ = v.Get(&st)
	return st
}

// ask sends the request-pairing update as the page does and waits for its answer.
func (r *race) ask(method string, seen int) (int, error) {
	ctx := context.Background()
	h, err := r.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: r.queue, UpdateName: UpdateRequestPairing,
		Args:         []any{map[string]any{"Method": method, "Phone": "79990001122", "Session": "page-1", "Seen": seen}},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return 0, err
	}
	var p PairingStarted
	err = h.Get(ctx, &p)
	return p.Attempt, err
}

// The phone pairs, and in the same workflow task the page asks for a new code (here: the
// owner switched to a pairing code). The result that arrived wins: the installation goes on
// to whatsapp_connected and active, and no second attempt starts. This needs a real server:
// the workflow worker is stopped while the result and the request arrive, so that the next
// workflow task carries both.
func TestPairingResultWinsOverARequestInTheSameTask(t *testing.T) {
	r := newRace(t)
	wf := r.workflowWorker()
	_, err := r.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: r.queue, TaskQueue: r.queue},
		InstallationWorkflowName, InstallationInput{SalonID: testSalon})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return r.state().Status == StatusPendingWhatsApp }, 20*time.Second, 50*time.Millisecond)
	first, err := r.ask(activities.PairByQR, 0)
	require.NoError(t, err)
	require.Equal(t, 1, first)
	require.Eventually(t, func() bool { return len(r.gate.attempts()) == 1 }, 10*time.Second, 20*time.Millisecond)

	wf.Stop() // no workflow task is taken until both have arrived
	close(r.gate.release)
	time.Sleep(300 * time.Millisecond) // the attempt's result reaches the history
	asked := make(chan error, 1)
	go func() { _, err := r.ask(activities.PairByPhone, 1); asked <- err }()
	time.Sleep(500 * time.Millisecond) // the update waits for the next workflow task
	wf = r.workflowWorker()
	defer wf.Stop()

	require.Eventually(t, func() bool { return r.state().Status == StatusActive }, 30*time.Second, 50*time.Millisecond,
		"the paired phone wins: want active")
	<-asked
	require.Equal(t, []int{1}, r.gate.attempts(), "no second pairing attempt")
	require.Equal(t, "79990001122", r.state().WhatsApp.Phone)
	require.NoError(t, r.c.SignalWorkflow(context.Background(), r.queue, "", SignalUninstall, nil))
}
