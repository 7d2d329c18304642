package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
)

// WorkflowSignaler is the part of the Temporal client that resuming bookings needs.
type WorkflowSignaler interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// ResumeBookings signals every running booking workflow of the salon that it can send again,
// so that messages waiting for an unfrozen or re-linked salon are re-checked now. Each of
// them still goes through pacing and its own deadline: only still-relevant messages go out,
// never in a burst.
func (a *Activities) ResumeBookings(ctx context.Context, in ResumeInput) (int, error) {
	if a.Temporal == nil {
		return 0, errors.New("no Temporal client configured")
	}
	query := fmt.Sprintf(`WorkflowType = %q AND SalonID = "%d" AND ExecutionStatus = "Running"`, in.WorkflowType, in.SalonID)
	n := 0
	var token []byte
	for {
		resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 200})
		if err != nil {
			return n, fmt.Errorf("list bookings: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if err := a.Temporal.SignalWorkflow(ctx, e.GetExecution().GetWorkflowId(), "", in.Signal, struct{}{}); err != nil {
				a.log().WarnContext(ctx, "resume booking", "salonID", in.SalonID, "err", err)
				continue
			}
			n++
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return n, nil
		}
	}
}
