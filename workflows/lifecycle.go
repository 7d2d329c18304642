package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// active is the steady state: it runs the first sync at once (activeBeforeSyncChange), resyncs
// every ResyncEvery and on request, and leaves on freeze, uninstall or the phone unlinking the
// device.
func (w *installation) active(ctx workflow.Context) (Status, error) {
	if w.frozenNow(ctx) {
		return w.toFrozen(ctx) // the welcome waits for the unfreeze
	}
	if err := w.welcome(ctx); err != nil {
		return w.toUninstalled(ctx)
	}
	for {
		if continueAsNewSuggested(ctx) {
			return w.st.Status, errContinueAsNew
		}
		w.unfreeze, w.check = false, false // nothing to do while active
		// Never synced (activated before its first sync; a sync that fails records when it ran):
		// the first sync is due now. Runs from before activeBeforeSyncChange never get here
		// unsynced, so they wait as they did.
		timedOut := w.st.LastSync.At.IsZero()
		if !timedOut {
			next := w.st.LastSync.At.Add(w.timings.ResyncEvery)
			wait := max(next.Sub(workflow.Now(ctx)), time.Second)
			var err error
			timedOut, err = w.awaitOr(ctx, wait, func() bool {
				return w.uninstall || w.freeze || w.resync || w.unfreeze || w.check || len(w.linkEvents) > 0 ||
					continueAsNewSuggested(ctx)
			})
			if err != nil {
				return w.st.Status, err
			}
		}
		if len(w.linkEvents) > 0 && !w.uninstall {
			relink, err := w.handleLinkEvents(ctx)
			if err != nil {
				return w.st.Status, err
			}
			if relink {
				return w.toNeedsRelink(ctx)
			}
			continue
		}
		switch {
		case w.uninstall:
			return w.toUninstalled(ctx)
		case w.freeze:
			w.freeze = false
			return w.toFrozen(ctx)
		case w.resync || timedOut:
			w.resync = false
			if err := w.sync(ctx); errors.Is(err, errFrozen) {
				return w.toFrozen(ctx)
			} else if err != nil {
				return w.toUninstalled(ctx)
			}
		}
	}
}

// awaitOr waits for cond or the timeout; it reports whether the timeout fired.
func (w *installation) awaitOr(ctx workflow.Context, d time.Duration, cond func() bool) (bool, error) {
	ok, err := workflow.AwaitWithTimeout(ctx, d, cond)
	return !ok, err
}

// toFrozen stops sending: the phone is disconnected but keeps its credentials. An
// installation frozen before it had a phone (pairing, re-linking) has nothing to disconnect.
func (w *installation) toFrozen(ctx workflow.Context) (Status, error) {
	w.freeze = false
	if w.st.WhatsApp.Phone != "" || !w.freezeInterrupts(ctx) {
		err := w.exec(ctx, shardOptions, time.Time{}, activities.ActDisconnect, activities.SalonRef{SalonID: w.st.SalonID}, nil)
		switch {
		case errors.Is(err, errInterrupted):
			return w.toUninstalled(ctx)
		case shardTimedOut(ctx, err):
			w.shardUnavailable(ctx, "отключить WhatsApp при заморозке",
				"Установка заморожена; салон не будет подключён, пока заморожен.")
		case err != nil:
			w.notify(ctx, "warn", "disconnect_failed", "Не удалось отключить WhatsApp при заморозке: "+rootMessage(err))
		}
	}
	w.st.FrozenAt = workflow.Now(ctx)
	return w.enter(ctx, StatusFrozen, "")
}

// frozen waits for an unfreeze: a signal, or the YClients integration status back to active
// (YClients sends no unfreeze event), polled every FrozenPollEvery and on request. The phone
// unlinking the device meanwhile is remembered for the unfreeze.
func (w *installation) frozen(ctx workflow.Context) (Status, error) {
	for {
		if continueAsNewSuggested(ctx) {
			return w.st.Status, errContinueAsNew
		}
		w.freeze, w.resync = false, false
		timedOut, err := w.awaitOr(ctx, w.timings.FrozenPollEvery, func() bool {
			return w.uninstall || w.unfreeze || w.check || w.freeze || w.resync || len(w.linkEvents) > 0
		})
		if err != nil {
			return w.st.Status, err
		}
		if len(w.linkEvents) > 0 && !w.uninstall {
			relink, err := w.handleLinkEvents(ctx)
			if err != nil {
				return w.st.Status, err
			}
			w.unlinkedWhileFrozen = w.unlinkedWhileFrozen || relink
			continue
		}
		switch {
		case w.uninstall:
			return w.toUninstalled(ctx)
		case w.unfreeze:
			w.unfreeze = false
			return w.leaveFrozen(ctx)
		case w.check || timedOut:
			w.check = false
			var out activities.IntegrationStatusOutput
			err := w.exec(ctx, statusOptions, time.Time{}, activities.ActIntegrationStatus,
				activities.SalonRef{SalonID: w.st.SalonID}, &out)
			switch {
			case errors.Is(err, errInterrupted):
				return w.toUninstalled(ctx)
			case err != nil:
				w.notify(ctx, "warn", "status_check_failed", "Не удалось проверить статус интеграции: "+rootMessage(err))
			case w.unfrozenByStatus(ctx, out.Status):
				return w.leaveFrozen(ctx)
			case out.Status == "uninstalled":
				return w.toUninstalled(ctx)
			}
		}
	}
}

// unfreezeToActive reconnects with the kept credentials, without a new scan; a phone that
// unlinked the device meanwhile needs a re-link instead.
func (w *installation) unfreezeToActive(ctx workflow.Context) (Status, error) {
	err := w.exec(ctx, shardOptions, time.Time{}, activities.ActReconnect, activities.SalonRef{SalonID: w.st.SalonID}, nil)
	if errors.Is(err, errInterrupted) {
		return w.toUninstalled(ctx)
	}
	if w.unlinkedWhileFrozen || errType(err) == activities.ErrTypeNotLinked {
		w.unlinkedWhileFrozen = false
		w.st.FrozenAt = time.Time{}
		return w.toNeedsRelink(ctx)
	}
	reason := ""
	if err != nil {
		reason = ReasonReconnectFailed
		w.reconnectFailed(ctx, err)
	}
	w.st.FrozenAt = time.Time{}
	if err := w.setStatus(ctx, StatusActive, reason); err != nil {
		return w.st.Status, err
	}
	w.resumeBookings(ctx)
	w.resync = true // the catalogue may have changed while frozen
	return w.st.Status, nil
}

// toUninstalled unlinks the phone, deletes the salon's secrets and ends the installation.
func (w *installation) toUninstalled(ctx workflow.Context) (Status, error) {
	w.cleanup(ctx)
	if err := w.setStatus(ctx, StatusUninstalled, ReasonUninstalled); err != nil {
		return w.st.Status, err
	}
	w.closeWorkflows(ctx)
	w.notify(ctx, "info", "uninstalled", "Приложение удалено из YClients")
	return w.st.Status, nil
}

// toExpired ends an installation not activated within the deadline.
func (w *installation) toExpired(ctx workflow.Context) (Status, error) {
	w.cleanup(ctx)
	if err := w.setStatus(ctx, StatusExpired, ReasonActivationDeadline); err != nil {
		return w.st.Status, err
	}
	w.closeWorkflows(ctx)
	w.notify(ctx, "warn", "expired", "Установка не завершена за отведённое время")
	return w.st.Status, nil
}

// toFailed ends the installation for reason; detail, when known, goes to operators.
func (w *installation) toFailed(ctx workflow.Context, reason, detail string) (Status, error) {
	if w.st.Status != StatusRegistering && w.st.Status != StatusPendingWhatsApp {
		w.cleanup(ctx)
	}
	if err := w.setStatus(ctx, StatusFailed, reason); err != nil {
		return w.st.Status, err
	}
	w.closeWorkflows(ctx)
	msg := "Установка не удалась: " + reason
	if detail != "" {
		msg += ": " + detail
	}
	w.notify(ctx, "error", "failed", msg)
	return w.st.Status, nil
}

// cleanup unlinks the phone and deletes the salon's secrets. It runs on a disconnected
// context so that it completes whatever was interrupted.
func (w *installation) cleanup(ctx workflow.Context) {
	w.cancelPairing()
	w.unlink(ctx)
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), cleanupOptions)
	ref := activities.SalonRef{SalonID: w.st.SalonID}
	if err := workflow.ExecuteActivity(dctx, activities.ActDeleteSecrets, ref).Get(dctx, nil); err != nil {
		w.notify(ctx, "error", "delete_secrets_failed", "Не удалось удалить секреты салона: "+rootMessage(err))
	}
	w.st.WhatsApp = WhatsAppInfo{}
}

// ChangeCloseWorkflows versions telling the salon's message workflows that the installation
// ended.
const ChangeCloseWorkflows = "2026-12-02-close-salon-workflows"

// closeWorkflows tells the salon's running message workflows (bookings, welcomes, review
// requests) that the installation ended, so none is left waiting for a moment that will not
// come.
func (w *installation) closeWorkflows(ctx workflow.Context) {
	if workflow.GetVersion(ctx, ChangeCloseWorkflows, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), cleanupOptions)
	if err := workflow.ExecuteActivity(dctx, activities.ActCloseWorkflows, activities.ResumeInput{SalonID: w.st.SalonID,
		WorkflowType: InstallationWorkflowName, Signal: SignalSalonClosed}).Get(dctx, nil); err != nil {
		w.notify(ctx, "warn", "close_workflows_failed", "Не удалось остановить ожидающие сообщения салона: "+rootMessage(err))
	}
}

// notify raises an operator alert; failures to alert never break the installation.
func (w *installation) notify(ctx workflow.Context, level, kind, msg string) {
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), localOptions)
	dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	_ = workflow.ExecuteActivity(dctx, activities.ActNotifyOps,
		activities.NotifyInput{SalonID: w.st.SalonID, Level: level, Kind: kind, Message: msg}).Get(dctx, nil)
}
