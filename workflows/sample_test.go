package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// runSample runs the send-sample workflow with send as its activity.
func runSample(t *testing.T, in activities.SampleInput, send func(context.Context, activities.SampleInput) (activities.SampleOutput, error)) (activities.SampleOutput, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SendSample, workflow.RegisterOptions{Name: SendSampleWorkflowName})
	env.RegisterActivityWithOptions(send, activity.RegisterOptions{Name: activities.ActSendSample})
	env.ExecuteWorkflow(SendSampleWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	var out activities.SampleOutput
	if err := env.GetWorkflowError(); err != nil {
		return out, err
	}
	require.NoError(t, env.GetWorkflowResult(&out))
	return out, nil
}

// The workflow hands its input to the one send-sample activity, retries a failure a couple
// of times and returns what became of the example.
func TestSendSampleWorkflow(t *testing.T) {
	in := activities.SampleInput{SalonID: 7, Key: 42, Kind: texts.Confirmation, Text: "Пример"}
	var got []activities.SampleInput
	out, err := runSample(t, in, func(_ context.Context, a activities.SampleInput) (activities.SampleOutput, error) {
		got = append(got, a)
		if len(got) < 3 {
			return activities.SampleOutput{}, errors.New("worker lost its shard")
		}
		return activities.SampleOutput{Outcome: ledger.Sent}, nil
	})
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome)
	require.Equal(t, []activities.SampleInput{in, in, in}, got, "the same request (and ledger key) on every attempt")

	calls := 0
	_, err = runSample(t, in, func(context.Context, activities.SampleInput) (activities.SampleOutput, error) {
		calls++
		return activities.SampleOutput{}, errors.New("still failing")
	})
	require.Error(t, err)
	require.Equal(t, 3, calls, "a few quick attempts: the owner waits")
	require.Equal(t, "sample-7-0b8f", SampleID(7, "0b8f"))
}
