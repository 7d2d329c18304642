package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/workflows"
)

// registerHandler serves the marketplace redirect: the owner clicked «Подключить» in YClients.
type registerHandler struct {
	cfg      Config
	temporal temporalAPI
	sessions sessions
	pages    *pages
	log      *slog.Logger
	now      func() time.Time
}

// userData is the part of the signed user_data we use.
type userData struct {
	SalonName string `json:"salon_name"`
}

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

	ctx, cancel := context.WithTimeout(c.Request.Context(), registerTimeout)
	defer cancel()
	st, runID, err := h.startOrAttach(ctx, salonID)
	if closing(st, err) {
		// The run we reached was ending (e.g. an uninstall was being processed): give it a
		// moment to close, then start the next run, once.
		select {
		case <-ctx.Done():
		case <-time.After(retryAfterClose):
		}
		st, runID, err = h.startOrAttach(ctx, salonID)
	}
	if err != nil {
		abort(c, registerFailure(err))
		return
	}
	if err := closedInstallation(st); err != nil {
		abort(c, err)
		return
	}

	token, err := h.sessions.issue(salonID, runID)
	if err != nil {
		abort(c, err)
		return
	}
	name := st.SalonName
	if name == "" {
		name = ud.SalonName
	}
	h.log.Info("connect page issued", slog.Int64("salonID", salonID), slog.String("runID", runID),
		slog.String("status", string(st.Status)))
	h.pages.renderConnect(c, connectData{
		SalonID:    salonID,
		SalonName:  name,
		SalonPhone: st.SalonPhone,
		Token:      token,
		Status:     string(st.Status),
		Message:    statusMessage(st),
	})
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
func (h *registerHandler) startOrAttach(ctx context.Context, salonID int64) (workflows.State, string, error) {
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
	}, workflows.InstallationWorkflowName, workflows.InstallationInput{SalonID: salonID, Timings: h.cfg.Timings})

	handle, err := h.temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			WorkflowID:   id,
			UpdateName:   workflows.UpdateRegister,
			Args:         []any{workflows.RegisterRequest{Source: "marketplace"}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.State{}, "", err
	}
	var st workflows.State
	if err := handle.Get(ctx, &st); err != nil {
		return workflows.State{}, "", err
	}
	runID := handle.RunID()
	if runID == "" {
		if run, err := start.Get(ctx); err == nil {
			runID = run.GetRunID()
		}
	}
	return st, runID, nil
}

func (h *registerHandler) taskQueue() string {
	if h.cfg.TaskQueue != "" {
		return h.cfg.TaskQueue
	}
	return workflows.TaskQueue
}

// registerFailure maps a Temporal failure of the register step to a page.
func registerFailure(err error) error {
	if temporalUnavailable(err) {
		return &apiError{kind: kindUnavailable, err: err}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) || workflowNotFound(err) {
		return fail(kindInternal, "register failed").because(err).withPage("Подключение не удалось",
			"Мы не смогли зарегистрировать салон.",
			"Попробуйте ещё раз через минуту: откройте AI Admin из маркетплейса YClients и нажмите «Подключить».")
	}
	// Connection refused and the like surface as wrapped gRPC errors: Temporal is unreachable.
	return &apiError{kind: kindUnavailable, err: err}
}

// marketplaceSalonID reads the salon from salon_id, or from the array forms salon_ids[0] and
// salon_ids[] that YClients also sends.
func marketplaceSalonID(c *gin.Context) (int64, error) {
	raw, ok := c.GetQuery("salon_id")
	if !ok {
		raw, ok = c.GetQuery("salon_ids[0]")
	}
	if !ok {
		raw, ok = c.GetQuery("salon_ids[]")
	}
	if !ok || strings.TrimSpace(raw) == "" {
		return 0, fail(kindBadRequest, "salon_id is required")
	}
	id, err := parseSalonID(raw)
	if err != nil {
		return 0, err
	}
	return id, nil
}

// parseSalonID accepts a positive decimal ID.
func parseSalonID(raw string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(kindBadRequest, "salon_id must be a positive integer")
	}
	return id, nil
}

// verifyUserData checks user_data_sign: lowercase hex HMAC-SHA256, keyed by the partner token,
// over the base64-decoded user_data (YClients uses the URL-safe alphabet with padding; the
// standard alphabet and unpadded forms are accepted too). Without user_data the redirect passes
// only when signed data is not required.
func verifyUserData(data, sign, partnerToken string, required bool) (userData, error) {
	var ud userData
	if data == "" {
		if required {
			return ud, fail(kindForbidden, "signed user_data is required")
		}
		return ud, nil
	}
	if sign == "" {
		return ud, fail(kindForbidden, "user_data_sign is missing")
	}
	raw, err := decodeBase64Any(data)
	if err != nil {
		return ud, fail(kindForbidden, "user_data is not base64").because(err)
	}
	got, err := hex.DecodeString(sign)
	if err != nil || partnerToken == "" {
		return ud, fail(kindForbidden, "user_data_sign is invalid")
	}
	mac := hmac.New(sha256.New, []byte(partnerToken))
	mac.Write(raw)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ud, fail(kindForbidden, "user_data_sign is invalid")
	}
	_ = json.Unmarshal(raw, &ud) // signed by YClients; fields we cannot read stay empty
	return ud, nil
}

// decodeBase64Any decodes standard or URL-safe base64, padded or not. A '+' that arrived
// unescaped in a query string has become a space; it is put back.
func decodeBase64Any(s string) ([]byte, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+")
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	return b, nil
}
