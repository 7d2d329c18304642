package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// linkEventsChange guards the handling of link-state signals, added after installations were
// running: runs that started before it ignore those signals on replay.
const linkEventsChange = "2026-11-29-link-events"

// ChangeResumeOnLink versions resuming the paused messages when WhatsApp is linked again
// after a disconnect, a ban or a restriction (they wait for a resume, not polling).
const ChangeResumeOnLink = "2026-12-02-resume-on-link"

// handleLinkEvents applies the queued link events; it reports whether the phone unlinked the
// device, so that the installation must be re-linked.
func (w *installation) handleLinkEvents(ctx workflow.Context) (relink bool, err error) {
	for len(w.linkEvents) > 0 {
		ev := w.linkEvents[0]
		w.linkEvents = w.linkEvents[1:]
		if workflow.GetVersion(ctx, linkEventsChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			continue
		}
		recovered := ev.State == whatsapp.StateLinked && w.st.Link.State != "" && w.st.Link.State != whatsapp.StateLinked
		w.st.Link = LinkInfo{State: ev.State, Reason: ev.Reason, Until: ev.Until, Since: workflow.Now(ctx)}
		if recovered && w.st.Status == StatusActive &&
			workflow.GetVersion(ctx, ChangeResumeOnLink, workflow.DefaultVersion, 1) == 1 {
			w.resumeBookings(ctx) // messages paused while WhatsApp was down go now
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrWhatsAppState.ValueSet(string(ev.State))); err != nil {
			return false, err
		}
		workflow.SetCurrentDetails(ctx, w.summary())
		if ev.State == whatsapp.StateLoggedOut {
			relink = true
			continue
		}
		w.alertLinkEvent(ctx, ev)
	}
	return relink, nil
}

// alertLinkEvent tells operators about a link problem that needs no re-link.
func (w *installation) alertLinkEvent(ctx workflow.Context, ev LinkEvent) {
	switch ev.State {
	case whatsapp.StateReplaced:
		w.notify(ctx, "error", "stream_replaced",
			"Сессию WhatsApp открыл другой процесс (stream replaced): переподключения не будет, проверьте воркеры")
	case whatsapp.StateTempBanned:
		w.notify(ctx, "error", "temp_banned", "WhatsApp временно заблокировал номер; отправка приостановлена до "+
			ev.Until.UTC().Format("2006-01-02 15:04")+" UTC")
	case whatsapp.StateRestricted:
		w.notify(ctx, "warn", "restricted", "WhatsApp ограничил отправку новым контактам (463)")
	case whatsapp.StateDisconnected, whatsapp.StateDegraded:
		if ev.Reason != "" {
			w.notify(ctx, "warn", "link_"+string(ev.State), "WhatsApp: "+ev.Reason)
		}
	}
}

// toNeedsRelink is entered when the phone unlinked the device: the owner gets a re-link link
// and ops an alert; sending pauses until the owner pairs again.
func (w *installation) toNeedsRelink(ctx workflow.Context) (Status, error) {
	w.st.WhatsApp = WhatsAppInfo{}
	w.st.Pairing = PairingState{Attempt: w.st.Pairing.Attempt} // a fresh start for the connect page
	w.st.RelinkGen++
	w.recordPhone = true
	if err := w.setStatus(ctx, StatusNeedsRelink, ReasonPhoneUnlinked); err != nil {
		return w.st.Status, err
	}
	w.notify(ctx, "error", "needs_relink", "Телефон салона отвязал WhatsApp: владельцу отправлена ссылка для повторной привязки")
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), cleanupOptions)
	notice := activities.RelinkInput{SalonID: w.st.SalonID, InstallID: w.st.InstallID, Generation: w.st.RelinkGen}
	if err := workflow.ExecuteActivity(dctx, activities.ActNotifyRelink, notice).Get(dctx, nil); err != nil {
		w.notify(ctx, "error", "relink_notice_failed", "Не удалось отправить владельцу ссылку для привязки: "+rootMessage(err))
	}
	return w.st.Status, nil
}

// needsRelink waits, without a deadline, for the owner to pair again from the re-link page;
// then the installation is active again and paused messages go out (paced, only those still
// relevant).
func (w *installation) needsRelink(ctx workflow.Context) (Status, error) {
	err := w.awaitPairing(ctx, time.Time{})
	if errors.Is(err, errInterrupted) {
		return w.toUninstalled(ctx)
	}
	if errors.Is(err, errFrozen) {
		return w.toFrozen(ctx)
	}
	if err != nil {
		return w.st.Status, err
	}
	w.st.Link = LinkInfo{State: whatsapp.StateLinked, Since: workflow.Now(ctx)}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrWhatsAppState.ValueSet(string(whatsapp.StateLinked))); err != nil {
		return w.st.Status, err
	}
	w.recordPhone = true
	if err := w.setStatus(ctx, StatusActive, ""); err != nil {
		return w.st.Status, err
	}
	w.notify(ctx, "info", "relinked", "WhatsApp снова привязан")
	w.resumeBookings(ctx)
	return w.st.Status, nil
}

// resumeChange guards telling booking workflows to resume after an unfreeze or a re-link.
const resumeChange = "2026-11-29-resume-bookings"

// resumeBookings tells the salon's booking workflows they can send again.
func (w *installation) resumeBookings(ctx workflow.Context) {
	if workflow.GetVersion(ctx, resumeChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), cleanupOptions)
	if err := workflow.ExecuteActivity(dctx, activities.ActResumeBookings, activities.ResumeInput{
		SalonID: w.st.SalonID, WorkflowType: BookingWorkflowName, Signal: SignalResume}).Get(dctx, nil); err != nil {
		w.notify(ctx, "warn", "resume_failed", "Не удалось возобновить ожидающие сообщения: "+rootMessage(err))
	}
}
