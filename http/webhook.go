package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/workflows"
)

// maxWebhookBody bounds the lifecycle webhook's body; the real one is under 200 bytes.
const maxWebhookBody = 64 << 10

// webhookHandler serves the YClients marketplace lifecycle callback.
type webhookHandler struct {
	partnerToken  string
	applicationID int64
	temporal      temporalAPI
	log           *slog.Logger
}

// flexID is an ID that YClients may send as a JSON number or a string.
type flexID int64

func (id *flexID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	s = strings.Trim(s, `"`)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer ID")
	}
	*id = flexID(n)
	return nil
}

// lifecycleEvent is the lifecycle webhook's body. event_type is read too: some senders use it.
type lifecycleEvent struct {
	SalonID       flexID `json:"salon_id"`
	ApplicationID flexID `json:"application_id"`
	Event         string `json:"event"`
	EventType     string `json:"event_type"`
	PartnerToken  string `json:"partner_token"` // secret: never logged
}

// lifecycleSignals maps marketplace events to workflow signals.
var lifecycleSignals = map[string]string{
	"freeze":    workflows.SignalFreeze,
	"unfreeze":  workflows.SignalUnfreeze,
	"uninstall": workflows.SignalUninstall,
	"payment":   workflows.SignalCheckStatus, // YClients sends no unfreeze: a payment means look again
}

func (h *webhookHandler) lifecycle(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody))
	if err != nil {
		abort(c, fail(kindBadRequest, "body too large or unreadable").because(err))
		return
	}
	var ev lifecycleEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		abort(c, fail(kindBadRequest, "malformed JSON").because(err))
		return
	}
	if ev.PartnerToken == "" || h.partnerToken == "" ||
		subtle.ConstantTimeCompare([]byte(ev.PartnerToken), []byte(h.partnerToken)) != 1 {
		abort(c, fail(kindUnauthorized, "invalid partner_token"))
		return
	}
	event := strings.ToLower(strings.TrimSpace(ev.Event))
	if event == "" {
		event = strings.ToLower(strings.TrimSpace(ev.EventType))
	}
	salonID := int64(ev.SalonID)
	log := h.log.With(slog.Int64("salonID", salonID), slog.String("event", event),
		slog.Int64("applicationID", int64(ev.ApplicationID)))
	if ev.ApplicationID != 0 && int64(ev.ApplicationID) != h.applicationID {
		log.Info("lifecycle event for another application ignored")
		c.JSON(http.StatusOK, gin.H{"success": true, "ignored": "other_application"})
		return
	}
	signal, ok := lifecycleSignals[event]
	if !ok {
		log.Warn("unknown lifecycle event ignored")
		c.JSON(http.StatusOK, gin.H{"success": true, "ignored": "unknown_event"})
		return
	}
	if salonID <= 0 {
		abort(c, fail(kindBadRequest, "salon_id must be a positive integer"))
		return
	}

	ctx, cancel := context.WithTimeout(c.Request.Context(), signalTimeout)
	defer cancel()
	err = h.temporal.SignalWorkflow(ctx, workflows.InstallationID(salonID), "", signal, struct{}{})
	switch {
	case err == nil:
		log.Info("lifecycle event delivered", slog.String("signal", signal))
		c.JSON(http.StatusOK, gin.H{"success": true})
	case workflowNotFound(err):
		// No open installation: nothing to freeze or uninstall. YClients must not retry.
		log.Info("lifecycle event for unknown salon ignored")
		c.JSON(http.StatusOK, gin.H{"success": true, "ignored": "unknown_salon"})
	default:
		// Not delivered: answer 5xx so that YClients tries again.
		abort(c, fail(kindUnavailable, "temporarily unavailable").because(err))
	}
}
