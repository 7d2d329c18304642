package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

// statusBox holds the last status the feed saw, for the command runner's error texts.
type statusBox struct {
	mu     sync.Mutex
	status workflows.Status
}

func (s *wsSession) setStatus(st workflows.Status) {
	s.status.mu.Lock()
	s.status.status = st
	s.status.mu.Unlock()
}

func (s *wsSession) lastStatus() workflows.Status {
	s.status.mu.Lock()
	defer s.status.mu.Unlock()
	return s.status.status
}

// runCommands runs the page's commands one at a time, off the read pump so that pongs keep
// being read while an update waits for the workflow.
func (s *wsSession) runCommands() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case cmd := <-s.cmds:
			s.runCommand(cmd)
		}
	}
}

func (s *wsSession) runCommand(cmd pageCommand) {
	req, msg := s.pairingRequest(cmd)
	if msg != "" {
		s.sendFrame(errorFrame(msg))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, updateTimeout)
	defer cancel()
	handle, err := s.h.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.InstallationID(s.salonID),
		UpdateName:   workflows.UpdateRequestPairing,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var started workflows.PairingStarted
	if err == nil {
		err = handle.Get(ctx, &started)
	}
	if err != nil {
		if s.ctx.Err() != nil {
			return
		}
		s.log.Info("pairing request failed", slog.String("method", req.Method), slog.String("error", err.Error()))
		s.sendFrame(errorFrame(s.pairingFailureText(err)))
		return
	}
	s.log.Info("pairing requested", slog.String("method", req.Method), slog.Int("attempt", started.Attempt))
	select {
	case s.kick <- started.Attempt:
	default:
	}
}

// pairingRequest turns a page command into a pairing request for this session, or the text
// that refuses it: the page may not pair, the command or the phone is bad, or the salon asked
// for a new QR code moments ago.
func (s *wsSession) pairingRequest(cmd pageCommand) (workflows.PairingRequest, string) {
	if cmd.Type != "request-qr" && cmd.Type != "request-pairing-code" {
		return workflows.PairingRequest{}, textBadCommand
	}
	if !s.claims.Pair {
		return workflows.PairingRequest{}, textNoPairing
	}
	if cmd.Type == "request-pairing-code" {
		phone, err := whatsapp.NormalizePhone(cmd.Phone)
		if err != nil {
			return workflows.PairingRequest{}, textBadPhone
		}
		return workflows.PairingRequest{Method: activities.PairByPhone, Phone: phone, Session: s.claims.session()}, ""
	}
	if ok, _ := s.h.hub.allowRequestQR(s.salonID, s.h.now()); !ok {
		return workflows.PairingRequest{}, textRequestWait
	}
	return workflows.PairingRequest{Method: activities.PairByQR, Session: s.claims.session()}, ""
}

// pairingFailureText explains a failed request-pairing update to the owner. A rejection by the
// workflow's validator is explained from the status the page is in.
func (s *wsSession) pairingFailureText(err error) string {
	var appErr *temporal.ApplicationError
	switch {
	case temporalUnavailable(err):
		return textNoServer
	case workflowNotFound(err):
		return textGone
	case errors.As(err, &appErr):
		switch s.lastStatus() {
		case workflows.StatusRegistering:
			return textRegistering
		case workflows.StatusPendingWhatsApp, workflows.StatusNeedsRelink, "":
			return textTryAgain
		default:
			return textNotPending
		}
	}
	return textTryAgain
}
