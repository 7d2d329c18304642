package activities

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/aiadmin/aiadmin/activities/notify"
)

// Ops tells people what they must know (operator alerts, the owner's re-link link) and tells
// a salon's bookings when they can send again.
type Ops struct {
	notifier  Notifier
	temporal  WorkflowSignaler
	relinkURL func(RelinkInput) (string, error)
	log       *slog.Logger
}

// NotifyOps raises an operator alert.
func (a *Ops) NotifyOps(ctx context.Context, in NotifyInput) error {
	return a.notifier.Notify(ctx, in)
}

// NotifyRelink sends the owner a signed re-link link (valid RelinkTTL) through the owner
// channel. The link is made here, never in workflow history.
func (a *Ops) NotifyRelink(ctx context.Context, in RelinkInput) error {
	url, err := a.relinkURL(in)
	if err != nil {
		return err
	}
	return a.notifier.NotifyOwner(ctx, notify.OwnerNotice{SalonID: in.SalonID, Kind: "relink",
		Message: "WhatsApp салона отвязан от AI Admin, и клиенты сейчас не получают сообщений. " +
			"Откройте ссылку в течение 24 часов и отсканируйте QR-код телефоном салона.",
		URL: url})
}

// ResumeBookings signals every running booking workflow of the salon that it can send again,
// so that messages waiting for an unfrozen or re-linked salon are re-checked now. Each of
// them still goes through pacing and its own deadline: only still-relevant messages go out,
// never in a burst.
func (a *Ops) ResumeBookings(ctx context.Context, in ResumeInput) (int, error) {
	query := fmt.Sprintf(`WorkflowType = %q AND SalonID = "%d" AND ExecutionStatus = "Running"`, in.WorkflowType, in.SalonID)
	n := 0
	var token []byte
	for {
		resp, err := a.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 200})
		if err != nil {
			return n, fmt.Errorf("list bookings: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if err := a.temporal.SignalWorkflow(ctx, e.GetExecution().GetWorkflowId(), "", in.Signal, struct{}{}); err != nil {
				a.log.WarnContext(ctx, "resume booking", "salonID", in.SalonID, "err", err)
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
