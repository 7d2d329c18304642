package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// activationOnceChange guards the activation of one installation run (runs from before it keep
// the old path): the activity is told the run (InstallID), so every retry sends the secrets made
// once for it; a cancelled activation is waited for (it may be calling YClients back); and when
// the deadline passes, YClients' integration status is read before the installation expires.
const activationOnceChange = "2026-12-02-activation-once"

// activate runs the activation callback within the activation deadline. When the deadline
// passes meanwhile, the activation has ended (activateOptions waits for the cancellation): if
// YClients took one of its callbacks just before, the integration is active with this run's
// secrets in place, and the installation goes on instead of expiring and deleting them.
func (w *installation) activate(ctx workflow.Context, out *activities.ActivateOutput) error {
	ref := activities.SalonRef{SalonID: w.st.SalonID}
	if workflow.GetVersion(ctx, activationOnceChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return w.execFreezable(ctx, yclientsOptions, w.deadline(), activities.ActActivate, ref, out)
	}
	in := activities.ActivateInput{SalonID: w.st.SalonID, InstallID: w.st.InstallID}
	err := w.execFreezable(ctx, activateOptions, w.deadline(), activities.ActActivate, in, out)
	if err == nil && out.NoWebhookSecret {
		w.notify(ctx, "error", "webhook_secret_missing", "YClients считает интеграцию активной, но секрета вебхука "+
			"салона нет: записи из YClients не будут приниматься. Переустановите приложение в YClients.")
	}
	if !errors.Is(err, errExpired) {
		return err
	}
	var st activities.IntegrationStatusOutput
	serr := w.exec(ctx, deadlineStatusOptions, time.Time{}, activities.ActIntegrationStatus, ref, &st)
	switch {
	case errors.Is(serr, errInterrupted):
		return serr
	case serr != nil || st.Status != "active":
		return errExpired
	}
	*out = activities.ActivateOutput{AlreadyActive: true}
	w.notify(ctx, "warn", "activated_late",
		"YClients подтвердил подключение после срока активации: установка продолжается")
	return nil
}
