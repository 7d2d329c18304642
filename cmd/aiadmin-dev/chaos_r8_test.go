package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/workflows"
)

// runR8 (uninstall): the app uninstalled in YClients during pairing, during the first sync,
// during a send, and twice in a row → each installation in a clean terminal state: its run
// ended uninstalled (one run), the phone unlinked, the secrets deleted, no workflow of the
// salon left running (no timers), nothing sent after the uninstall.
func runR8(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	cases := []struct {
		name string
		run  func(*testing.T, *chaosSalon) time.Time // returns when it uninstalled
	}{
		{"during pairing", s.uninstallDuringPairing},
		{"during sync", s.uninstallDuringSync},
		{"during a send", s.uninstallDuringSend},
		{"twice", s.uninstallTwice},
	}
	var lines, dirty []string
	for _, c := range cases {
		sl := s.addSalons(1)[0]
		at := c.run(t, sl)
		var left []string
		s.await(t, 30*time.Second, "R8: "+c.name+": a terminal state", func() (bool, string) {
			left = s.leftovers(sl, at)
			return len(left) == 0, strings.Join(left, "; ")
		})
		if len(left) == 0 {
			lines = append(lines, c.name+": clean")
		} else {
			lines = append(lines, fmt.Sprintf("%s: %s", c.name, strings.Join(left, "; ")))
			dirty = append(dirty, fmt.Sprintf("uninstall %s, salon %d: %s", c.name, sl.ID, strings.Join(left, "; ")))
		}
	}
	report(t, "R8: uninstall %s; in %s", strings.Join(lines, "; "), time.Since(began).Round(time.Second))
	require.Empty(t, dirty, "installations not cleanly uninstalled")
}

// uninstall plays the owner removing the app in YClients: the fake's lifecycle webhook.
func (s *chaosSuite) uninstall(t *testing.T, salon int64) time.Time {
	res, err := s.fake.Lifecycle(context.Background(), salon, "uninstall")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.WebhookStatus, "the uninstall webhook answered: %+v", res)
	return time.Now()
}

func (s *chaosSuite) uninstallDuringPairing(t *testing.T, sl *chaosSalon) time.Time {
	token, err := s.openConnectPage(sl.ID)
	require.NoError(t, err)
	public := s.c.Addrs.PublicURL
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(public, "http")+"/ws/connect?token="+token,
		http.Header{"Origin": {public}})
	require.NoError(t, err)
	resp.Body.Close()
	defer conn.Close()
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	awaitFrame(t, conn, "qr", nil) // the pairing attempt runs, its codes on the page
	return s.uninstall(t, sl.ID)
}

func (s *chaosSuite) uninstallDuringSync(t *testing.T, sl *chaosSalon) time.Time {
	// The services list answers 10 s late: the first sync is under way for that long.
	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{PathPrefix: fmt.Sprintf("/api/v1/company/%d/services", sl.ID), DelayMS: 10_000}))
	defer s.fake.ClearFaults()
	since := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.installOwner(ctx, sl, false) }()
	s.waitUntil(t, 2*time.Minute, "R8: the first sync under way", func() (bool, string) {
		st, err := s.installState(sl.ID)
		if err != nil || st.Status != workflows.StatusActive || !st.LastSync.At.IsZero() {
			return false, fmt.Sprintf("status %s, last sync %v (%v)", st.Status, st.LastSync.At, err)
		}
		for _, r := range s.apiLog.since(since) {
			if r.Path == fmt.Sprintf("/api/v1/company/%d/services", sl.ID) {
				return true, ""
			}
		}
		return false, "active, the services not asked for yet"
	})
	cancel() // the owner leaves the page: nobody registers again
	<-done
	time.Sleep(time.Second)
	return s.uninstall(t, sl.ID)
}

func (s *chaosSuite) uninstallDuringSend(t *testing.T, sl *chaosSalon) time.Time {
	require.Empty(t, s.installAll([]*chaosSalon{sl}, 1, 2*time.Minute, nil), "install")
	// The deliver activity re-reads the record from YClients just before sending (from the
	// list of its day's changes): that read answers 8 s late, so the send is under way for
	// that long.
	path := fmt.Sprintf("/api/v1/records/%d", sl.ID)
	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{PathPrefix: path, DelayMS: 8_000}))
	defer s.fake.ClearFaults()
	since := time.Now()
	_, err := s.book(sl, 3, 1)
	require.NoError(t, err)
	s.waitUntil(t, time.Minute, "R8: the confirmation's send under way", func() (bool, string) {
		for _, r := range s.apiLog.since(since) {
			if r.Path == path {
				return true, ""
			}
		}
		return false, "the record not read yet"
	})
	return s.uninstall(t, sl.ID)
}

func (s *chaosSuite) uninstallTwice(t *testing.T, sl *chaosSalon) time.Time {
	require.Empty(t, s.installAll([]*chaosSalon{sl}, 1, 2*time.Minute, nil), "install")
	at := s.uninstall(t, sl.ID)
	s.uninstall(t, sl.ID)
	return at
}

// leftovers lists what an uninstalled salon still has that it should not.
func (s *chaosSuite) leftovers(sl *chaosSalon, uninstalled time.Time) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []string
	runs, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf(`WorkflowId = %q`, workflows.InstallationID(sl.ID))})
	switch {
	case err != nil:
		out = append(out, "runs: "+err.Error())
	case len(runs.Executions) != 1:
		out = append(out, fmt.Sprintf("%d runs of the installation, want 1", len(runs.Executions)))
	}
	var st workflows.State
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, workflows.InstallationID(sl.ID), "")
	switch {
	case err != nil:
		out = append(out, "installation: "+err.Error())
	case desc.WorkflowExecutionInfo.Status != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		out = append(out, "installation "+desc.WorkflowExecutionInfo.Status.String())
	case s.temporal.GetWorkflow(ctx, workflows.InstallationID(sl.ID), "").Get(ctx, &st) != nil || st.Status != workflows.StatusUninstalled:
		out = append(out, fmt.Sprintf("installation ended %s, want uninstalled", st.Status))
	}
	if wa, err := s.sim.Phone().Status(ctx, sl.ID); err != nil || wa.Phone != "" {
		out = append(out, fmt.Sprintf("phone still linked (%s)", wa.State))
	}
	for _, c := range s.sim.Connections() {
		if c.SalonID == sl.ID {
			out = append(out, "a worker still holds the salon's WhatsApp connection")
		}
	}
	if _, err := s.store.GetSalonSecrets(ctx, sl.ID); !db.IsNotFound(err) {
		out = append(out, fmt.Sprintf("secrets not deleted (%v)", err))
	}
	running, err := s.runningOf(ctx, sl.ID)
	if err != nil {
		out = append(out, "running workflows: "+err.Error())
	} else if len(running) > 0 {
		var why []string
		for _, id := range running {
			why = append(why, id+" ("+s.whyRunning(ctx, id)+")")
		}
		out = append(out, fmt.Sprintf("%d workflows still running (timers left): %s", len(running), strings.Join(why, ", ")))
	}
	for _, m := range s.sim.Messages(sl.ID) {
		if m.At.After(uninstalled.Add(time.Second)) {
			out = append(out, "a message sent after the uninstall: "+readMessage(m.Text).kind)
		}
	}
	return out
}

// runningOf lists the salon's workflows still running: its installation, bookings and client
// welcomes.
func (s *chaosSuite) runningOf(ctx context.Context, salon int64) ([]string, error) {
	var out []string
	var token []byte
	for {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: `ExecutionStatus = "Running"`, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.Executions {
			id := e.Execution.WorkflowId
			if id == workflows.InstallationID(salon) || strings.HasPrefix(id, fmt.Sprintf("booking-%d-", salon)) ||
				strings.HasPrefix(id, fmt.Sprintf("client-welcome-%d-", salon)) {
				out = append(out, id)
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return out, nil
		}
	}
}

// whyRunning says what a running workflow waits for: its pending activities, and the last
// reason the workers logged for a message of it waiting.
func (s *chaosSuite) whyRunning(ctx context.Context, id string) string {
	var parts []string
	if desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		for _, a := range desc.PendingActivities {
			parts = append(parts, fmt.Sprintf("activity %s attempt %d", a.ActivityType.GetName(), a.Attempt))
		}
	}
	if rec := id[strings.LastIndex(id, "-")+1:]; strings.HasPrefix(id, "booking-") {
		reason := ""
		_ = s.logLines(func(_ string, _ int, line string) {
			if strings.Contains(line, "message waits") && strings.Contains(line, "recordID="+rec+" ") {
				if i := strings.Index(line, "reason="); i >= 0 {
					reason = line[i+len("reason="):]
				}
			}
		})
		if reason != "" {
			parts = append(parts, "its message paused: "+reason+", rechecked every 5 min until its deadline")
		}
	}
	if len(parts) == 0 {
		return "waiting on a timer"
	}
	return strings.Join(parts, "; ")
}
