package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/workflows"
)

// The tests in this file drive the workflows through the paths that the happy-path tests do not
// reach: fired timers (resync, frozen poll, activation expiry, both reminders, the booking's
// linger), a resume signal, the failed and expired ends, and continue-as-new. Each asserts the
// outcome; with AIADMIN_RECORD_HISTORY set they also record the histories that the replay tests
// in workflows/ then hold every change of the workflow code against.

// historyOf returns a workflow run's events; none while the workflow does not exist yet.
func (s *stack) historyOf(workflowID, runID string) []*history.HistoryEvent {
	iter := s.app.Temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*history.HistoryEvent
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil
		}
		out = append(out, ev)
	}
	return out
}

// countEvents counts the run's events that match.
func (s *stack) countEvents(workflowID, runID string, match func(*history.HistoryEvent) bool) int {
	n := 0
	for _, ev := range s.historyOf(workflowID, runID) {
		if match(ev) {
			n++
		}
	}
	return n
}

func timerFired(ev *history.HistoryEvent) bool {
	return ev.GetEventType() == enums.EVENT_TYPE_TIMER_FIRED
}

func activityScheduled(name string) func(*history.HistoryEvent) bool {
	return func(ev *history.HistoryEvent) bool {
		a := ev.GetActivityTaskScheduledEventAttributes()
		return a != nil && a.GetActivityType().GetName() == name
	}
}

// waitRun waits for the workflow's current run to close and returns its run ID.
func (s *stack) waitRun(workflowID string) string {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		_, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		return err == nil
	}, 20*time.Second, 50*time.Millisecond, "%s exists", workflowID)
	run := s.app.Temporal.GetWorkflow(context.Background(), workflowID, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(s.t, run.Get(ctx, nil), "%s completes", workflowID)
	return run.GetRunID()
}

// record writes a run's history under name when AIADMIN_RECORD_HISTORY is set.
func (s *stack) record(t *testing.T, workflowID, runID, name string) {
	recordWorkflowHistory(t, s.app.Temporal, workflowID, runID, name)
}

// bookRecord makes a booking in the fake YClients for salon, local time given as
// "2006-01-02 15:04:05" in the salon's zone.
func (s *stack) bookRecord(salon int64, local string) yclientsfake.Record {
	s.t.Helper()
	rec, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(s.t, s.fake, salon),
		ServiceIDs: []int64{serviceOf(s.t, s.fake, salon)}, Client: &yclientsfake.ClientInput{Name: "Анна", Phone: clientPhone},
		Datetime: local})
	require.NoError(s.t, err)
	return rec
}

// TestTimersFreezePollAndResume: the resync timer fires while active; while frozen the status
// poll fires and a booking's confirmation waits; the payment event unfreezes the salon, the
// resume signal releases the confirmation at once; cancel and uninstall close both runs.
func TestTimersFreezePollAndResume(t *testing.T) {
	s := newStackWith(t, func(c *config.Config) {
		c.Timings = workflows.Timings{ResyncEvery: 2 * time.Second, FrozenPollEvery: 2 * time.Second}
	})
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	installID := workflows.InstallationID(salon)
	require.Eventually(t, func() bool {
		return s.countEvents(installID, "", activityScheduled(activities.ActSync)) >= 2
	}, 20*time.Second, 100*time.Millisecond, "the resync timer fires and syncs again")

	s.lifecycle(s.cfg.YClientsBaseURL, "freeze")
	s.waitStatus(workflows.StatusFrozen)
	require.Eventually(t, func() bool {
		return s.countEvents(installID, "", activityScheduled(activities.ActIntegrationStatus)) >= 1
	}, 20*time.Second, 100*time.Millisecond, "the frozen poll fires and reads the integration status")

	_, local := localIn(t, "Europe/Moscow", 3, "14:30")
	rec := s.bookRecord(salon, local)
	bookingID := workflows.BookingID(salon, rec.ID)
	require.Eventually(t, func() bool {
		return s.countEvents(bookingID, "", activityScheduled(activities.ActSend)) >= 1
	}, 20*time.Second, 100*time.Millisecond, "the confirmation tried once and waits for the salon")
	require.Empty(t, s.clientTexts(salon), "nothing is sent while frozen")

	s.lifecycle(s.cfg.YClientsBaseURL, "unfreeze")
	s.waitStatus(workflows.StatusActive)
	texts := s.waitClientTexts(salon, 1)
	require.Contains(t, texts[0], "Вы записаны")
	require.Equal(t, 1, s.countEvents(bookingID, "", func(ev *history.HistoryEvent) bool {
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		return a != nil && a.GetSignalName() == workflows.SignalResume
	}), "one resume signal")

	require.NoError(t, s.fake.DeleteRecord(salon, rec.ID, 1))
	s.waitClientTexts(salon, 2)
	s.record(t, bookingID, s.waitRun(bookingID), "booking-"+t.Name())
	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	runID := s.waitRun(installID)
	require.Equal(t, workflows.StatusUninstalled, s.state().Status)
	s.record(t, installID, runID, "installation-"+t.Name())
}

// TestActivationDeadlineExpires: nobody scans; at the activation deadline the installation
// expires, its pairing attempt is cancelled and the salon's leftovers are cleaned up.
func TestActivationDeadlineExpires(t *testing.T) {
	s := newStackWith(t, func(c *config.Config) { c.Timings = workflows.Timings{ActivationDeadline: 3 * time.Second} })
	token := s.install(s.cfg.YClientsBaseURL)
	conn := s.dial(token)
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	next(t, conn, "qr", nil)
	installID := workflows.InstallationID(s.moscow)
	runID := s.waitRun(installID)
	var st workflows.State
	require.NoError(t, s.app.Temporal.GetWorkflow(context.Background(), installID, runID).Get(context.Background(), &st))
	require.Equal(t, workflows.StatusExpired, st.Status)
	require.Equal(t, workflows.ReasonActivationDeadline, st.Reason)
	require.Empty(t, s.fake.Callbacks(), "never activated")
	require.Positive(t, s.countEvents(installID, runID, activityScheduled(activities.ActUnlink)))
	s.record(t, installID, runID, "installation-"+t.Name())
}

// signedRegisterURL is the registration redirect YClients would send for salonID, signed with
// the partner token.
func (s *stack) signedRegisterURL(salonID int64, salonName string) string {
	data := fmt.Sprintf(`{"id":42,"name":"Владелец","salon_name":%q}`, salonName)
	mac := hmac.New(sha256.New, []byte(s.cfg.YClientsPartnerToken))
	mac.Write([]byte(data))
	q := url.Values{"salon_id": {fmt.Sprint(salonID)}, "user_data": {base64.URLEncoding.EncodeToString([]byte(data))},
		"user_data_sign": {hex.EncodeToString(mac.Sum(nil))}}
	return s.cfg.PublicURL + "/marketplace/register?" + q.Encode()
}

// TestInstallationFailures: a salon YClients does not know is refused before any workflow
// starts; an activation YClients refuses (401) fails after pairing, and the linked phone is
// unlinked.
func TestInstallationFailures(t *testing.T) {
	s := newStack(t)
	unknown := s.moscow + 7
	resp, err := s.http.Get(s.signedRegisterURL(unknown, "Нет такого"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, string(body), "Салон не найден")
	_, err = s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflows.InstallationID(unknown), "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "no workflow for a salon YClients does not know")

	require.NoError(t, s.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", Status: 401, Count: 1}))
	token := s.install(s.cfg.YClientsBaseURL)
	conn := s.dial(token)
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	next(t, conn, "qr", nil)
	s.scan()
	installID := workflows.InstallationID(s.moscow)
	runID := s.waitRun(installID)
	var st workflows.State
	require.NoError(t, s.app.Temporal.GetWorkflow(context.Background(), installID, runID).Get(context.Background(), &st))
	require.Equal(t, workflows.StatusFailed, st.Status)
	require.Positive(t, s.countEvents(installID, runID, activityScheduled(activities.ActUnlink)), "the phone is unlinked")
	s.record(t, installID, runID, "installation-"+t.Name()+"-activation")
}

// planSoon answers plan-reminders (and the plan send-message brings along) with both
// reminders a few seconds ahead, so that their timers fire while the test watches; the rest of
// the workflow's path is the product's own.
type planSoon struct {
	interceptor.WorkerInterceptorBase
}

func (*planSoon) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &planSoonActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type planSoonActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *planSoonActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	now := time.Now().UTC()
	soon := []activities.ReminderPlan{
		{Kind: texts.ReminderDay, At: now.Add(2 * time.Second), Deadline: now.Add(time.Hour)},
		{Kind: texts.Reminder2h, At: now.Add(4 * time.Second), Deadline: now.Add(time.Hour)},
	}
	switch activity.GetInfo(ctx).ActivityType.Name {
	case activities.ActPlanReminders:
		return activities.PlanRemindersOutput{Reminders: soon}, nil
	case activities.ActSend: // a confirmation or change notice brings the plan along
		out, err := a.Next.ExecuteActivity(ctx, in)
		if so, ok := out.(activities.SendOutput); ok && err == nil && len(so.Reminders) > 0 {
			so.Reminders = soon
			return so, nil
		}
		return out, err
	}
	return a.Next.ExecuteActivity(ctx, in)
}

// TestRemindersFire: both reminders' timers fire and each reminder goes out once.
func TestRemindersFire(t *testing.T) {
	s := newStackAt(t, temporalAddr(t), func(su *stackSetup) {
		su.interceptors = []interceptor.WorkerInterceptor{&planSoon{}}
	})
	salon := s.moscow
	s.activate(salon)
	s.noPacingNoQuiet(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "14:30")
	rec := s.bookRecord(salon, local)
	got := s.waitClientTexts(salon, 3)
	require.Contains(t, got[0], "Вы записаны")
	bookingID := workflows.BookingID(salon, rec.ID)
	require.Eventually(t, func() bool { return len(s.booking(salon, rec.ID).Messages) == 3 }, 10*time.Second, 20*time.Millisecond)
	outcomes := map[texts.Kind]ledger.Outcome{}
	for _, m := range s.booking(salon, rec.ID).Messages {
		outcomes[m.Kind] = m.Outcome
	}
	require.Equal(t, map[texts.Kind]ledger.Outcome{texts.Confirmation: ledger.Sent, texts.ReminderDay: ledger.Sent,
		texts.Reminder2h: ledger.Sent}, outcomes)
	require.GreaterOrEqual(t, s.countEvents(bookingID, "", timerFired), 2, "both reminder timers fired")
	require.NoError(t, s.fake.DeleteRecord(salon, rec.ID, 1))
	s.waitClientTexts(salon, 4)
	s.record(t, bookingID, s.waitRun(bookingID), "booking-"+t.Name())
}

func temporalAddr(t *testing.T) string {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	return addr
}

// TestBookingLingersAfterTheVisit: a booking made for a visit that has just begun is not
// confirmed (its moment passed: nothing is even tried) and the workflow ends when the linger
// after the visit runs out.
func TestBookingLingersAfterTheVisit(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	s.activate(salon)
	loc, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	start := time.Now().In(loc).Add(-2 * time.Hour).Add(4 * time.Second).Truncate(time.Second)
	rec := s.bookRecord(salon, start.Format("2006-01-02 15:04:05"))
	bookingID := workflows.BookingID(salon, rec.ID)
	runID := s.waitRun(bookingID)
	require.Equal(t, 1, s.countEvents(bookingID, runID, timerFired), "the linger timer fired")
	st := s.booking(salon, rec.ID)
	require.Empty(t, st.Messages, "nothing to tell of a visit already begun")
	require.Zero(t, s.countEvents(bookingID, runID, activityScheduled(activities.ActSend)), "no send tried")
	s.record(t, bookingID, runID, "booking-"+t.Name())
}

// TestContinueAsNew runs on a Temporal server that suggests continue-as-new after a few dozen
// events: the installation continues as new once active and keeps working; a booking with
// nothing in flight continues as new after duplicate deliveries.
func TestContinueAsNew(t *testing.T) {
	temporalAddr(t)
	srv := startTemporal(t, map[string]any{"limit.historyCount.suggestContinueAsNew": 40})
	s := newStackAt(t, srv)
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	installID := workflows.InstallationID(salon)
	var firstRun string
	require.Eventually(t, func() bool {
		desc, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), installID, "")
		if err != nil {
			return false
		}
		firstRun = desc.WorkflowExecutionInfo.GetFirstRunId()
		return firstRun != desc.WorkflowExecutionInfo.Execution.RunId
	}, 20*time.Second, 100*time.Millisecond, "the installation continued as new")
	require.Equal(t, workflows.StatusActive, s.state().Status)
	s.record(t, installID, firstRun, "installation-"+t.Name())

	loc, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	rec := s.bookRecord(salon, time.Now().In(loc).Add(time.Hour).Format("2006-01-02 15:04:05"))
	s.waitClientTexts(salon, 1)
	bookingID := workflows.BookingID(salon, rec.ID)
	var bookingFirst string
	for i := 0; ; i++ {
		require.Less(t, i, 20, "the booking continues as new")
		// The visit marked confirmed and back: a signal to the booking each time (a comment
		// alone costs none now), no message to the client.
		attendance := 2 * ((i + 1) % 2)
		_, err := s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Attendance: &attendance, Duplicates: 2})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)
		desc, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), bookingID, "")
		require.NoError(t, err)
		if first := desc.WorkflowExecutionInfo.GetFirstRunId(); first != desc.WorkflowExecutionInfo.Execution.RunId {
			bookingFirst = first
			break
		}
	}
	s.record(t, bookingID, bookingFirst, "booking-"+t.Name())
	require.NoError(t, s.fake.DeleteRecord(salon, rec.ID, 1))
	s.record(t, bookingID, s.waitRun(bookingID), "booking-"+t.Name()+"-continued")
	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	s.record(t, installID, s.waitRun(installID), "installation-"+t.Name()+"-continued")
}

// startTemporal starts a private in-memory Temporal dev server with extra dynamic config and
// returns its address.
func startTemporal(t *testing.T, dynamic map[string]any) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	conf, err := os.ReadFile(filepath.Join(root, "temporal-dev.yaml"))
	require.NoError(t, err)
	var dc strings.Builder
	for k, v := range dynamic {
		fmt.Fprintf(&dc, "    %s: %v\n", k, v)
	}
	text := strings.Replace(string(conf), "  dynamicConfig:\n", "  dynamicConfig:\n"+dc.String(), 1)
	require.NotEqual(t, string(conf), text, "temporal-dev.yaml has a dynamicConfig line")
	path := filepath.Join(t.TempDir(), "temporal.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	p := &temporalProcess{t: t, bin: filepath.Join(root, "bin", "temporal-dev"), conf: path, db: ":memory:", addr: freeAddr(t)}
	p.start()
	t.Cleanup(p.stop)
	c, err := client.Dial(client.Options{HostPort: p.addr})
	require.NoError(t, err)
	c.Close()
	return p.addr
}
