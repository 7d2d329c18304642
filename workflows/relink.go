package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// SearchAttrWhatsAppState shows the salon's WhatsApp link state to operators.
var SearchAttrWhatsAppState = SearchAttrKeyword("WhatsAppState")

// linkEventsChange guards the handling of link-state signals, added after installations were
// running: runs that started before it ignore those signals on replay.
const linkEventsChange = "2026-11-29-link-events"

// ReasonPhoneUnlinked is recorded with needs_relink.
const ReasonPhoneUnlinked = "phone_unlinked"

// handleLinkEvents applies the queued link events; it reports whether the phone unlinked the
// device, so that the installation must be re-linked.
func (w *installation) handleLinkEvents(ctx workflow.Context) (relink bool, err error) {
	for len(w.linkEvents) > 0 {
		ev := w.linkEvents[0]
		w.linkEvents = w.linkEvents[1:]
		if workflow.GetVersion(ctx, linkEventsChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			continue
		}
		w.st.Link = LinkInfo{State: ev.State, Reason: ev.Reason, Until: ev.Until, Since: workflow.Now(ctx)}
		if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrWhatsAppState.ValueSet(ev.State)); err != nil {
			return false, err
		}
		workflow.SetCurrentDetails(ctx, w.summary())
		switch ev.State {
		case "logged_out":
			relink = true
		case "replaced":
			w.notify(ctx, "error", "stream_replaced",
				"Сессию WhatsApp открыл другой процесс (stream replaced): переподключения не будет, проверьте воркеры")
		case "temp_banned":
			w.notify(ctx, "error", "temp_banned", "WhatsApp временно заблокировал номер; отправка приостановлена до "+
				ev.Until.UTC().Format("2006-01-02 15:04")+" UTC")
		case "restricted":
			w.notify(ctx, "warn", "restricted", "WhatsApp ограничил отправку новым контактам (463)")
		case "disconnected", "degraded":
			if ev.Reason != "" {
				w.notify(ctx, "warn", "link_"+ev.State, "WhatsApp: "+ev.Reason)
			}
		}
	}
	return relink, nil
}

// doRelink is entered when the phone unlinked the device: the owner gets a re-link link and
// ops an alert; sending pauses until the owner pairs again.
func (w *installation) doRelink(ctx workflow.Context) (State, error) {
	w.st.WhatsApp = WhatsAppInfo{}
	w.st.Pairing = PairingState{Attempt: w.st.Pairing.Attempt} // a fresh start for the connect page
	w.recordPhone = true
	if err := w.setStatus(ctx, StatusNeedsRelink, ReasonPhoneUnlinked); err != nil {
		return w.st, err
	}
	w.notify(ctx, "error", "needs_relink", "Телефон салона отвязал WhatsApp: владельцу отправлена ссылка для повторной привязки")
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), cleanupOptions)
	if err := workflow.ExecuteActivity(dctx, activities.ActNotifyRelink, activities.SalonRef{SalonID: w.st.SalonID}).Get(dctx, nil); err != nil {
		w.notify(ctx, "error", "relink_notice_failed", "Не удалось отправить владельцу ссылку для привязки: "+rootMessage(err))
	}
	return w.relinkWait(ctx)
}

// relinkWait waits, without a deadline, for the owner to pair again from the re-link page;
// then the installation is active again and paused messages go out (paced, only those still
// relevant: the booking workflows re-check every few minutes until each message's deadline).
func (w *installation) relinkWait(ctx workflow.Context) (State, error) {
	err := w.awaitPairing(ctx, time.Time{})
	if errors.Is(err, errInterrupted) {
		return w.doUninstall(ctx)
	}
	if err != nil {
		return w.st, err
	}
	w.st.Link = LinkInfo{State: "linked", Since: workflow.Now(ctx)}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrWhatsAppState.ValueSet("linked")); err != nil {
		return w.st, err
	}
	w.recordPhone = true
	if err := w.setStatus(ctx, StatusActive, ""); err != nil {
		return w.st, err
	}
	w.notify(ctx, "info", "relinked", "WhatsApp снова привязан")
	w.resumeBookings(ctx)
	return w.active(ctx)
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
