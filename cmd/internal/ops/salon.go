package ops

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
	"github.com/aiadmin/aiadmin/workflows"
)

// callTimeout bounds one call to Temporal or PostgreSQL.
const callTimeout = 10 * time.Second

// installationState asks the salon's installation workflow for its state.
func installationState(ctx context.Context, e *env, salonID int64) (workflows.State, error) {
	tc, err := e.tc()
	if err != nil {
		return workflows.State{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var st workflows.State
	v, err := tc.QueryWorkflow(ctx, workflows.InstallationID(salonID), "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return st, fmt.Errorf("salon %d: no installation workflow (%s): %w", salonID, workflows.InstallationID(salonID), errNoWorkflow)
	}
	if err != nil {
		return st, fmt.Errorf("status query of %s: %w", workflows.InstallationID(salonID), err)
	}
	return st, nil
}

var errNoWorkflow = errors.New("not found")

// resync signals the installation to sync the catalogue now.
func resync(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("resync", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	salonID, err := salonArg("resync", pos)
	if err != nil {
		return err
	}
	st, err := installationState(ctx, e, salonID)
	if err != nil {
		return err
	}
	if st.Status.Closed() {
		return fmt.Errorf("salon %d: the installation is %s: nothing to sync", salonID, st.Status)
	}
	tc, _ := e.tc()
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	id := workflows.InstallationID(salonID)
	if err := tc.SignalWorkflow(sctx, id, "", workflows.SignalResync, struct{}{}); err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	if *asJSON {
		return printJSON(e.out, map[string]any{"salon_id": salonID, "workflow_id": id, "signal": workflows.SignalResync, "status": st.Status})
	}
	fmt.Fprintf(e.out, "resync requested: %s (status %s); its last sync: %s\n", id, st.Status, syncText(st.LastSync))
	if st.Status != workflows.StatusActive {
		fmt.Fprintf(e.out, "note: the installation syncs only while active; it will sync when it is\n")
	}
	return nil
}

// relinkLink prints a fresh signed re-link link: what the owner got when the phone unlinked
// WhatsApp, for support to pass on when that one is lost or expired.
func relinkLink(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("relink-link", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	ttl := fs.Duration("ttl", activities.RelinkTTL, "how long the link opens the connect page")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	salonID, err := salonArg("relink-link", pos)
	if err != nil {
		return err
	}
	st, err := installationState(ctx, e, salonID)
	if err != nil {
		return err
	}
	if st.Status != workflows.StatusNeedsRelink {
		return fmt.Errorf("salon %d: the installation is %s, not %s: a re-link link opens nothing now "+
			"(the owner pairs from the marketplace app card)", salonID, st.Status, workflows.StatusNeedsRelink)
	}
	now := time.Now()
	link, err := httpapi.RelinkURL(e.cfg.PublicURL, e.cfg.SessionSecret,
		httpapi.RelinkLink{SalonID: salonID, InstallID: st.InstallID, Generation: st.RelinkGen}, *ttl, now)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.out, map[string]any{"salon_id": salonID, "url": link, "expires_at": now.Add(*ttl).UTC()})
	}
	fmt.Fprintf(e.out, "Re-link link for salon %d (valid until %s, spent once the owner pairs again):\n%s\n",
		salonID, now.Add(*ttl).UTC().Format(time.RFC3339), link)
	return nil
}

// statusView is status's JSON.
type statusView struct {
	SalonID  int64                `json:"salon_id"`
	Workflow *workflowStatus      `json:"workflow,omitempty"`
	Company  *companyView         `json:"database,omitempty"`
	Inbox    *httpapi.InboxHealth `json:"inbox,omitempty"`
	Alerts   []alertView          `json:"recent_alerts"`
	Problems []string             `json:"problems,omitempty"` // what could not be read
}

type workflowStatus struct {
	ID          string          `json:"id"`
	Execution   string          `json:"execution"` // running, completed, …
	State       workflows.State `json:"state"`
	LastMessage *time.Time      `json:"last_message_at,omitempty"`
}

type companyView struct {
	Title         string     `json:"title"`
	Timezone      string     `json:"timezone"`
	InstallStatus string     `json:"install_status"`
	InstallReason string     `json:"install_reason,omitempty"`
	WhatsAppPhone string     `json:"whatsapp_phone,omitempty"`
	LastSyncAt    *time.Time `json:"last_sync_at,omitempty"`
	LastSyncError string     `json:"last_sync_error,omitempty"`
	LastMessageAt *time.Time `json:"last_message_at,omitempty"`
}

// status reports an installation from Temporal (the workflow's state) and the database (the
// salon's row, its inbox and alerts); what cannot be read is said, not fatal.
func status(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	salonID, err := salonArg("status", pos)
	if err != nil {
		return err
	}
	v := statusView{SalonID: salonID, Alerts: []alertView{}}
	if st, err := installationState(ctx, e, salonID); err == nil {
		v.Workflow = &workflowStatus{ID: workflows.InstallationID(salonID), State: st, Execution: execution(ctx, e, salonID)}
	} else if !errors.Is(err, errNoWorkflow) {
		v.Problems = append(v.Problems, err.Error())
	}
	if err := readCompany(ctx, e, &v); err != nil {
		v.Problems = append(v.Problems, err.Error())
	}
	if v.Workflow == nil && v.Company == nil && len(v.Problems) == 0 {
		return fmt.Errorf("salon %d: unknown (no installation workflow, no row in the database)", salonID)
	}
	if *asJSON {
		return printJSON(e.out, v)
	}
	printStatus(e.out, v)
	return nil
}

// execution is the run's execution status (running, completed, …), "" when unknown.
func execution(ctx context.Context, e *env, salonID int64) string {
	tc, _ := e.tc()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	d, err := tc.DescribeWorkflowExecution(ctx, workflows.InstallationID(salonID), "")
	if err != nil {
		return ""
	}
	s := d.GetWorkflowExecutionInfo().GetStatus()
	if s == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
		return ""
	}
	return map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING: "running", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED: "completed",
		enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: "failed", enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED: "canceled",
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated", enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued-as-new",
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timed-out",
	}[s]
}

// readCompany fills the database's part of the status.
func readCompany(ctx context.Context, e *env, v *statusView) error {
	store, err := e.db(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c, err := store.GetCompany(ctx, v.SalonID)
	switch {
	case db.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("database: %w", err)
	default:
		cv := &companyView{Title: c.Title, Timezone: c.Timezone, InstallStatus: c.InstallStatus, InstallReason: c.InstallReason}
		if c.WhatsappPhone != nil {
			cv.WhatsAppPhone = *c.WhatsappPhone
		}
		if run, err := store.LastSyncRun(ctx, v.SalonID); err == nil {
			cv.LastSyncAt, cv.LastSyncError = run.FinishedAt, run.Error
		}
		if m, err := store.LastSentMessage(ctx, v.SalonID); err == nil {
			cv.LastMessageAt = m.SentAt
		}
		v.Company = cv
	}
	if counts, err := store.InboxHealth(ctx, v.SalonID); err == nil && (counts.Pending > 0 || counts.Dead > 0 || v.Company != nil) {
		v.Inbox = &httpapi.InboxHealth{Pending: counts.Pending, Dead: counts.Dead}
		if counts.Pending > 0 {
			if at, err := store.OldestPendingInbox(ctx, v.SalonID); err == nil {
				v.Inbox.OldestPendingAt = &at
			}
		}
	}
	salon := v.SalonID
	rows, err := store.ListOpsAlerts(ctx, sqlc.ListOpsAlertsParams{SalonID: &salon, MaxRows: 5})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	for _, a := range rows {
		v.Alerts = append(v.Alerts, viewAlert(a))
	}
	return nil
}
