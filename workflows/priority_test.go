package workflows

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/aiadmin/aiadmin/activities"
)

// backlogWorkflowName is a stand-in for the clients' message workflows: one workflow task,
// started with the default priority as the dispatcher starts bookings.
const backlogWorkflowName = "priority-test-backlog"

// TestOwnerWaitingGoesAheadOfABacklog: a burst of bookings backs the task queue up just as an
// owner asks the connect page for a QR code. The installation runs with OwnerWaiting, so the
// server hands its workflow task (and then the pairing attempt) out ahead of the backlog: the
// attempt starts while most of the backlog still waits. Without the priority the request
// waited behind all of it. Measured by order, not time: how many of the backlog's workflows
// had run when the pairing attempt started.
func TestOwnerWaitingGoesAheadOfABacklog(t *testing.T) {
	r := newRace(t)
	ctx := context.Background()
	wf := r.workflowWorker()
	_, err := r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: r.queue, TaskQueue: r.queue, Priority: OwnerWaiting},
		InstallationWorkflowName, InstallationInput{SalonID: testSalon})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return r.state().Status == StatusPendingWhatsApp }, 20*time.Second, 50*time.Millisecond)
	wf.Stop()
	// The stopped worker's sticky queue is let go of at once, so that the request's workflow
	// task goes to the task queue, behind the backlog, without waiting for the sticky queue's
	// timeout.
	_, err = r.c.WorkflowService().ResetStickyTaskQueue(ctx, &workflowservice.ResetStickyTaskQueueRequest{
		Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: r.queue}})
	require.NoError(t, err)

	const backlog = 400
	for i := range backlog {
		_, err := r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-backlog-%d", r.queue, i), TaskQueue: r.queue},
			backlogWorkflowName)
		require.NoError(t, err)
	}
	asked := make(chan error, 1)
	go func() { _, err := r.ask(activities.PairByQR, 0); asked <- err }()
	time.Sleep(1500 * time.Millisecond) // the request is in the backlog too

	var ran atomic.Int64
	ranWhenPaired := make(chan int64, 1)
	r.gate.mu.Lock()
	r.gate.onCall = func() {
		select {
		case ranWhenPaired <- ran.Load():
		default:
		}
	}
	r.gate.mu.Unlock()
	// One workflow task at a time, as a saturated worker takes them.
	w := worker.New(r.c, r.queue, worker.Options{StickyScheduleToStartTimeout: time.Second, LocalActivityWorkerOnly: true,
		MaxConcurrentWorkflowTaskExecutionSize: 2, MaxConcurrentWorkflowTaskPollers: 2})
	w.RegisterWorkflowWithOptions(Installation, workflow.RegisterOptions{Name: InstallationWorkflowName})
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { ran.Add(1); return nil },
		workflow.RegisterOptions{Name: backlogWorkflowName})
	require.NoError(t, w.Start())
	defer w.Stop()

	var before int64
	select {
	case before = <-ranWhenPaired:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no pairing attempt started; %d of the backlog's %d workflows ran", ran.Load(), backlog)
	}
	require.NoError(t, <-asked)
	t.Logf("the pairing attempt started after %d of the backlog's %d workflows", before, backlog)
	// Without the priority it started after 376 of them (and all 400 when this test was
	// written). With it, in 23 runs here it started after 0-19 of them in 18, after 103, 197,
	// 214 and 292 in the others, and after 118 in one CI run: the server does not always hand
	// a backed-up queue's tasks out strictly by priority (why, I did not find out). What fails
	// is a request that waited behind nearly all of the backlog.
	require.Less(t, before, int64(backlog*85/100), "the owner's request waited behind the backlog")
	close(r.gate.release)
	require.Eventually(t, func() bool { return r.state().Status == StatusActive }, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, r.c.SignalWorkflow(ctx, r.queue, "", SignalUninstall, nil))
}

// TestPriorityRaisedOnARunningInstallation: an installation started before OwnerWaiting gets it
// while it runs (`aiadmin setup-temporal` does this for every running installation). The
// server records the change in the history (WorkflowExecutionOptionsUpdated), which the
// worker that holds the workflow takes in its next task and a replay of the history passes
// over: the installation goes on to active, and its history up to there replays.
func TestPriorityRaisedOnARunningInstallation(t *testing.T) {
	r := newRace(t)
	ctx := context.Background()
	wf := r.workflowWorker()
	defer wf.Stop()
	run, err := r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: r.queue, TaskQueue: r.queue},
		InstallationWorkflowName, InstallationInput{SalonID: testSalon})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return r.state().Status == StatusPendingWhatsApp }, 20*time.Second, 50*time.Millisecond)

	_, err = r.c.WorkflowService().UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{
		Namespace:                "default",
		WorkflowExecution:        &commonpb.WorkflowExecution{WorkflowId: r.queue},
		WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: int32(OwnerWaiting.PriorityKey)}},
		UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
	})
	require.NoError(t, err)
	desc, err := r.c.DescribeWorkflowExecution(ctx, r.queue, "")
	require.NoError(t, err)
	require.EqualValues(t, OwnerWaiting.PriorityKey, desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey())

	attempt, err := r.ask(activities.PairByQR, 0)
	require.NoError(t, err)
	require.Equal(t, 1, attempt)
	close(r.gate.release)
	require.Eventually(t, func() bool { return r.state().Status == StatusActive }, 30*time.Second, 50*time.Millisecond)
	defer func() { require.NoError(t, r.c.SignalWorkflow(ctx, r.queue, "", SignalUninstall, nil)) }()

	hist := &historypb.History{}
	iter := r.c.GetWorkflowHistory(ctx, r.queue, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	updated := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED {
			updated++
		}
		hist.Events = append(hist.Events, ev)
	}
	require.Equal(t, 1, updated, "the history records the change once")
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: testDataConverter(t)})
	require.NoError(t, err)
	registerForReplay(replayer)
	require.NoError(t, replayer.ReplayWorkflowHistory(nil, hist))
}
