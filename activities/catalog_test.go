package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// syncOnce runs the sync activity with a 1 s heartbeat timeout; with cancelAfter > 0 it
// cancels the activity then and waits for it to stop. It returns how the activity ended.
func syncOnce(ctx workflow.Context, cancelAfter time.Duration) (string, error) {
	actx, cancel := workflow.WithCancel(ctx)
	actx = workflow.WithActivityOptions(actx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, HeartbeatTimeout: time.Second, WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	fut := workflow.ExecuteActivity(actx, activities.ActSync, activities.SalonRef{SalonID: salonID})
	if cancelAfter > 0 {
		_ = workflow.Sleep(ctx, cancelAfter)
		cancel()
	}
	err := fut.Get(ctx, nil)
	var timeoutErr *temporal.TimeoutError
	var canceledErr *temporal.CanceledError
	switch {
	case err == nil:
		return "completed", nil
	case errors.As(err, &timeoutErr):
		return "timed out: " + timeoutErr.TimeoutType().String(), nil
	case errors.As(err, &canceledErr):
		return "cancelled", nil
	}
	return "failed: " + err.Error(), nil
}

// A sync heartbeats while it waits on a slow YClients answer, so that it outlives its
// heartbeat timeout and a cancellation (a freeze, an uninstall) reaches it within that
// timeout; a cancelled sync stops at once instead of when YClients answers.
func TestSyncHeartbeatsAndHonoursCancellation(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through cmd/temporal-dev/with-temporal.sh")
	}
	f := newFixture(t, partnerToken)
	f.register(t)
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("sync-heartbeat-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(syncOnce, workflow.RegisterOptions{Name: "sync-once"})
	f.set.Register(w)
	require.NoError(t, w.Start())
	defer w.Stop()
	run := func(id string, cancelAfter time.Duration) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		we, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue + id, TaskQueue: queue}, "sync-once", cancelAfter)
		require.NoError(t, err)
		var how string
		require.NoError(t, we.Get(ctx, &how))
		return how
	}
	staff := "/api/v1/company/100001/staff"

	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: staff, DelayMS: 4000, Count: 1}))
	how := run("-slow", 0)
	require.Equal(t, "completed", how, "a 4 s YClients call under a 1 s heartbeat timeout: got %q want completed", how)

	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: staff, DelayMS: 30000, Count: 1}))
	start := time.Now()
	how = run("-cancelled", 500*time.Millisecond)
	took := time.Since(start)
	require.Equal(t, "cancelled", how)
	require.Less(t, took, 5*time.Second, "the cancelled sync stops within the heartbeat timeout, not when YClients answers: took %s", took)
}
