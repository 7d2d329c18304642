package workflows

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

func TestWhatsAppShard(t *testing.T) {
	for _, c := range []struct {
		salon  int64
		shards int
		want   int
	}{
		{100001, 4, 1}, {100004, 4, 0}, {7, 4, 3}, {-5, 4, 3}, {42, 1, 0}, {42, 0, 0}, {1_000_000_007, 16, 7},
	} {
		require.Equal(t, c.want, WhatsAppShard(c.salon, c.shards), "salon %d of %d shards", c.salon, c.shards)
	}
	require.Equal(t, "aiadmin-wa-3", WhatsAppQueue("aiadmin", 4, 7))
	require.Equal(t, "q-wa-0", WhatsAppShardQueue("q", 0))
	require.Equal(t, []string{"deliver-message", "pair-whatsapp", "send-client-welcome", "send-message", "send-review-request", "send-sample", "send-welcome",
		"whatsapp-disconnect", "whatsapp-reconnect", "whatsapp-unlink"}, ConnectionBoundActivities())
	require.True(t, ConnectionBound(activities.ActDeliver))
	require.False(t, ConnectionBound(activities.ActSync))
}

// routingProbe runs one connection-bound and one ordinary activity and returns the task
// queues they ran on.
func routingProbe(ctx workflow.Context, salonID int64) ([]string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var queues []string
	for _, call := range []struct {
		name string
		in   any
	}{
		{activities.ActPair, activities.PairInput{SalonID: salonID, Attempt: 1, Method: "qr"}},
		{activities.ActSync, activities.SalonRef{SalonID: salonID}},
		{activities.ActDeliver, &activities.DeliverInput{SalonID: salonID}},
	} {
		var q string
		if err := workflow.ExecuteActivity(ctx, call.name, call.in).Get(ctx, &q); err != nil {
			return nil, err
		}
		queues = append(queues, q)
	}
	return queues, nil
}

func runRoutingProbe(t *testing.T, shards int, version workflow.Version) []string {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{NewWhatsAppRouting(shards)}})
	env.RegisterWorkflowWithOptions(routingProbe, workflow.RegisterOptions{Name: "routing-probe"})
	queue := func(ctx context.Context, _ any) (string, error) { return activity.GetInfo(ctx).TaskQueue, nil }
	for _, name := range []string{activities.ActPair, activities.ActSync, activities.ActDeliver} {
		env.RegisterActivityWithOptions(queue, activity.RegisterOptions{Name: name})
	}
	if version != 1 {
		env.OnGetVersion(ChangeWhatsAppShardQueues, workflow.DefaultVersion, 1).Return(version)
	}
	env.ExecuteWorkflow("routing-probe", int64(7))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var got []string
	require.NoError(t, env.GetWorkflowResult(&got))
	return got
}

func TestWhatsAppRoutingSendsConnectionBoundActivitiesToTheShardQueue(t *testing.T) {
	got := runRoutingProbe(t, 4, 1)
	base := got[1]
	require.NotEmpty(t, base)
	require.Equal(t, []string{base + "-wa-3", base, base + "-wa-3"}, got, "pair and deliver on shard 7 mod 4, sync on the base queue")
}

func TestWhatsAppRoutingKeepsRunsFromBeforeTheChangeOnTheBaseQueue(t *testing.T) {
	got := runRoutingProbe(t, 4, workflow.DefaultVersion)
	require.Equal(t, []string{got[1], got[1], got[1]}, got)
}

// Histories recorded before the routing existed still replay on a worker that has it.
func TestReplayRecordedHistoriesWithWhatsAppRouting(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				Interceptors:  []interceptor.WorkerInterceptor{NewWhatsAppRouting(4)},
				DataConverter: testDataConverter(t),
			})
			require.NoError(t, err)
			registerForReplay(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

func TestSalonOfActivityInputs(t *testing.T) {
	for _, c := range []struct {
		in   []any
		want int64
		ok   bool
	}{
		{[]any{activities.SalonRef{SalonID: 1}}, 1, true},
		{[]any{&activities.PairInput{SalonID: 2}}, 2, true},
		{[]any{activities.WelcomeInput{SalonID: 3}}, 3, true},
		{[]any{activities.DeliverInput{SalonID: 4}}, 4, true},
		{[]any{activities.ClientWelcomeInput{NewClient: activities.NewClient{SalonID: 6}}}, 6, true},
		{[]any{activities.SampleInput{SalonID: 7}}, 7, true},
		{[]any{activities.ReviewSendInput{SalonID: 8}}, 8, true},
		{[]any{&activities.ReviewSendInput{SalonID: 9}}, 9, true},
		{[]any{(*activities.SampleInput)(nil)}, 0, false},
		{[]any{activities.SendInput{DeliverInput: activities.DeliverInput{SalonID: 8}}}, 8, true},
		{[]any{(*activities.SendInput)(nil)}, 0, false},
		{[]any{(*activities.DeliverInput)(nil)}, 0, false},
		{[]any{activities.NotifyInput{SalonID: 5}}, 0, false},
		{nil, 0, false},
	} {
		got, ok := salonOf(c.in)
		require.Equal(t, c.want, got, "%#v", c.in)
		require.Equal(t, c.ok, ok, "%#v", c.in)
	}
}
