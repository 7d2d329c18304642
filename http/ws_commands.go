package httpapi

import (
	"context"
	"encoding/json"
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

// pageCommand is a message from the page, as parsePageCommand returns it.
type pageCommand struct {
	Type  string `json:"type"`            // cmdRequestQR or cmdRequestPairingCode
	Phone string `json:"phone,omitempty"` // request-pairing-code: E.164 digits; personal data, never logged
	// Attempt is the newest pairing attempt the page had seen (its last status frame's): a
	// request repeated before the page saw the attempt it started gets that attempt back.
	Attempt int `json:"attempt,omitempty"`
}

// The commands a page sends.
const (
	cmdRequestQR          = "request-qr"
	cmdRequestPairingCode = "request-pairing-code"
)

// Why parsePageCommand refuses a message; pageCommandText tells the owner.
var (
	errUnreadableCommand = errors.New("page command is not a JSON object of strings")
	errUnknownCommand    = errors.New("unknown page command")
	errCommandPhone      = errors.New("page command: invalid phone")
)

// parsePageCommand decodes one message from the connect page: a JSON object whose type is
// request-qr, or request-pairing-code with the salon's phone as people write it, which is
// normalised here (whatsapp.NormalizePhone), and the attempt the page had seen (a
// non-negative number; anything else reads as 0). The phone of any other command is dropped.
func parsePageCommand(data []byte) (pageCommand, error) {
	var cmd pageCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		return pageCommand{}, errUnreadableCommand
	}
	seen := max(cmd.Attempt, 0)
	switch cmd.Type {
	case cmdRequestQR:
		return pageCommand{Type: cmdRequestQR, Attempt: seen}, nil
	case cmdRequestPairingCode:
		phone, err := whatsapp.NormalizePhone(cmd.Phone)
		if err != nil {
			return pageCommand{}, errCommandPhone
		}
		return pageCommand{Type: cmdRequestPairingCode, Phone: phone, Attempt: seen}, nil
	}
	return pageCommand{}, errUnknownCommand
}

// pageCommandText is what the page is told about a message parsePageCommand refused.
func pageCommandText(err error) string {
	switch {
	case errors.Is(err, errCommandPhone):
		return textBadPhone
	case errors.Is(err, errUnknownCommand):
		return textBadCommand
	}
	return textUnreadable
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

// pairingRequest turns a parsed page command into a pairing request for this session, or the
// text that refuses it: the page may not pair, or the salon asked for a new QR code moments ago.
func (s *wsSession) pairingRequest(cmd pageCommand) (workflows.PairingAsk, string) {
	if !s.claims.Pair {
		return workflows.PairingAsk{}, textNoPairing
	}
	if cmd.Type == cmdRequestPairingCode {
		return workflows.PairingAsk{Seen: cmd.Attempt, PairingRequest: workflows.PairingRequest{
			Method: activities.PairByPhone, Phone: cmd.Phone, Session: s.claims.session()}}, ""
	}
	if ok, _ := s.h.hub.allowRequestQR(s.salonID, s.h.now()); !ok {
		return workflows.PairingAsk{}, textRequestWait
	}
	return workflows.PairingAsk{Seen: cmd.Attempt, PairingRequest: workflows.PairingRequest{
		Method: activities.PairByQR, Session: s.claims.session()}}, ""
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
