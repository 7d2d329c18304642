package workflows

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

// TestReplayRecordedHistories replays histories recorded from real runs (the end-to-end test
// writes them when AIADMIN_RECORD_HISTORY=workflows/testdata). A change to the workflow's
// command sequence that would break running installations fails here: put it behind
// workflow.GetVersion with a dated change ID and record a new history.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in testdata/")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: testDataConverter(t)})
			require.NoError(t, err)
			registerForReplay(r)
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// registerForReplay registers every workflow under its pinned name, as the worker does.
func registerForReplay(r worker.WorkflowReplayer) {
	r.RegisterWorkflowWithOptions(Installation, workflow.RegisterOptions{Name: InstallationWorkflowName})
	r.RegisterWorkflowWithOptions(Booking, workflow.RegisterOptions{Name: BookingWorkflowName})
	r.RegisterWorkflowWithOptions(ClientWelcome, workflow.RegisterOptions{Name: ClientWelcomeWorkflowName})
	r.RegisterWorkflowWithOptions(SendSample, workflow.RegisterOptions{Name: SendSampleWorkflowName})
	r.RegisterWorkflowWithOptions(ClientReplies, workflow.RegisterOptions{Name: ClientReplyWorkflowName})
	r.RegisterWorkflowWithOptions(ReviewRequest, workflow.RegisterOptions{Name: ReviewRequestWorkflowName})
}

// testDataConverter decodes recorded histories: payloads with personal data are encrypted
// with the end-to-end tests' SECRET_KEY (32 zero bytes); older recordings are plain JSON.
func testDataConverter(t *testing.T) converter.DataConverter {
	box, err := secretbox.New(make([]byte, 32))
	require.NoError(t, err)
	return pii.DataConverter(box)
}
