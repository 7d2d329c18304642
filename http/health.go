package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/workflows"
)

// healthHandler serves liveness, readiness and the operators' view of one installation.
type healthHandler struct {
	ready    []ReadyCheck
	health   HealthSource
	temporal temporalAPI
	log      *slog.Logger
}

// healthz answers as long as the process serves HTTP.
func (h *healthHandler) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz answers Readiness.
func (h *healthHandler) readyz(c *gin.Context) {
	status, body := Readiness(c.Request.Context(), h.ready, h.log)
	c.JSON(status, body)
}

// Readiness runs every check in parallel, each within readyTimeout: 200 with
// {"status":"ready","checks":{name:"ok"|"unavailable"}} when every required check passed
// (an optional one that failed is reported "unavailable"), else 503 with status
// "unavailable" and the failed required checks named in "failed". Error texts are logged,
// not returned: they may describe the infrastructure.
func Readiness(ctx context.Context, ready []ReadyCheck, log *slog.Logger) (int, map[string]any) {
	results := make([]error, len(ready))
	var wg sync.WaitGroup
	for i, rc := range ready {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			results[i] = runCheck(cctx, rc)
		})
	}
	wg.Wait()
	checks := make(map[string]string, len(ready))
	failed := []string{}
	for i, rc := range ready {
		switch {
		case results[i] == nil:
			checks[rc.Name] = "ok"
		case rc.Optional:
			checks[rc.Name] = "unavailable"
			log.Debug("readiness: optional dependency unavailable", slog.String("check", rc.Name), slog.String("error", results[i].Error()))
		default:
			checks[rc.Name] = "failed"
			failed = append(failed, rc.Name)
			log.Warn("readiness check failed", slog.String("check", rc.Name), slog.String("error", results[i].Error()))
		}
	}
	if len(failed) > 0 {
		return http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed, "checks": checks}
	}
	return http.StatusOK, map[string]any{"status": "ready", "checks": checks}
}

// runCheck runs one check and gives up when its context ends, even if the check does not.
func runCheck(ctx context.Context, rc ReadyCheck) error {
	if rc.Check == nil {
		return errors.New("no check function")
	}
	done := make(chan error, 1)
	go func() { done <- rc.Check(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// installationHealth is the admin view: the HealthSource's report with the workflow's state.
type installationHealth struct {
	Health
	Workflow      *workflowView `json:"workflow,omitempty"`
	WorkflowError string        `json:"workflow_error,omitempty"`
}

// workflowView is the JSON form of workflows.State.
type workflowView struct {
	Status       string    `json:"status"`
	Reason       string    `json:"reason,omitempty"`
	Since        time.Time `json:"since,omitzero"`
	SalonName    string    `json:"salon_name,omitempty"`
	Timezone     string    `json:"timezone,omitempty"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	ActivatedAt  time.Time `json:"activated_at,omitzero"`
	FrozenAt     time.Time `json:"frozen_at,omitzero"`
	WhatsApp     struct {
		Phone       string    `json:"phone,omitempty"`
		Name        string    `json:"name,omitempty"`
		ConnectedAt time.Time `json:"connected_at,omitzero"`
	} `json:"whatsapp"`
	Pairing struct {
		Attempt     int    `json:"attempt"`
		Method      string `json:"method,omitempty"`
		Running     bool   `json:"running"`
		LastOutcome string `json:"last_outcome,omitempty"`
		LastError   string `json:"last_error,omitempty"`
	} `json:"pairing"`
	LastSync struct {
		At          time.Time `json:"at,omitzero"`
		Services    int       `json:"services"`
		Staff       int       `json:"staff"`
		Schedules   int       `json:"schedules"`
		Deactivated int       `json:"deactivated"`
		Error       string    `json:"error,omitempty"`
	} `json:"last_sync"`
	WelcomeSent bool `json:"welcome_sent"`
}

func viewOf(st workflows.State) *workflowView {
	v := &workflowView{Status: string(st.Status), Reason: st.Reason, Since: st.Since, SalonName: st.SalonName,
		Timezone: st.Timezone, RegisteredAt: st.RegisteredAt, ActivatedAt: st.ActivatedAt, FrozenAt: st.FrozenAt,
		WelcomeSent: st.WelcomeSent}
	v.WhatsApp.Phone, v.WhatsApp.Name, v.WhatsApp.ConnectedAt = st.WhatsApp.Phone, st.WhatsApp.Name, st.WhatsApp.ConnectedAt
	p := st.Pairing
	v.Pairing.Attempt, v.Pairing.Method, v.Pairing.Running = p.Attempt, p.Method, p.Running
	v.Pairing.LastOutcome, v.Pairing.LastError = string(p.LastOutcome), p.LastError
	s := st.LastSync
	v.LastSync.At, v.LastSync.Services, v.LastSync.Staff = s.At, s.Services, s.Staff
	v.LastSync.Schedules, v.LastSync.Deactivated, v.LastSync.Error = s.Schedules, s.Deactivated, s.Error
	return v
}

// installation reports one salon: 404 when neither the database nor Temporal knows it.
func (h *healthHandler) installation(c *gin.Context) {
	salonID, err := parseSalonID(c.Param("salon_id"))
	if err != nil {
		abort(c, err)
		return
	}
	out := installationHealth{Health: Health{SalonID: salonID, RecentErrors: []HealthError{}}}
	known := false
	if h.health != nil {
		hl, err := h.health.Health(c.Request.Context(), salonID)
		switch {
		case err == nil:
			known = true
			out.Health = hl
			out.SalonID = salonID
			if out.RecentErrors == nil {
				out.RecentErrors = []HealthError{}
			}
		case errors.Is(err, ErrUnknownSalon):
		default:
			abort(c, err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), queryTimeout)
	defer cancel()
	var st workflows.State
	v, err := h.temporal.QueryWorkflow(ctx, workflows.InstallationID(salonID), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	switch {
	case err == nil:
		known = true
		out.Workflow = viewOf(st)
	case workflowNotFound(err):
	case temporalUnavailable(err):
		out.WorkflowError = "temporal unavailable"
		h.log.Warn("health: status query failed", slog.Int64("salonID", salonID), slog.String("error", err.Error()))
	default:
		out.WorkflowError = "status query failed"
		h.log.Warn("health: status query failed", slog.Int64("salonID", salonID), slog.String("error", err.Error()))
	}
	if !known && out.WorkflowError == "" {
		abort(c, fail(kindNotFound, "unknown salon"))
		return
	}
	c.JSON(http.StatusOK, out)
}

// bearerAuth admits requests carrying "Authorization: Bearer <token>" (constant-time compare).
// An empty configured token admits nobody.
func bearerAuth(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="aiadmin"`)
			abort(c, fail(kindUnauthorized, "unauthorized"))
			return
		}
		c.Next()
	}
}
