package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/interceptor"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/workflows"
)

// Temporal Cloud's list price the cost line uses, and the salon's volume.
const (
	actionPriceUSD   = 50.0 / 1_000_000
	bookingsPerDay   = 30
	daysPerMonth     = 30
	p6TargetActions  = 12
	p6MinimumActions = 7 // the irreducible part: the start, 2 signals (create, reschedule), 4 sends
)

// BenchmarkBookingActions (P6) counts, from the booking workflow's history on the real stack,
// the Temporal Cloud actions of one booking's life: the create delivered twice, one change
// delivered as four identical updates, one reschedule, both reminders (made due within
// seconds), and the visit passing (the timer that ends the workflow, counted when it starts).
// Actions are counted as Temporal Cloud bills them: the workflow's start, each signal, each
// activity attempt, each timer started, each search-attribute upsert, child start or signal
// sent, a continue-as-new; version markers and their TemporalChangeVersion upserts are free. It prints P6 with the count against the
// target (12) and against the irreducible minimum, and the cost per salon-month. It fails only
// when a message is missing or doubled.
func BenchmarkBookingActions(b *testing.B) {
	notOnCluster(b, "P6", "it makes the reminders due within seconds with a worker interceptor in its own "+
		"process (planSoon), which the cluster's worker processes do not run; the count is the workflow code's, "+
		"not the server's", false)
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		b.Skip("TEMPORAL_ADDRESS is not set: run through `make bench`")
	}
	s := newStackAt(b, addr, func(su *stackSetup) { su.interceptors = []interceptor.WorkerInterceptor{&planSoon{}} })
	salon := s.moscow
	s.activate(salon)
	s.noPacingNoQuiet(salon)
	var count actionCount
	for b.Loop() {
		count = s.bookingLife(b, salon)
	}
	b.ReportMetric(float64(count.total), "actions/booking")
	perMonth := float64(count.total*bookingsPerDay*daysPerMonth) * actionPriceUSD
	fmt.Printf("P6: one booking's life %d Temporal actions (%s) vs target %d: ratio %.2f; vs the irreducible %d "+
		"(start, 2 signals, 4 sends): ratio %.2f; $%.3f per salon-month at %d bookings/day and $50 per million actions (%s)\n",
		count.total, count.breakdown(), p6TargetActions, float64(count.total)/p6TargetActions, p6MinimumActions,
		float64(count.total)/p6MinimumActions, perMonth, bookingsPerDay, time.Now().Format("2006-01-02"))
}

// bookingLife runs the scenario for one new record and counts its booking's actions.
func (s *stack) bookingLife(b *testing.B, salon int64) actionCount {
	b.Helper()
	before := len(s.clientTexts(salon))
	_, local := localIn(b, "Europe/Moscow", 3, "14:30")
	rec, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(b, s.fake, salon),
		ServiceIDs: []int64{serviceOf(b, s.fake, salon)}, Duplicates: 1,
		Client: &yclientsfake.ClientInput{Name: "Анна", Phone: "+" + clientPhone}, Datetime: local})
	require.NoError(b, err)
	s.waitClientTexts(salon, before+1)
	comment := "постоянный клиент"
	_, err = s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Comment: &comment, Duplicates: 3})
	require.NoError(b, err)
	_, moved := localIn(b, "Europe/Moscow", 4, "16:00")
	_, err = s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Datetime: &moved})
	require.NoError(b, err)
	got := s.waitClientTexts(salon, before+4) // the change notice and both reminders
	require.Len(b, got, before+4, "one confirmation, one change notice, two reminders: nothing doubled")
	id := workflows.BookingID(salon, rec.ID)
	require.Eventually(b, func() bool {
		st := s.booking(salon, rec.ID)
		return len(st.Outbox) == 0 && s.countEvents(id, "", lingerStarted) > 0
	}, 30*time.Second, 100*time.Millisecond, "the booking waits for its visit to pass")
	time.Sleep(300 * time.Millisecond)
	require.Len(b, s.clientTexts(salon), before+4, "nothing more went out")
	return countActions(s.historyOf(id, ""))
}

// lingerStarted matches the timer that ends the booking after its visit (days ahead; the
// reminders' and the merge window's are seconds).
func lingerStarted(ev *history.HistoryEvent) bool {
	a := ev.GetTimerStartedEventAttributes()
	return a != nil && a.GetStartToFireTimeout().AsDuration() > 24*time.Hour
}

// actionCount is a history's billable actions by kind.
type actionCount struct {
	total int
	kinds map[string]int
}

func (c actionCount) breakdown() string {
	var parts []string
	for k, n := range c.kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// billedUpsert reports a search-attribute upsert Temporal Cloud bills: one that sets more than
// TemporalChangeVersion (which GetVersion upserts, free of charge).
func billedUpsert(a *history.UpsertWorkflowSearchAttributesEventAttributes) bool {
	for k := range a.GetSearchAttributes().GetIndexedFields() {
		if k != "TemporalChangeVersion" {
			return true
		}
	}
	return false
}

// countActions counts a history's billable actions as Temporal Cloud does.
func countActions(events []*history.HistoryEvent) actionCount {
	c := actionCount{kinds: map[string]int{}}
	add := func(kind string, n int) { c.kinds[kind] += n; c.total += n }
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			add("start", 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			add("signals", 1)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			add("activities", int(max(1, ev.GetActivityTaskStartedEventAttributes().GetAttempt())))
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			add("timers", 1)
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			if billedUpsert(ev.GetUpsertWorkflowSearchAttributesEventAttributes()) {
				add("upserts", 1)
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			add("children", 1)
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			add("signals sent", 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			add("continue-as-new", 1)
		}
	}
	return c
}
