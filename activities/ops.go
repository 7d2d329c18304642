package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
)

// Ops tells people what they must know (operator alerts, the owner's re-link link) and tells
// a salon's bookings when they can send again.
type Ops struct {
	store     *db.Store
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

// ResumeBookings signals the workflows on the salon's list of paused messages (each put
// itself there when its message found the salon unable to send) that it can send again, and
// takes them off the list; a workflow that has ended meanwhile is just taken off. Each
// message still goes through pacing, quiet hours and its own deadline: only still-relevant
// messages go out, never in a burst. It answers how many workflows it signalled.
func (a *Ops) ResumeBookings(ctx context.Context, in ResumeInput) (int, error) {
	ids, err := a.store.ListPausedMessages(ctx, in.SalonID)
	if err != nil {
		return 0, fmt.Errorf("paused messages: %w", err)
	}
	n := 0
	for _, id := range ids {
		err := a.temporal.SignalWorkflow(ctx, id, "", in.Signal, struct{}{})
		var gone *serviceerror.NotFound
		switch {
		case errors.As(err, &gone):
		case err != nil:
			return n, fmt.Errorf("resume %s: %w", id, err)
		default:
			n++
		}
		if err := a.store.RemovePausedMessage(ctx, sqlc.RemovePausedMessageParams{SalonID: in.SalonID, WorkflowID: id}); err != nil {
			return n, fmt.Errorf("paused messages: %w", err)
		}
	}
	return n, nil
}

// CloseWorkflows tells every running workflow of the salon other than its installation (its
// bookings, welcomes, review requests) that the installation ended (the signal is named in
// ResumeInput.Signal): they drop what they owe and end instead of waiting for their next
// moment. A workflow started a moment ago may not be listed yet (visibility lags): it ends at
// its first send, which finds the installation ended. It answers how many it signalled.
func (a *Ops) CloseWorkflows(ctx context.Context, in ResumeInput) (int, error) {
	query := fmt.Sprintf(`SalonID = "%d" AND ExecutionStatus = "Running" AND WorkflowType != %q`, in.SalonID, in.WorkflowType)
	n := 0
	var token []byte
	for {
		resp, err := a.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: 200})
		if err != nil {
			return n, fmt.Errorf("list the salon's workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			err := a.temporal.SignalWorkflow(ctx, e.GetExecution().GetWorkflowId(), "", in.Signal, struct{}{})
			var gone *serviceerror.NotFound
			if err != nil && !errors.As(err, &gone) {
				return n, fmt.Errorf("close %s: %w", e.GetExecution().GetWorkflowId(), err)
			}
			n++
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return n, nil
		}
	}
}
