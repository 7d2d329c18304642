package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// active is the steady state: resync every ResyncEvery and on request; freeze and uninstall
// end it. The run continues as new when the history grows large.
func (w *installation) active(ctx workflow.Context) (State, error) {
	if err := w.welcome(ctx); err != nil {
		return w.closeOnError(ctx, err)
	}
	for {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return w.st, err
			}
			return w.continueAsNew(ctx)
		}
		w.unfreeze, w.check = false, false // nothing to do while active
		next := w.st.LastSync.At.Add(w.timings.ResyncEvery)
		wait := next.Sub(workflow.Now(ctx))
		if wait < time.Second {
			wait = time.Second
		}
		timedOut, err := w.awaitOr(ctx, wait, func() bool {
			return w.uninstall || w.freeze || w.resync || w.unfreeze || w.check || len(w.linkEvents) > 0 ||
				workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		})
		if err != nil {
			return w.st, err
		}
		if len(w.linkEvents) > 0 && !w.uninstall {
			relink, err := w.handleLinkEvents(ctx)
			if err != nil {
				return w.st, err
			}
			if relink {
				return w.doRelink(ctx)
			}
			continue
		}
		switch {
		case w.uninstall:
			return w.doUninstall(ctx)
		case w.freeze:
			w.freeze = false
			return w.doFreeze(ctx)
		case w.resync || timedOut:
			w.resync = false
			if err := w.sync(ctx); err != nil {
				return w.closeOnError(ctx, err)
			}
		}
	}
}

// awaitOr waits for cond or the timeout; it reports whether the timeout fired.
func (w *installation) awaitOr(ctx workflow.Context, d time.Duration, cond func() bool) (bool, error) {
	ok, err := workflow.AwaitWithTimeout(ctx, d, cond)
	return !ok, err
}

func (w *installation) continueAsNew(ctx workflow.Context) (State, error) {
	st := w.st
	return w.st, workflow.NewContinueAsNewError(ctx, InstallationWorkflowName,
		InstallationInput{SalonID: w.st.SalonID, Timings: w.timings, State: &st})
}

// doFreeze stops sending: the phone is disconnected but keeps its credentials.
func (w *installation) doFreeze(ctx workflow.Context) (State, error) {
	err := w.exec(ctx, cleanupOptions, time.Time{}, activities.ActDisconnect, activities.SalonRef{SalonID: w.st.SalonID}, nil)
	if errors.Is(err, errInterrupted) {
		return w.doUninstall(ctx)
	}
	if err != nil {
		w.notify(ctx, "warn", "disconnect_failed", "Не удалось отключить WhatsApp при заморозке: "+rootMessage(err))
	}
	w.st.FrozenAt = workflow.Now(ctx)
	if err := w.setStatus(ctx, StatusFrozen, ""); err != nil {
		return w.st, err
	}
	return w.frozen(ctx)
}

// frozen waits for an unfreeze: a signal, or the YClients integration status back to active
// (YClients sends no unfreeze event), polled every FrozenPollEvery and on request.
func (w *installation) frozen(ctx workflow.Context) (State, error) {
	for {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return w.st, err
			}
			return w.continueAsNew(ctx)
		}
		w.freeze, w.resync = false, false
		timedOut, err := w.awaitOr(ctx, w.timings.FrozenPollEvery, func() bool {
			return w.uninstall || w.unfreeze || w.check || w.freeze || w.resync || len(w.linkEvents) > 0
		})
		if err != nil {
			return w.st, err
		}
		if len(w.linkEvents) > 0 && !w.uninstall {
			relink, err := w.handleLinkEvents(ctx)
			if err != nil {
				return w.st, err
			}
			w.unlinkedWhileFrozen = w.unlinkedWhileFrozen || relink
			continue
		}
		switch {
		case w.uninstall:
			return w.doUninstall(ctx)
		case w.unfreeze:
			w.unfreeze = false
			return w.doUnfreeze(ctx)
		case w.check || timedOut:
			w.check = false
			var out activities.IntegrationStatusOutput
			err := w.exec(ctx, yclientsOptions, time.Time{}, activities.ActIntegrationStatus,
				activities.SalonRef{SalonID: w.st.SalonID}, &out)
			switch {
			case errors.Is(err, errInterrupted):
				return w.doUninstall(ctx)
			case err != nil:
				w.notify(ctx, "warn", "status_check_failed", "Не удалось проверить статус интеграции: "+rootMessage(err))
			case out.Status == "active":
				return w.doUnfreeze(ctx)
			case out.Status == "uninstalled":
				return w.doUninstall(ctx)
			}
		}
	}
}

// doUnfreeze reconnects with the kept credentials, without a new scan.
func (w *installation) doUnfreeze(ctx workflow.Context) (State, error) {
	err := w.exec(ctx, cleanupOptions, time.Time{}, activities.ActReconnect, activities.SalonRef{SalonID: w.st.SalonID}, nil)
	if errors.Is(err, errInterrupted) {
		return w.doUninstall(ctx)
	}
	reason := ""
	if w.unlinkedWhileFrozen || errType(err) == activities.ErrTypeNotLinked {
		w.unlinkedWhileFrozen = false
		w.st.FrozenAt = time.Time{}
		return w.doRelink(ctx)
	}
	if err != nil {
		reason = "whatsapp_reconnect_failed"
		w.notify(ctx, "error", "reconnect_failed", "WhatsApp не переподключился после разморозки: "+rootMessage(err))
	}
	w.st.FrozenAt = time.Time{}
	if err := w.setStatus(ctx, StatusActive, reason); err != nil {
		return w.st, err
	}
	w.resumeBookings(ctx)
	w.resync = true // the catalogue may have changed while frozen
	return w.active(ctx)
}

// cleanup unlinks the phone and deletes the salon's secrets. It runs on a disconnected
// context so that it completes whatever was interrupted.
func (w *installation) cleanup(ctx workflow.Context) {
	w.cancelPairing()
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), cleanupOptions)
	ref := activities.SalonRef{SalonID: w.st.SalonID}
	if err := workflow.ExecuteActivity(dctx, activities.ActUnlink, ref).Get(dctx, nil); err != nil {
		w.notify(ctx, "warn", "unlink_failed", "Не удалось отвязать WhatsApp: "+rootMessage(err))
	}
	if err := workflow.ExecuteActivity(dctx, activities.ActDeleteSecrets, ref).Get(dctx, nil); err != nil {
		w.notify(ctx, "error", "delete_secrets_failed", "Не удалось удалить секреты салона: "+rootMessage(err))
	}
	w.st.WhatsApp = WhatsAppInfo{}
}

func (w *installation) doUninstall(ctx workflow.Context) (State, error) {
	w.cleanup(ctx)
	if err := w.setStatus(ctx, StatusUninstalled, ReasonUninstalled); err != nil {
		return w.st, err
	}
	w.notify(ctx, "info", "uninstalled", "Приложение удалено из YClients")
	return w.finish(ctx)
}

func (w *installation) doExpire(ctx workflow.Context) (State, error) {
	w.cleanup(ctx)
	if err := w.setStatus(ctx, StatusExpired, ReasonActivationDeadline); err != nil {
		return w.st, err
	}
	w.notify(ctx, "warn", "expired", "Установка не завершена за отведённое время")
	return w.finish(ctx)
}

func (w *installation) doFail(ctx workflow.Context, reason string) (State, error) {
	if w.st.Status != StatusRegistering && w.st.Status != StatusPendingWhatsApp {
		w.cleanup(ctx)
	}
	if err := w.setStatus(ctx, StatusFailed, reason); err != nil {
		return w.st, err
	}
	w.notify(ctx, "error", "failed", "Установка не удалась: "+reason)
	return w.finish(ctx)
}

// finish waits for running update handlers (e.g. the register update) before the run ends.
func (w *installation) finish(ctx workflow.Context) (State, error) {
	err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return w.st, err
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

// rootMessage is the innermost error message, without Temporal's wrapping.
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// newDisconnected returns a context that is not cancelled with ctx, for work that must finish.
func newDisconnected(ctx workflow.Context) workflow.Context {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	return dctx
}
