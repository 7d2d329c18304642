package workflows

import (
	"strconv"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// ChangeReviewOnAttended versions the booking workflow's start of a review request when
// YClients marks the visit attended. Runs whose history handled such an event before
// (DefaultVersion) start none.
const ChangeReviewOnAttended = "review-on-attended"

// onAttended is the booking workflow's one call for review requests: an event marking the
// visit attended (attendance 1) starts the record's review-request workflow as a child that
// outlives the booking (ParentClosePolicy ABANDON: the booking ends 2 h after the visit, the
// request waits the salon's delay and then up to 3 days for a score). The child's ID is
// ReviewID(salon, record) with REJECT_DUPLICATE, so a record is asked about once, ever; a later
// update of the attended record tries again and fails to start, which changes nothing.
// The start is tracked with spawn: the booking does not end (or continue as new) before the
// child has started.
func (b *booking) onAttended(ctx workflow.Context, ev RecordEvent) {
	if ev.Attendance != activities.AttendanceCame || ev.Cancelled() || ev.Visit.Start.IsZero() {
		return
	}
	if workflow.GetVersion(ctx, ChangeReviewOnAttended, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	salonID, recordID := b.st.SalonID, b.st.RecordID
	b.spawn(ctx, func(gctx workflow.Context) { startReviewRequest(gctx, salonID, recordID, ev) })
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
