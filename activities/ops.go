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
