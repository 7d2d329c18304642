package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/workflows"
)

// bookingSteps reads the histories of the salon's booking workflows for records and says where
// a confirmation's time went inside Temporal: from the workflow's first record-event signal to
// the end of its first send-message activity, each gap between two events counted under the
// later one (a workflow task waiting for a worker, running on one; the activity waiting for a
// worker of its queue, running), and for each step the median over the bookings.
func bookingSteps(b *testing.B, c client.Client, salon int64, records []int64) string {
	b.Helper()
	ctx := context.Background()
	var order []string
	per := map[string][]time.Duration{}
	var totals []time.Duration
	for _, rec := range records {
		var events []*historypb.HistoryEvent
		iter := c.GetWorkflowHistory(ctx, workflows.BookingID(salon, rec), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(b, err)
			events = append(events, ev)
		}
		steps, total, ok := confirmationSteps(events)
		if !ok {
			continue
		}
		totals = append(totals, total)
		for _, s := range steps {
			if _, seen := per[s.name]; !seen {
				order = append(order, s.name)
			}
			per[s.name] = append(per[s.name], s.took)
		}
	}
	if len(totals) == 0 {
		return "no booking history with a confirmation sent"
	}
	parts := make([]string, 0, len(order))
	for _, name := range order {
		d := per[name]
		for len(d) < len(totals) { // a step some bookings did not have took them nothing
			d = append(d, 0)
		}
		parts = append(parts, fmt.Sprintf("%s %.0f ms", name, benchMS(benchSummarise(d, 0).p50)))
	}
	return fmt.Sprintf("%d histories, signal → send-message completed p50 %.0f ms: %s", len(totals),
		benchMS(benchSummarise(totals, 0).p50), strings.Join(parts, ", "))
}

// step is the time a history spent reaching one kind of event.
type step struct {
	name string
	took time.Duration
}

// confirmationSteps splits a booking history from its first record-event signal to the
// completion of its first send-message activity into steps, summed by name; ok is false when
// the history has no such span.
func confirmationSteps(events []*historypb.HistoryEvent) (steps []step, total time.Duration, ok bool) {
	activityOf := map[int64]string{} // scheduled event ID → activity type
	var from time.Time
	sums := map[string]time.Duration{}
	var order []string
	add := func(name string, d time.Duration) {
		if _, seen := sums[name]; !seen {
			order = append(order, name)
		}
		sums[name] += d
	}
	prev := time.Time{}
	for _, ev := range events {
		at := ev.GetEventTime().AsTime()
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			activityOf[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if from.IsZero() {
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
				from, prev = at, at
			}
			continue
		}
		gap := at.Sub(prev)
		prev = at
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			add("workflow task waits for a worker", gap)
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			add("workflow task runs", gap)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			add(activityOf[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]+" waits for a worker", gap)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			a := activityOf[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]
			add(a+" runs", gap)
			if a == activities.ActSend {
				for _, name := range order {
					steps = append(steps, step{name, sums[name]})
				}
				return steps, at.Sub(from), true
			}
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			add("timers", gap)
		default:
			add("other", gap)
		}
	}
	return nil, 0, false
}

// The steps of a recorded booking history (workflows/testdata, the end-to-end test's), against
// its events' times: signal 58.444316951, workflow task scheduled .444324475, started
// .448556240, completed .464388558, markers and upserts, send-message scheduled .465311156,
// started .470770219, completed .487281259.
func TestConfirmationSteps(t *testing.T) {
	f, err := os.Open("../../workflows/testdata/booking-TestEndToEndBookingMessages.latest.json")
	require.NoError(t, err)
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	steps, total, ok := confirmationSteps(h.GetEvents())
	require.True(t, ok)
	require.Equal(t, 487281259*time.Nanosecond-444316951*time.Nanosecond, total)
	require.Equal(t, []step{
		{"other", 444324475 - 444316951 + 465311156 - 464388558},
		{"workflow task waits for a worker", 448556240 - 444324475},
		{"workflow task runs", 464388558 - 448556240},
		{"send-message waits for a worker", 470770219 - 465311156},
		{"send-message runs", 487281259 - 470770219},
	}, steps)
	var sum time.Duration
	for _, s := range steps {
		sum += s.took
	}
	require.Equal(t, total, sum, "the steps add up to the span")

	_, _, ok = confirmationSteps(h.GetEvents()[:11]) // send-message started, not completed
	require.False(t, ok)
}
