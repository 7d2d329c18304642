package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// SendSampleWorkflowName sends the owner's example message from the cabinet («Отправить
// пример себе») to the salon's own number. The api process has no WhatsApp connection: the
// worker that owns the salon's connection sends it (send-sample is connection-bound).
const SendSampleWorkflowName = "send-sample"

// SampleID is the workflow ID of one example: "sample-<salon>-<request>", request being a
// fresh UUID per click.
func SampleID(salonID int64, request string) string {
	return fmt.Sprintf("sample-%d-%s", salonID, request)
}

// sampleOptions: the owner waits on the page, so a few quick attempts; the activity itself
// gives up at once when WhatsApp is not connected.
var sampleOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Second,
		MaximumAttempts: 3, NonRetryableErrorTypes: activities.NonRetryable,
	},
}

// SendSample runs the one send-sample activity and returns what became of the example. Its
// input carries the salon, the kind and the text rendered from a sample visit: no client's
// data.
func SendSample(ctx workflow.Context, in activities.SampleInput) (activities.SampleOutput, error) {
	ctx = workflow.WithActivityOptions(ctx, sampleOptions)
	var out activities.SampleOutput
	err := workflow.ExecuteActivity(ctx, activities.ActSendSample, in).Get(ctx, &out)
	return out, err
}
