package workflows

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// bookingHarness runs the booking workflow with time skipping; deliveries are recorded
// with the workflow time they happened at.
type bookingHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	loc *time.Location

	mu        sync.Mutex
	delivered []delivery
	paused    func(in activities.DeliverInput) bool
	ledger    map[string]ledger.Outcome // send-message's ledger: kind/visit/seq → outcome
	sends     int                       // send-message calls
	activated time.Time                 // the salon's activation, carried by eventAt
	ended     bool                      // the installation has ended: send-message skips
	noWorker  int                       // send-message calls that find no worker (schedule-to-start timeout)
	queues    []string                  // the task queue of each send-message call
}

type delivery struct {
	Kind  texts.Kind
	Start time.Time
	Prev  time.Time
	At    time.Time
}

func newBookingHarness(t *testing.T, zone string) *bookingHarness {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &bookingHarness{t: t, env: suite.NewTestWorkflowEnvironment(), loc: loc,
		paused: func(activities.DeliverInput) bool { return false }}
	h.env.SetTestTimeout(30 * time.Second)
	h.env.RegisterWorkflowWithOptions(Booking, workflow.RegisterOptions{Name: BookingWorkflowName})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanRemindersInput) (activities.PlanRemindersOutput, error) {
		return activities.PlanRemindersOutput{Reminders: activities.ReminderTimes(in.Start, in.Now, loc, 18,
			activities.QuietHours{From: 21 * 60, To: 9 * 60})}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanReminders})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanSendInput) (activities.PlanSendOutput, error) {
		return activities.PlanSendOutput{SendAt: in.Earliest}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanSend})
	h.env.RegisterActivityWithOptions(func(_ context.Context, in activities.DeliverInput) (activities.DeliverOutput, error) {
		if h.paused(in) {
			return activities.DeliverOutput{Outcome: ledger.Paused}, nil
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.delivered = append(h.delivered, delivery{Kind: in.Kind, Start: in.Visit.Start, Prev: in.PrevStart,
			At: h.env.Now()})
		return activities.DeliverOutput{Outcome: ledger.Sent}, nil
	}, activity.RegisterOptions{Name: activities.ActDeliver})
	h.env.RegisterActivityWithOptions(h.send, activity.RegisterOptions{Name: activities.ActSend})
	return h
}

// send stands in for send-message: the ledger's exactly-once by key, the deadline, a paused
// salon, the reminder plan on request.
func (h *bookingHarness) send(ctx context.Context, in activities.SendInput) (activities.SendOutput, error) {
	var out activities.SendOutput
	if in.Plan {
		out.Reminders = activities.ReminderTimes(in.Visit.Start, h.env.Now(), h.loc, 18, activities.QuietHours{From: 21 * 60, To: 9 * 60})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sends++
	h.queues = append(h.queues, activity.GetInfo(ctx).TaskQueue)
	if h.noWorker > 0 {
		h.noWorker--
		return out, temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START, nil)
	}
	key := fmt.Sprintf("%s/%s/%d", in.Kind, in.Visit.Start.UTC().Format(time.RFC3339), in.Seq)
	if h.ledger == nil {
		h.ledger = map[string]ledger.Outcome{}
	}
	switch {
	case h.ledger[key] != "":
		out.Outcome, out.Reason = h.ledger[key], "already "+string(h.ledger[key])
	case h.ended:
		out.Outcome, out.Reason = ledger.Skipped, "salon uninstalled"
	case !h.env.Now().Before(in.Deadline):
		out.Outcome, out.Reason = ledger.Skipped, "expired"
		h.ledger[key] = out.Outcome
	case h.paused(in.DeliverInput):
		out.Outcome = ledger.Paused
	default:
		out.Outcome = ledger.Sent
		h.ledger[key] = out.Outcome
		h.delivered = append(h.delivered, delivery{Kind: in.Kind, Start: in.Visit.Start, Prev: in.PrevStart, At: h.env.Now()})
	}
	return out, nil
}

func (h *bookingHarness) local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, h.loc)
	require.NoError(h.t, err)
	return t
}

func (h *bookingHarness) visit(start time.Time, staff int64, services ...int64) activities.Visit {
	return activities.Visit{Start: start, StaffID: staff, StaffName: "Оксана", ServiceIDs: services,
		Services: []string{"Стрижка"}, ClientName: "Анна", ClientPhone: "79990001122"}
}

var inboxSeq int64

func (h *bookingHarness) event(at time.Duration, status string, v activities.Visit) {
	inboxSeq++
	id := inboxSeq
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalRecordEvent, RecordEvent{InboxID: id, Status: status, Visit: v,
			ReceivedAt: h.env.Now()})
	}, at)
}

func (h *bookingHarness) run(startedAt time.Time) BookingState {
	h.env.SetStartTime(startedAt)
	h.env.ExecuteWorkflow(BookingWorkflowName, BookingInput{SalonID: 100001, RecordID: 555})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var st BookingState
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st
}

func (h *bookingHarness) kinds() []texts.Kind {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []texts.Kind
	for _, d := range h.delivered {
		out = append(out, d.Kind)
	}
	return out
}

func (h *bookingHarness) at(kind texts.Kind) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.delivered {
		if d.Kind == kind {
			return d.At.In(h.loc)
		}
	}
	h.t.Fatalf("no %s delivered; got %v", kind, h.delivered)
	return time.Time{}
}

func TestBookingConfirmationAndRemindersAtSalonTime(t *testing.T) {
	for _, zone := range []string{"Europe/Moscow", "Asia/Vladivostok", "Europe/Kaliningrad"} {
		t.Run(zone, func(t *testing.T) {
			h := newBookingHarness(t, zone)
			created := h.local("2026-12-10 10:00")
			h.event(time.Second, "create", h.visit(h.local("2026-12-12 14:30"), 7, 1, 2))
			st := h.run(created)
			require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
			require.Equal(t, h.local("2026-12-10 10:00").Add(time.Second), h.at(texts.Confirmation))
			require.Equal(t, h.local("2026-12-11 18:00"), h.at(texts.ReminderDay), "day before at 18:00 salon time")
			require.Equal(t, h.local("2026-12-12 12:30"), h.at(texts.Reminder2h), "2 h before, salon time")
			require.False(t, st.Cancelled)
		})
	}
}

func TestBookingDuplicateAndPriceOnlyUpdatesSendNothing(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	v := h.visit(h.local("2026-12-12 14:30"), 7, 1, 2)
	h.event(time.Second, "create", v)
	for i := 0; i < 4; i++ { // YClients has sent one change as 4 updates
		h.event(time.Minute+time.Duration(i)*time.Second, "update", v)
	}
	renamed := v
	renamed.Services = []string{"Стрижка (новая цена)"}
	h.event(2*time.Minute, "update", renamed) // price-only edit: same services, same time
	h.run(h.local("2026-12-10 10:00"))
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
}

func TestBookingRescheduleSendsOneChangeAndReArmsReminders(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	oldStart, newStart := h.local("2026-12-12 14:30"), h.local("2026-12-15 11:00")
	h.event(time.Second, "create", h.visit(oldStart, 7, 1))
	moved := h.visit(newStart, 7, 1)
	for i := 0; i < 4; i++ {
		h.event(time.Hour+time.Duration(i)*time.Second, "update", moved)
	}
	h.run(h.local("2026-12-10 10:00"))
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.Change, texts.ReminderDay, texts.Reminder2h}, h.kinds())
	require.Equal(t, h.local("2026-12-14 18:00"), h.at(texts.ReminderDay), "re-armed for the new date")
	require.Equal(t, h.local("2026-12-15 09:00"), h.at(texts.Reminder2h))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.delivered {
		if d.Kind == texts.Change {
			require.True(t, d.Prev.Equal(oldStart), "change notice names the old time")
		}
		require.False(t, d.Start.Equal(oldStart) && (d.Kind == texts.ReminderDay || d.Kind == texts.Reminder2h),
			"no reminder for the old time")
	}
}

func TestBookingStaffChangeIsAChange(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	start := h.local("2026-12-12 14:30")
	h.event(time.Second, "create", h.visit(start, 7, 1))
	h.event(time.Hour, "update", h.visit(start, 8, 1))
	h.event(2*time.Hour, "update", h.visit(start, 8, 1, 3))
	h.run(h.local("2026-12-10 10:00"))
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.Change, texts.Change, texts.ReminderDay, texts.Reminder2h}, h.kinds())
}

func TestBookingCancellationStopsReminders(t *testing.T) {
	for _, how := range []string{"delete", "attendance -1"} {
		t.Run(how, func(t *testing.T) {
			h := newBookingHarness(t, "Europe/Moscow")
			v := h.visit(h.local("2026-12-12 14:30"), 7, 1)
			h.event(time.Second, "create", v)
			if how == "delete" {
				h.event(time.Hour, "delete", activities.Visit{})
			} else {
				inboxSeq++
				id := inboxSeq
				h.env.RegisterDelayedCallback(func() {
					h.env.SignalWorkflow(SignalRecordEvent, RecordEvent{InboxID: id, Status: "update", Visit: v, Attendance: -1})
				}, time.Hour)
			}
			st := h.run(h.local("2026-12-10 10:00"))
			require.Equal(t, []texts.Kind{texts.Confirmation, texts.Cancellation}, h.kinds())
			require.True(t, st.Cancelled)
		})
	}
}

func TestBookingLessThanTwoHoursAheadHasNoReminders(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	h.event(time.Second, "create", h.visit(h.local("2026-12-10 11:30"), 7, 1))
	h.run(h.local("2026-12-10 10:00"))
	require.Equal(t, []texts.Kind{texts.Confirmation}, h.kinds())
}

func TestBookingReminderInQuietHoursMovesToWindowEdge(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	// 2 h before a 10:00 visit is 08:00, inside 21:00–09:00: it moves to 09:00.
	h.event(time.Second, "create", h.visit(h.local("2026-12-12 10:00"), 7, 1))
	h.run(h.local("2026-12-10 10:00"))
	require.Equal(t, h.local("2026-12-12 09:00"), h.at(texts.Reminder2h))
}

func TestBookingPausedSalonDropsMessagesWhoseMomentPassed(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	frozenUntil := h.local("2026-12-12 13:00") // the salon is frozen until after the 2 h reminder's deadline
	h.paused = func(in activities.DeliverInput) bool { return h.env.Now().Before(frozenUntil) }
	h.event(time.Second, "create", h.visit(h.local("2026-12-12 14:30"), 7, 1))
	st := h.run(created)
	// Confirmation (relevant until the visit) goes out, paced, on resume; both reminders'
	// moments passed while frozen: dropped, never sent late.
	require.Equal(t, []texts.Kind{texts.Confirmation}, h.kinds())
	require.False(t, h.at(texts.Confirmation).Before(frozenUntil))
	skipped := 0
	for _, m := range st.Messages {
		if m.Outcome == ledger.Skipped && m.Reason == "expired" {
			skipped++
		}
	}
	require.Equal(t, 2, skipped)
}

func TestBookingChangedBeforeConfirmationIsConfirmedOnce(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.paused = func(activities.DeliverInput) bool { return h.env.Now().Before(created.Add(10 * time.Minute)) }
	oldStart, newStart := h.local("2026-12-12 14:30"), h.local("2026-12-13 16:00")
	h.event(time.Second, "create", h.visit(oldStart, 7, 1))
	h.event(5*time.Minute, "update", h.visit(newStart, 7, 1))
	h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds(),
		"the client hears of the new time only, as a confirmation")
	h.mu.Lock()
	defer h.mu.Unlock()
	require.True(t, h.delivered[0].Start.Equal(newStart))
}

func TestBookingCancelledBeforeConfirmationSendsNothing(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.paused = func(activities.DeliverInput) bool { return h.env.Now().Before(created.Add(10 * time.Minute)) }
	h.event(time.Second, "create", h.visit(h.local("2026-12-12 14:30"), 7, 1))
	h.event(5*time.Minute, "delete", activities.Visit{})
	st := h.run(created)
	require.Empty(t, h.kinds())
	require.True(t, st.Cancelled)
}
