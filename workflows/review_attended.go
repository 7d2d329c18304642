package workflows

import (
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// reviewOnAttended starts the record's review-request workflow when an event marks the visit
// attended (attendance 1), once per run: a child that outlives the booking (ParentClosePolicy
// ABANDON: the booking ends after the visit, the request waits the salon's delay and then up
// to 3 days for a score). The child's ID is ReviewID(salon, record) with REJECT_DUPLICATE, so
// a record is asked about once, ever: a later run that sees the attended record again fails
// to start it, which changes nothing. The booking waits until the child has started.
func (b *bookingFlow) reviewOnAttended(ctx workflow.Context, ev RecordEvent) {
	if ev.Attendance != activities.AttendanceCame || ev.Cancelled() || ev.Visit.Start.IsZero() || b.st.ReviewStarted {
		return
	}
	b.st.ReviewStarted = true
	startReviewRequest(ctx, b.st.SalonID, b.st.RecordID, ev)
}

// startReviewRequest starts the record's review request and waits until it has started (or
// could not: one was started before).
func startReviewRequest(ctx workflow.Context, salonID, recordID int64, ev RecordEvent) {
	attended := ev.ReceivedAt
	if attended.IsZero() {
		attended = workflow.Now(ctx)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            ReviewID(salonID, recordID),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(SearchAttrSalonID.ValueSet(strconv.FormatInt(salonID, 10))),
	})
	in := ReviewRequestInput{SalonID: salonID, RecordID: recordID, Visit: ev.Visit, AttendedAt: attended}
	_ = workflow.ExecuteChildWorkflow(cctx, ReviewRequestWorkflowName, in).GetChildWorkflowExecution().Get(ctx, nil)
}
