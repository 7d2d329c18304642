package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/workflows"
)

// registerHandler serves the marketplace redirect: the owner clicked «Подключить» (or opened
// the app) in YClients.
type registerHandler struct {
	cfg      Config
	temporal temporalAPI
	salons   SalonDirectory
	sessions sessions
	pages    *pages
	cabinet  *cabinetHandler // nil: no cabinet, the connect page shows every status
	log      *slog.Logger
}

// register binds the redirect to its salon before anything else happens: user_data is signed
// by YClients but salon_id is not, so the signed salon name must name the company YClients
// returns for salon_id. Only then is the installation started or attached to. A page may pair
// WhatsApp only while YClients reports the integration as not yet active and, for an
// installation already pairing, only for the YClients user who started it. The page of an
// installation past pairing only shows its status, so it does not ask YClients for the
// integration's: an owner who waits for the salon to be set up and opens the page again costs
// no YClients call (the company is kept for minutes), where a wave of owners would otherwise
// spend the cluster's YClients budget on reloads instead of their salons' setup. Nor does the
// page of an installation that is pairing: it was started while YClients had not activated
// the integration, and YClients activates it only on that installation's own callback, after
// pairing, so the status is known (see ownStatus).
func (h *registerHandler) register(c *gin.Context) {
	salonID, err := marketplaceSalonID(c)
	if err != nil {
		abort(c, err)
		return
	}
	ud, err := verifyUserData(c.Query("user_data"), c.Query("user_data_sign"), h.cfg.PartnerToken, h.cfg.RequireSignedUserData)
	if err != nil {
		abort(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), h.timeout())
	defer cancel()
	company, err := h.bind(ctx, salonID, ud)
	if q := asQueued(err); q != nil {
		// The owner waits in the queue: the status's read, which a salon not yet pairing
		// needs next, is booked now too, in the turn the company's read kept for it right
		// after its own (not behind the owners who came meanwhile), and is made once the
		// company's answer is in.
		if st := h.open(ctx, salonID); !pastPairing(st) && ownStatus(st) == "" {
			q.Ready = later(q.Ready, h.salons.QueueIntegration(ctx, salonID))
		}
		h.queued(c, salonID, q)
		return
	}
	if err != nil {
		abort(c, err)
		return
	}
	salon := SalonInfo{Company: company}
	st := h.open(ctx, salonID)
	if !pastPairing(st) {
		salon.Integration = ownStatus(st)
		if salon.Integration == "" {
			salon.Integration, err = h.salons.Integration(ctx, salonID)
		}
		if q := asQueued(err); q != nil {
			h.queued(c, salonID, q)
			return
		}
		if err != nil {
			abort(c, yclientsFailure(err))
			return
		}
		if st, err = h.installation(ctx, salonID, ud, salon); errors.Is(err, errRegistering) {
			h.log.Warn("registering page issued: Temporal did not finish the registration in time",
				slog.Int64("salonID", salonID), slog.String("error", err.Error()))
			h.pages.renderRegistering(c, registeringRefresh)
			return
		}
		if err != nil {
			abort(c, err)
			return
		}
	}
	pair := salon.pairable() && (st.Status == workflows.StatusRegistering || st.Status == workflows.StatusPendingWhatsApp)
	token, err := h.sessions.issue(sessionClaims{SalonID: salonID, Install: st.InstallID, UserID: ud.user(), Pair: pair}, sessionTTL)
	if err != nil {
		abort(c, err)
		return
	}
	if h.cabinet != nil && cabinetStatus(st.Status) {
		h.log.Info("cabinet issued", slog.Int64("salonID", salonID), slog.String("status", string(st.Status)))
		h.cabinet.show(c, st, token, h.pages.supportURL)
		return
	}
	h.log.Info("connect page issued", slog.Int64("salonID", salonID), slog.String("status", string(st.Status)),
		slog.Bool("pairing", pair))
	name := st.SalonName
	if name == "" {
		name = company.Title
	}
	h.pages.renderConnect(c, connectData{SalonID: salonID, SalonName: name, SalonPhone: st.SalonPhone, Token: token,
		Status: string(st.Status), Message: pageMessage(st, pair)})
}

// bind reads the salon's company from YClients and checks that the signed redirect is for
// it. A kept company whose title does not match is read again (the salon may have been
// renamed), at most once in companyRecheck.
func (h *registerHandler) bind(ctx context.Context, salonID int64, ud userData) (*activities.KnownCompany, error) {
	company, err := h.salons.Company(ctx, salonID, companyTTL)
	if err == nil && ud.signed && !sameSalonName(ud.SalonName, company.Title) {
		company, err = h.salons.Company(ctx, salonID, companyRecheck)
	}
	if asQueued(err) != nil {
		return nil, err
	}
	if err != nil {
		return nil, yclientsFailure(err)
	}
	if ud.signed && !sameSalonName(ud.SalonName, company.Title) {
		return nil, fail(kindForbidden, "user_data is signed for another salon").withPage(
			"Ссылка не подходит к этому салону",
			"Ссылка из YClients выписана для другого салона.",
			"Откройте AI Admin из маркетплейса YClients в том салоне, который хотите подключить.")
	}
	return company, nil
}

// queued shows the owner the page of a salon waiting its turn in the cluster's YClients
// budget: it comes back by itself when the salon's reads are due (q.Ready), and the
// connection goes on from there.
func (h *registerHandler) queued(c *gin.Context, salonID int64, q *QueuedError) {
	wait := max(time.Until(q.Ready), minQueuedRefresh)
	h.log.Info("queue page issued", slog.Int64("salonID", salonID), slog.Duration("ready", wait.Round(time.Second)))
	h.pages.renderQueued(c, wait)
}

// minQueuedRefresh is the shortest time before the queue page comes back.
const minQueuedRefresh = 2 * time.Second

// open returns the state of the salon's open installation, or the zero State when there is
// none (or Temporal did not answer in openTimeout).
func (h *registerHandler) open(ctx context.Context, salonID int64) workflows.State {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	st, err := h.query(ctx, salonID)
	if err != nil || st.InstallID == "" || st.Status.Closed() {
		return workflows.State{}
	}
	return st
}

// openTimeout bounds open's query: a Temporal slow to answer leaves the page the usual way
// (the integration's status, then the register update), with the rest of registerTimeout.
const openTimeout = 3 * time.Second

// pastPairing reports whether the open installation st is past pairing (connected, being set
// up, active, frozen, or waiting for a re-link, which has its own link): its page shows that
// state and may not pair, whatever YClients says of the integration.
func pastPairing(st workflows.State) bool {
	return st.InstallID != "" && st.Status != workflows.StatusRegistering && st.Status != workflows.StatusPendingWhatsApp
}

// integrationPending is YClients' status of an integration installed in the marketplace and
// not yet activated by our callback.
const integrationPending = "pending"

// ownStatus is the integration's status in YClients as the open installation st knows it, or
// "" when it does not. An installation pairing WhatsApp knows it: it was started only while
// YClients had not activated the integration (installation), and YClients activates it only
// on that installation's callback, which follows pairing. (An uninstall in YClients closes
// the installation.) Whether this owner may pair is the register update's to say.
func ownStatus(st workflows.State) string {
	if st.InstallID != "" && st.Status == workflows.StatusPendingWhatsApp {
		return integrationPending
	}
	return ""
}

// yclientsFailure maps a failed read of the salon from YClients to a page.
func yclientsFailure(err error) error {
	switch {
	case errors.Is(err, ErrUnknownSalon):
		return fail(kindNotFound, "salon not found").withPage("Салон не найден",
			"YClients не нашёл салон, для которого вы подключаете AI Admin, или не дал к нему доступ.",
			"Проверьте, что вы вошли в YClients под владельцем салона, и подключите приложение из маркетплейса ещё раз.")
	case errors.Is(err, yclients.ErrBudgetDeadline), errors.Is(err, context.DeadlineExceeded):
		// Not YClients failing: our cluster-wide budget of YClients requests has a queue longer
		// than even the queue page waits (yclients.QueueHorizon), or its turn came too late.
		return fail(kindUnavailable, "yclients request budget queue too long").because(err).withPage(
			"Сейчас подключается много салонов",
			"YClients разрешает нам лишь несколько запросов в секунду, и очередь до вашего салона ещё не дошла.",
			"Нажмите «Обновить» через несколько минут: подключение продолжится с того же места.")
	}
	return fail(kindUnavailable, "yclients unavailable").because(err).withPage("YClients не отвечает",
		"Мы не смогли получить данные салона из YClients.",
		"Подождите минуту и нажмите «Подключить» в маркетплейсе YClients ещё раз.")
}

// installation starts the salon's installation, or attaches to the running one, and returns
// its state. A salon whose integration YClients reports as already installed gets no new
// installation: its page only shows the status.
func (h *registerHandler) installation(ctx context.Context, salonID int64, ud userData, salon SalonInfo) (workflows.State, error) {
	if !salon.pairable() {
		st, err := h.query(ctx, salonID)
		if workflowNotFound(err) {
			return st, fail(kindConflict, "installed in yclients without an installation").withPage(
				"AI Admin уже подключён",
				"YClients считает приложение подключённым, но мы не нашли его установку у себя.",
				"Напишите в поддержку AI Admin, мы поможем восстановить подключение.")
		}
		if err != nil {
			return st, registerFailure(err)
		}
		return st, nil
	}
	st, err := h.startOrAttach(ctx, salonID, ud.user(), salon.Company)
	if closing(st, err) {
		// The run we reached was ending (e.g. an uninstall was being processed): give it a
		// moment to close, then start the next run, once.
		select {
		case <-ctx.Done():
		case <-time.After(retryAfterClose):
		}
		st, err = h.startOrAttach(ctx, salonID, ud.user(), salon.Company)
	}
	if err != nil {
		return st, registerFailure(err)
	}
	return st, closedInstallation(st)
}

// pageMessage is the text the page shows first.
func pageMessage(st workflows.State, pair bool) string {
	if st.Status == workflows.StatusNeedsRelink && !pair {
		return "WhatsApp салона отключён. Откройте ссылку для повторной привязки, которую мы прислали владельцу."
	}
	return statusMessage(st)
}

// closedInstallation explains an installation that ended before the owner could pair: the
// salon unknown to YClients, YClients not answering, or a previous installation closing.
func closedInstallation(st workflows.State) error {
	switch {
	case st.Status == workflows.StatusFailed && st.Reason == workflows.ReasonSalonNotFound:
		return fail(kindNotFound, "salon not found").withPage("Салон не найден",
			"YClients не нашёл салон, для которого вы подключаете AI Admin, или не дал к нему доступ.",
			"Проверьте, что вы вошли в YClients под владельцем салона, и подключите приложение из маркетплейса ещё раз.")
	case st.Status == workflows.StatusFailed && st.Reason == workflows.ReasonYClientsUnavailable:
		return fail(kindUnavailable, "yclients unavailable").withPage("YClients не отвечает",
			"Мы не смогли получить данные салона из YClients.",
			"Подождите минуту и нажмите «Подключить» в маркетплейсе YClients ещё раз.")
	case st.Status.Closed():
		return fail(kindConflict, "installation closed: "+string(st.Status)).withPage("Подключение ещё не готово",
			"Предыдущая установка AI Admin для этого салона ещё закрывается.",
			"Подождите минуту и откройте AI Admin из маркетплейса YClients ещё раз.")
	}
	return nil
}

// retryAfterClose is the pause before registering again on a run that was just closing.
const retryAfterClose = 500 * time.Millisecond

// closing reports whether the register step reached a run that is ending: its state is closed
// (a failed lookup of the salon is a real answer, not a race) or the run completed before the
// update did.
func closing(st workflows.State, err error) bool {
	if err != nil {
		return workflowNotFound(err)
	}
	return st.Status.Closed() && st.Reason != workflows.ReasonSalonNotFound
}

// startOrAttach runs the register update on the salon's workflow, starting the workflow when no
// run is open. Two clicks on «Подключить» reach the same run: the conflict policy attaches to a
// running workflow, the reuse policy starts a new run after a closed one.
func (h *registerHandler) startOrAttach(ctx context.Context, salonID, userID int64, company *activities.KnownCompany) (workflows.State, error) {
	id := workflows.InstallationID(salonID)
	start := h.temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                h.taskQueue(),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(salonID, 10)),
			workflows.SearchAttrInstallStatus.ValueSet(string(workflows.StatusRegistering)),
		),
		Priority: workflows.OwnerWaiting, // the owner waits on this page, then on the connect page
	}, workflows.InstallationWorkflowName, workflows.InstallationInput{SalonID: salonID, Timings: h.cfg.Timings, Company: company})

	handle, err := h.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			WorkflowID:   id,
			UpdateName:   workflows.UpdateRegister,
			Args:         []any{workflows.RegisterRequest{Source: "marketplace", UserID: userID}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.State{}, err
	}
	var st workflows.State
	err = handle.Get(ctx, &st)
	return st, err
}

// query reads the installation's state.
func (h *registerHandler) query(ctx context.Context, salonID int64) (workflows.State, error) {
	var st workflows.State
	v, err := h.temporal.QueryWorkflow(ctx, workflows.InstallationID(salonID), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	return st, err
}

// timeout is the register request's deadline: Config.RegisterTimeout, within registerTimeout
// (the server's write timeout is set for it).
func (h *registerHandler) timeout() time.Duration {
	if t := h.cfg.RegisterTimeout; t > 0 && t < registerTimeout {
		return t
	}
	return registerTimeout
}

// registeringRefresh is when the page of a salon whose registration Temporal has not finished
// in time opens itself again.
const registeringRefresh = 5 * time.Second

// notFinishedInTime reports whether err means Temporal did not answer by the deadline (an
// update still waiting for the workflow, a deadline, a rate limit), as opposed to a Temporal
// whose client fails at once (unreachable from the start). The SDK retries a connection lost
// later until the deadline and then reports the update's timeout too, so such a Temporal also
// gets the page that comes back.
func notFinishedInTime(err error) bool {
	var late *client.WorkflowUpdateServiceTimeoutOrCanceledError
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	return errors.As(err, &late) || errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.Is(err, context.DeadlineExceeded)
}

func (h *registerHandler) taskQueue() string {
	if h.cfg.TaskQueue != "" {
		return h.cfg.TaskQueue
	}
	return workflows.TaskQueue
}

// errRegistering wraps a register step Temporal did not finish in time: it was busy, not
// unreachable. The owner's page comes back by itself (renderRegistering) and asks again.
var errRegistering = errors.New("registration not finished in time")

// registerFailure maps a Temporal failure of the register step to a page.
func registerFailure(err error) error {
	if notFinishedInTime(err) {
		return fmt.Errorf("%w: %w", errRegistering, err)
	}
	if temporalUnavailable(err) {
		return &apiError{kind: kindUnavailable, err: err}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeOtherOwner {
		return fail(kindForbidden, "installation started by another yclients user").because(err).withPage(
			"Подключение уже начато",
			"Подключение AI Admin к этому салону начал другой пользователь YClients.",
			"Попросите его закончить подключение, или подождите час: незаконченное подключение закроется само.")
	}
	if errors.As(err, &appErr) || workflowNotFound(err) {
		return fail(kindInternal, "register failed").because(err).withPage("Подключение не удалось",
			"Мы не смогли зарегистрировать салон.",
			"Попробуйте ещё раз через минуту: откройте AI Admin из маркетплейса YClients и нажмите «Подключить».")
	}
	// Connection refused and the like surface as wrapped gRPC errors: Temporal is unreachable.
	return &apiError{kind: kindUnavailable, err: err}
}
