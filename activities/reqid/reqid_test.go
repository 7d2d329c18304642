package reqid_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities/reqid"
)

func TestHandlerAddsTheRequestIDOnce(t *testing.T) {
	var buf bytes.Buffer
	log := reqid.Logger(slog.New(slog.NewTextHandler(&buf, nil)))
	ctx := reqid.With(context.Background(), "REQ-1")

	log.InfoContext(ctx, "from context")
	log.InfoContext(ctx, "explicit", reqid.LogKey, "REQ-1")
	log.With(reqid.LogKey, "REQ-2").InfoContext(ctx, "logger has one")
	log.InfoContext(context.Background(), "no request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 4)
	require.Contains(t, lines[0], "requestID=REQ-1")
	require.Equal(t, 1, strings.Count(lines[1], "requestID="), "got %s", lines[1])
	require.Equal(t, 1, strings.Count(lines[2], "requestID="), "got %s", lines[2])
	require.Contains(t, lines[2], "requestID=REQ-2")
	require.NotContains(t, lines[3], "requestID")
	require.Equal(t, log.Handler(), reqid.NewHandler(log.Handler()), "wrapping twice changes nothing")
}

// seen records the request ID each run of the test activity had.
type seen struct {
	mu  sync.Mutex
	ids []string
}

func (s *seen) record(ctx context.Context, step string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, step+"="+reqid.From(ctx))
	return nil
}

func (s *seen) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// waitAndRecord runs the activity at start and after each of two signals, from the main loop.
func waitAndRecord(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteActivity(ctx, "record", "start").Get(ctx, nil); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, "go")
	for i := 1; i <= 2; i++ {
		ch.Receive(ctx, nil)
		if err := workflow.ExecuteActivity(ctx, "record", fmt.Sprintf("signal%d", i)).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// A start and a signal carry their request IDs into the activities scheduled after them; a
// signal without one (a background process) leaves the latest.
func TestRequestIDReachesActivities(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through cmd/temporal-dev/with-temporal.sh")
	}
	c, err := client.Dial(client.Options{HostPort: addr, ContextPropagators: []workflow.ContextPropagator{reqid.Propagator{}}})
	require.NoError(t, err)
	defer c.Close()
	queue := fmt.Sprintf("reqid-test-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{Interceptors: []interceptor.WorkerInterceptor{&reqid.Interceptor{}}})
	var s seen
	w.RegisterWorkflowWithOptions(waitAndRecord, workflow.RegisterOptions{Name: "wait-and-record"})
	w.RegisterActivityWithOptions(s.record, activity.RegisterOptions{Name: "record"})
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx := context.Background()
	run, err := c.ExecuteWorkflow(reqid.With(ctx, "START-1"), client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, "wait-and-record")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(s.get()) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, c.SignalWorkflow(reqid.With(ctx, "SIGNAL-2"), queue, "", "go", nil))
	require.Eventually(t, func() bool { return len(s.get()) == 2 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, c.SignalWorkflow(ctx, queue, "", "go", nil))
	require.NoError(t, run.Get(ctx, nil))
	require.Equal(t, []string{"start=START-1", "signal1=SIGNAL-2", "signal2=SIGNAL-2"}, s.get())
}
