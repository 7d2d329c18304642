package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/workflows"
)

// R9's timeline: a Moscow salon frozen for 30 days from r9Start, then resumed.
const (
	r9Pause      = 30 * 24 * time.Hour
	r9MaxHistory = 300               // events per booking history (per run)
	r9Cap        = 10 * r9MaxHistory // a run past this is stopped: its verdict is known
	r9Gap        = 10 * time.Second  // the plan-send stub's pace: 6 messages a minute
)

var r9Start = time.Date(2026, 3, 2, 10, 0, 0, 0, moscowLoc())

func moscowLoc() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return loc
}

// runR9 (long pause): bookings of a salon that is frozen for 30 days (their deliver activity
// answers paused) in the SDK's time-skipping test environment, then resumed → every booking's
// history stays under 300 events per run, and the resume sends only what is still relevant
// (nothing for visits that passed; each future visit's confirmation and reminders once, before
// their deadlines), paced by the plan-send stub's slots.
//
// The test environment does not count history events, so each run's history length is
// modelled on the server's rules from what the run did: started (1), each activity
// (scheduled, started, completed: 3), each timer started, fired or cancelled (1 each), each
// signal (1), a workflow task (scheduled, started, completed: 3) for every activity
// completion, timer firing and signal that wakes it (the first signal comes with the start,
// as the dispatcher's signal-with-start does), and the run's closing event (1).
// TestChaosHistoryModel checks the model against a real server (within 15 %).
func runR9(t *testing.T, s *chaosSuite) {
	began := time.Now()
	resume := r9Start.Add(r9Pause)
	h := &r9Harness{resume: resume}
	var over, ended []string
	maxEvents := 0
	var firstStop, lastStop time.Duration
	for i := range s.size.r9Bookings {
		b := r9Booking(i)
		runs, stopped, err := h.run(t, b)
		require.NoError(t, err, "booking %d", b.RecordID)
		most := slices.Max(runs)
		maxEvents = max(maxEvents, most)
		what := fmt.Sprintf("record %d (visit %s): %d runs, longest history %d events (modelled)", b.RecordID,
			b.Start.In(moscowLoc()).Format("01-02 15:04"), len(runs), most)
		if stopped {
			at := h.stoppedAt[b.RecordID].Sub(r9Start)
			if firstStop == 0 || at < firstStop {
				firstStop = at
			}
			lastStop = max(lastStop, at)
			what += fmt.Sprintf(", stopped %s into the pause", at.Round(time.Minute))
		} else {
			ended = append(ended, what)
		}
		if stopped || most >= r9MaxHistory {
			over = append(over, what)
		}
	}
	wrong := h.check(s.size.r9Bookings)
	report(t, "R9: %d bookings of a salon frozen 30 days (time-skipping test environment): %d with a history of %d+ events (max %d, modelled; %d stopped past %d events between %s and %s into the pause); ran to the end: [%s]; after the resume %d messages sent, %d wrong (late, early, doubled, missing or unpaced); in %s",
		s.size.r9Bookings, len(over), r9MaxHistory, maxEvents, len(h.stoppedAt), r9Cap, firstStop.Round(time.Minute), lastStop.Round(time.Minute),
		strings.Join(ended, "; "), len(h.delivered), len(wrong), time.Since(began).Round(time.Second))
	require.Empty(t, over, "booking histories past %d events while paused:\n  %s", r9MaxHistory, firstFew(over, 20))
	require.Empty(t, wrong, "after the resume:\n  %s", firstFew(wrong, 30))
}

// r9Visit is one booking of R9: half of them are visits during the pause (their moment passes
// before the resume), half after it.
type r9Visit struct {
	RecordID int64
	Start    time.Time
}

func r9Booking(i int) r9Visit {
	day := 1 + i%28
	if i%2 == 1 {
		day += 32 // after the resume
	}
	d := r9Start.AddDate(0, 0, day)
	return r9Visit{RecordID: int64(5000 + i), Start: time.Date(d.Year(), d.Month(), d.Day(), 14, 30, 0, 0, moscowLoc())}
}

// r9Harness holds what the stubs saw across the bookings' runs: the salon's reserved send
// slots (a calendar: each booking runs in its own environment, on the same timeline) and the
// messages delivered.
type r9Harness struct {
	resume time.Time
	// planSend and deliver replace the stubs' behaviour (the calibration test); nil: the
	// calendar of slots, and paused until resume.
	planSend  func(earliest time.Time) time.Time
	deliver   func(env *testsuite.TestWorkflowEnvironment, c *r9Count, in activities.DeliverInput) activities.DeliverOutput
	mu        sync.Mutex
	slots     []time.Time
	delivered []r9Delivery
	stoppedAt map[int64]time.Time
}

type r9Delivery struct {
	record   int64
	kind     texts.Kind
	at       time.Time
	deadline time.Time
	visit    time.Time
}

// reserve gives the first free slot at or after earliest, r9Gap from every other.
func (h *r9Harness) reserve(earliest time.Time) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := earliest
	for _, s := range h.slots { // sorted
		if at.Sub(s) >= r9Gap || s.Sub(at) >= r9Gap {
			continue
		}
		at = s.Add(r9Gap)
	}
	i, _ := slices.BinarySearchFunc(h.slots, at, time.Time.Compare)
	h.slots = slices.Insert(h.slots, i, at)
	return at
}

// run executes one booking to its end (following continue-as-new) and returns each run's
// modelled history length; stopped says the booking was cancelled past r9Cap.
func (h *r9Harness) run(t *testing.T, b r9Visit) (runs []int, stopped bool, err error) {
	in := workflows.BookingInput{SalonID: 100001, RecordID: b.RecordID}
	start := r9Start
	for {
		env, count := h.env(t, b.RecordID)
		env.SetStartTime(start)
		if in.State == nil {
			env.RegisterDelayedCallback(func() {
				count.signal()
				env.SignalWorkflow(workflows.SignalRecordEvent, workflows.RecordEvent{InboxID: 1, Status: "create",
					Visit: activities.Visit{Start: b.Start, StaffID: 7, ServiceIDs: []int64{1}, Services: []string{"Стрижка"},
						ClientName: "Анна", ClientPhone: "79160000000"}, ReceivedAt: start.Add(time.Second)})
			}, time.Second)
		}
		if d := h.resume.Sub(start); d > 0 {
			env.RegisterDelayedCallback(func() { count.signal(); env.SignalWorkflow(workflows.SignalResume, struct{}{}) }, d)
		}
		env.ExecuteWorkflow(workflows.BookingWorkflowName, in)
		runs = append(runs, count.events()+1) // and the closing event
		werr := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		switch {
		case count.stopped():
			h.mu.Lock()
			h.stoppedAt[b.RecordID] = env.Now()
			h.mu.Unlock()
			return runs, true, nil
		case errors.As(werr, &can):
			in = workflows.BookingInput{}
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
				return runs, false, err
			}
			start = env.Now()
		case werr != nil:
			return runs, false, werr
		default:
			return runs, false, nil
		}
	}
}

// env is a fresh time-skipping environment for one run of the booking, with the stubs.
func (h *r9Harness) env(t *testing.T, record int64) (*testsuite.TestWorkflowEnvironment, *r9Count) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	h.mu.Lock()
	if h.stoppedAt == nil {
		h.stoppedAt = map[int64]time.Time{}
	}
	h.mu.Unlock()
	c := &r9Count{}
	env.SetOnActivityStartedListener(func(*activity.Info, context.Context, converter.EncodedValues) {
		if c.activity() > r9Cap && c.stop() {
			env.CancelWorkflow()
		}
	})
	env.SetOnTimerScheduledListener(func(string, time.Duration) { c.add(&c.timers) })
	env.SetOnTimerFiredListener(func(string) { c.add(&c.fired) })
	env.SetOnTimerCanceledListener(func(string) { c.add(&c.canceled) })
	env.RegisterWorkflowWithOptions(workflows.Booking, workflow.RegisterOptions{Name: workflows.BookingWorkflowName})
	loc := moscowLoc()
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanRemindersInput) (activities.PlanRemindersOutput, error) {
		return activities.PlanRemindersOutput{Reminders: activities.ReminderTimes(in.Start, in.Now, loc, 18,
			activities.QuietHours{From: 21 * 60, To: 9 * 60})}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanReminders})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.PlanSendInput) (activities.PlanSendOutput, error) {
		if h.planSend != nil {
			return activities.PlanSendOutput{SendAt: h.planSend(maxTime(in.Earliest, env.Now()))}, nil
		}
		return activities.PlanSendOutput{SendAt: h.reserve(maxTime(in.Earliest, env.Now()))}, nil
	}, activity.RegisterOptions{Name: activities.ActPlanSend})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.DeliverInput) (activities.DeliverOutput, error) {
		if h.deliver != nil {
			return h.deliver(env, c, in), nil
		}
		now := env.Now()
		switch {
		case !now.Before(in.Deadline):
			return activities.DeliverOutput{Outcome: ledger.Skipped, Reason: "expired"}, nil
		case now.Before(h.resume):
			return activities.DeliverOutput{Outcome: ledger.Paused, Reason: "salon frozen"}, nil
		}
		h.mu.Lock()
		h.delivered = append(h.delivered, r9Delivery{record: record, kind: in.Kind, at: now, deadline: in.Deadline, visit: in.Visit.Start})
		h.mu.Unlock()
		return activities.DeliverOutput{Outcome: ledger.Sent}, nil
	}, activity.RegisterOptions{Name: activities.ActDeliver})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.SendInput) (activities.SendOutput, error) {
		return h.send(env, c, record, in), nil
	}, activity.RegisterOptions{Name: activities.ActSend})
	return env, c
}

// send stands in for send-message (the booking's send since booking v2): the plan on request,
// expired at the deadline, paused until the resume, then a slot of the calendar (Later when it
// is ahead), then delivered.
func (h *r9Harness) send(env *testsuite.TestWorkflowEnvironment, c *r9Count, record int64, in activities.SendInput) activities.SendOutput {
	var out activities.SendOutput
	if in.Plan {
		out.Reminders = activities.ReminderTimes(in.Visit.Start, env.Now(), moscowLoc(), 18, activities.QuietHours{From: 21 * 60, To: 9 * 60})
	}
	if h.deliver != nil {
		d := h.deliver(env, c, in.DeliverInput)
		out.Outcome, out.Reason = d.Outcome, d.Reason
		return out
	}
	now := env.Now()
	switch {
	case !now.Before(in.Deadline):
		out.Outcome, out.Reason = ledger.Skipped, "expired"
		return out
	case now.Before(h.resume):
		out.Outcome, out.Reason = ledger.Paused, "salon frozen"
		return out
	}
	if in.Slot.IsZero() || in.Slot.After(now) {
		reserve := h.reserve
		if h.planSend != nil {
			reserve = h.planSend
		}
		if slot := reserve(now); slot.After(now) {
			out.Outcome, out.At, out.Slot = activities.Later, slot, true
			return out
		}
	}
	h.mu.Lock()
	h.delivered = append(h.delivered, r9Delivery{record: record, kind: in.Kind, at: now, deadline: in.Deadline, visit: in.Visit.Start})
	h.mu.Unlock()
	out.Outcome = ledger.Sent
	return out
}

// check compares what went out after the resume with what is still relevant: nothing for a
// visit before the resume; a confirmation and both reminders, once each, for a visit after
// it; none before the resume or at or after its deadline; no two closer than r9Gap.
func (h *r9Harness) check(n int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var wrong []string
	got := map[int64][]texts.Kind{}
	var times []time.Time
	for _, d := range h.delivered {
		got[d.record] = append(got[d.record], d.kind)
		times = append(times, d.at)
		if d.at.Before(h.resume) || !d.at.Before(d.deadline) {
			wrong = append(wrong, fmt.Sprintf("record %d: %s sent at %s (resume %s, deadline %s)", d.record, d.kind,
				d.at.Format(time.DateTime), h.resume.Format(time.DateTime), d.deadline.Format(time.DateTime)))
		}
	}
	for i := range n {
		b := r9Booking(i)
		if _, stopped := h.stoppedAt[b.RecordID]; stopped {
			continue // its verdict is the history's
		}
		var want []texts.Kind
		if b.Start.After(h.resume) {
			want = []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}
		}
		have := slices.Clone(got[b.RecordID])
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			wrong = append(wrong, fmt.Sprintf("record %d (visit %s): sent %v, want %v", b.RecordID,
				b.Start.Format("01-02 15:04"), got[b.RecordID], want))
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 1; i < len(times); i++ {
		if times[i].Sub(times[i-1]) < r9Gap {
			wrong = append(wrong, fmt.Sprintf("two messages %s apart at %s: not paced", times[i].Sub(times[i-1]), times[i].Format(time.DateTime)))
		}
	}
	return wrong
}

// r9Count counts what a run did, for its modelled history length.
type r9Count struct {
	mu                                                sync.Mutex
	activities, timers, fired, canceled, signals, cap int
}

func (c *r9Count) add(n *int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*n++
}

func (c *r9Count) signal() { c.add(&c.signals) }

// activity counts one activity and returns the history length so far.
func (c *r9Count) activity() int {
	c.add(&c.activities)
	return c.events()
}

// stop reports true once: the first time the run is stopped for passing r9Cap.
func (c *r9Count) stop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cap++
	return c.cap == 1
}

func (c *r9Count) stopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cap > 0
}

func (c *r9Count) events() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	tasks := c.activities + c.fired + c.signals
	return 1 + 3*c.activities + c.timers + c.fired + c.canceled + c.signals + 3*tasks
}
