package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/workflows"
)

// calibrationPauses is how often the calibration booking's confirmation is paused, each time
// resumed by a signal 300 ms later (so that a real server needs no 5-minute recheck).
const calibrationPauses = 3

// TestChaosHistoryModel checks R9's modelled history length against a real Temporal server:
// the same booking (created, its confirmation paused three times and resumed by signal, then
// sent, its reminders armed) runs on the server named by TEMPORAL_ADDRESS with the same stubs,
// and its real history must have within 15 % of the events the model counts for the run in
// the time-skipping environment.
func TestChaosHistoryModel(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" || os.Getenv(clusterChildEnv) != "" {
		t.Skip("needs TEMPORAL_ADDRESS (make test starts a Temporal dev server)")
	}
	visit := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	real := realHistoryLength(t, addr, visit)
	modelled := modelledHistoryLength(t, visit)
	t.Logf("calibration booking: %d events on the server, %d modelled", real, modelled)
	require.InEpsilon(t, real, modelled, 0.15, "modelled %d events, the server recorded %d", modelled, real)
}

func calibrationEvent(at time.Time, visit time.Time) workflows.RecordEvent {
	return workflows.RecordEvent{InboxID: 1, Status: "create", ReceivedAt: at,
		Visit: activities.Visit{Start: visit, StaffID: 7, ServiceIDs: []int64{1}, Services: []string{"Стрижка"},
			ClientName: "Анна", ClientPhone: "79160000000"}}
}

// realHistoryLength runs the booking on the server until its confirmation is sent and its
// history stops growing, and counts the events.
func realHistoryLength(t *testing.T, addr string, visit time.Time) int {
	c, err := client.Dial(client.Options{HostPort: addr, Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("chaos-history-model-%d", time.Now().UnixNano())
	id := "booking-calibration-" + queue
	w := worker.New(c, queue, worker.Options{})
	var paused, sent atomic.Int32
	registerCalibration(w, func(context.Context) (activities.DeliverOutput, error) {
		if paused.Load() < calibrationPauses {
			paused.Add(1)
			go func() {
				time.Sleep(300 * time.Millisecond)
				_ = c.SignalWorkflow(context.Background(), id, "", workflows.SignalResume, struct{}{})
			}()
			return activities.DeliverOutput{Outcome: ledger.Paused, Reason: "salon frozen"}, nil
		}
		sent.Add(1)
		return activities.DeliverOutput{Outcome: ledger.Sent}, nil
	})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()
	_, err = c.SignalWithStartWorkflow(ctx, id, workflows.SignalRecordEvent, calibrationEvent(time.Now(), visit),
		client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.BookingWorkflowName,
		workflows.BookingInput{SalonID: 100001, RecordID: 555})
	require.NoError(t, err)
	defer func() { _ = c.TerminateWorkflow(context.Background(), id, "", "calibration done") }()
	require.Eventually(t, func() bool { return sent.Load() == 1 }, 30*time.Second, 50*time.Millisecond)
	last, stable := -1, 0
	for stable < 4 {
		time.Sleep(250 * time.Millisecond)
		n := 0
		it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			_, err := it.Next()
			require.NoError(t, err)
			n++
		}
		if n == last {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	return last
}

// modelledHistoryLength runs the same booking in the time-skipping environment and returns the
// model's count once the confirmation is sent and the workflow waits for its reminders.
func modelledHistoryLength(t *testing.T, visit time.Time) int {
	paused := 0
	h := &r9Harness{
		planSend: func(earliest time.Time) time.Time { return earliest },
		deliver: func(env *testsuite.TestWorkflowEnvironment, c *r9Count, _ activities.DeliverInput) activities.DeliverOutput {
			if paused < calibrationPauses {
				paused++
				env.RegisterDelayedCallback(func() { c.signal(); env.SignalWorkflow(workflows.SignalResume, struct{}{}) }, 300*time.Millisecond)
				return activities.DeliverOutput{Outcome: ledger.Paused, Reason: "salon frozen"}
			}
			return activities.DeliverOutput{Outcome: ledger.Sent}
		},
	}
	env, count := h.env(t, 555)
	start := time.Now()
	env.SetStartTime(start)
	env.RegisterDelayedCallback(func() {
		count.signal()
		env.SignalWorkflow(workflows.SignalRecordEvent, calibrationEvent(start, visit))
	}, 0)
	var atRest int
	env.RegisterDelayedCallback(func() { atRest = count.events(); env.CancelWorkflow() }, time.Minute)
	env.ExecuteWorkflow(workflows.BookingWorkflowName, workflows.BookingInput{SalonID: 100001, RecordID: 555})
	return atRest
}

// registerCalibration registers the booking workflow and R9's stubs on a real worker, with
// deliver as given.
func registerCalibration(w worker.Worker, deliver func(context.Context) (activities.DeliverOutput, error)) {
	w.RegisterWorkflowWithOptions(workflows.Booking, workflow.RegisterOptions{Name: workflows.BookingWorkflowName})
	loc := moscowLoc()
	w.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanRemindersInput) (activities.PlanRemindersOutput, error) {
		return activities.PlanRemindersOutput{Reminders: activities.ReminderTimes(in.Start, in.Now, loc, 18,
			activities.QuietHours{From: 21 * 60, To: 9 * 60})}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanReminders})
	w.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanSendInput) (activities.PlanSendOutput, error) {
		return activities.PlanSendOutput{SendAt: maxTime(in.Earliest, time.Now())}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanSend})
	w.RegisterActivityWithOptions(func(ctx context.Context, _ activities.DeliverInput) (activities.DeliverOutput, error) {
		return deliver(ctx)
	}, activity.RegisterOptions{Name: activities.ActDeliver})
	w.RegisterActivityWithOptions(func(ctx context.Context, in activities.SendInput) (activities.SendOutput, error) {
		d, err := deliver(ctx)
		out := activities.SendOutput{Outcome: d.Outcome, Reason: d.Reason}
		if in.Plan {
			out.Reminders = activities.ReminderTimes(in.Visit.Start, time.Now(), loc, 18, activities.QuietHours{From: 21 * 60, To: 9 * 60})
		}
		return out, err
	}, activity.RegisterOptions{Name: activities.ActSend})
}
