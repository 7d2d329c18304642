package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// eventAt signals a record event with YClients' times: changed is last_change_date, created
// the record's create_date; the salon was activated at h.activated.
func (h *bookingHarness) eventAt(at time.Duration, status string, v activities.Visit, changed, created time.Time, attendance int) {
	inboxSeq++
	id := inboxSeq
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalRecordEvent, RecordEvent{InboxID: id, Status: status, Visit: v, Attendance: attendance,
			ChangedAt: changed, CreatedAt: created, ActivatedAt: h.activated, ReceivedAt: h.env.Now()})
	}, at)
}

// v1 runs the booking workflow as it was before booking-v2 (to see a defect of it).
func (h *bookingHarness) v1() {
	h.env.OnGetVersion(ChangeBookingV2, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
}

func (h *bookingHarness) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.delivered...)
}

// An update handed over before its create (a standby dispatcher, an inbox ID committed late)
// still gets the client their confirmation, of the time the record has now; the late create
// is older than the state applied and changes nothing.
func TestBookingOutOfOrderEventsStillConfirm(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.activated = created.Add(-24 * time.Hour)
	first, moved := h.local("2026-12-12 14:30"), h.local("2026-12-13 16:00")
	h.eventAt(time.Second, "update", h.visit(moved, 7, 1), created.Add(time.Minute), created, 0)
	h.eventAt(2*time.Second, "create", h.visit(first, 7, 1), created, created, 0)
	h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
	require.True(t, h.deliveries()[0].Start.Equal(moved), "the confirmation is of the time the record has now")
}

// A record created before the salon's activation gets its reminders and no confirmation, however
// its first event reaches us.
func TestBookingRecordFromBeforeActivationGetsRemindersOnly(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	now := h.local("2026-12-10 10:00")
	h.activated = now.Add(-time.Hour)
	h.eventAt(time.Second, "update", h.visit(h.local("2026-12-12 14:30"), 7, 1), now, now.Add(-48*time.Hour), 0)
	h.run(now)
	require.Equal(t, []texts.Kind{texts.ReminderDay, texts.Reminder2h}, h.kinds())
}

// After continue-as-new the booking still knows the client was told of the visit: a
// cancellation then is told (v1 lost that and stayed silent).
func TestBookingContinuedRunStillTellsTheCancellation(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	start := h.local("2026-12-12 14:30")
	v := h.visit(start, 7, 1)
	h.event(time.Hour, "delete", activities.Visit{})
	h.env.SetStartTime(h.local("2026-12-10 10:00"))
	h.env.ExecuteWorkflow(BookingWorkflowName, BookingInput{SalonID: 100001, RecordID: 555,
		State: &BookingState{SalonID: 100001, RecordID: 555, LastInboxID: 0, Visit: &v}})
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	require.Equal(t, []texts.Kind{texts.Cancellation}, h.kinds())
}

// A cancellation undone (attendance −1, then 0) within the merge window tells nothing, and the
// reminders stay. Undone after the client heard of the cancellation (the booking has ended
// by then: the event starts a new run), the visit is confirmed again, under a new ledger seq,
// and its reminders come back.
func TestBookingUncancelledIsToldAgain(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.activated = created.Add(-time.Hour)
	v := h.visit(h.local("2026-12-12 14:30"), 7, 1)
	h.eventAt(time.Second, "create", v, created, created, 0)
	h.eventAt(time.Hour, "update", v, created.Add(time.Hour), created, -1)
	h.eventAt(time.Hour+30*time.Second, "update", v, created.Add(time.Hour+30*time.Second), created, 0)
	st := h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
	require.False(t, st.Cancelled)

	h = newBookingHarness(t, "Europe/Moscow")
	h.activated = created.Add(-time.Hour)
	h.eventAt(time.Second, "create", v, created, created, 0)
	h.eventAt(time.Hour, "update", v, created.Add(time.Hour), created, -1)
	st = h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.Cancellation}, h.kinds())
	require.True(t, st.Cancelled, "the run ends once the client is told")

	later := newBookingHarness(t, "Europe/Moscow")
	later.activated, later.ledger = h.activated, h.ledger // the same ledger
	later.eventAt(time.Second, "update", v, created.Add(3*time.Hour), created, 0)
	st = later.run(created.Add(3 * time.Hour))
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, later.kinds())
	require.False(t, st.Cancelled)
}

// Two edits a few seconds apart send one change notice, of where the record ended up, naming
// the time the client knew.
func TestBookingQuickEditsSendOneNotice(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	t1, t2, t3 := h.local("2026-12-12 14:30"), h.local("2026-12-12 15:00"), h.local("2026-12-12 16:00")
	h.eventAt(time.Second, "create", h.visit(t1, 7, 1), created, created, 0)
	h.eventAt(time.Hour, "update", h.visit(t2, 7, 1), created.Add(time.Hour), created, 0)
	h.eventAt(time.Hour+40*time.Second, "update", h.visit(t3, 7, 1), created.Add(time.Hour+40*time.Second), created, 0)
	h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.Change, texts.ReminderDay, texts.Reminder2h}, h.kinds())
	change := h.deliveries()[1]
	require.True(t, change.Start.Equal(t3) && change.Prev.Equal(t1), "one notice: %s → %s", change.Prev, change.Start)
}

// A visit moved and then moved back, an hour apart each, is told both times: the second
// notice for the original time is not taken for the first confirmation or notice.
func TestBookingMovedBackIsToldAgain(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	t1, t2 := h.local("2026-12-12 14:30"), h.local("2026-12-12 16:00")
	h.eventAt(time.Second, "create", h.visit(t1, 7, 1), created, created, 0)
	h.eventAt(time.Hour, "update", h.visit(t2, 7, 1), created.Add(time.Hour), created, 0)
	h.eventAt(2*time.Hour, "update", h.visit(t1, 7, 1), created.Add(2*time.Hour), created, 0)
	h.eventAt(3*time.Hour, "update", h.visit(t2, 7, 1), created.Add(3*time.Hour), created, 0)
	h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.Change, texts.Change, texts.Change, texts.ReminderDay, texts.Reminder2h}, h.kinds())
}

// A salon paused for 30 days: the booking's messages wait for the resume signal instead of
// re-checking every few minutes (v1: a send attempt every 5 minutes, ~8,600 in 30 days, and a
// history near Temporal's limit). Here the whole life of the booking takes a handful of
// activities and timers, and the messages still relevant go out after the resume.
func TestBookingPausedThirtyDaysStaysSmall(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	resumeAt := created.Add(30 * 24 * time.Hour)
	h.paused = func(activities.DeliverInput) bool { return h.env.Now().Before(resumeAt) }
	timers := 0
	h.env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
	h.env.SetTestTimeout(2 * time.Minute)
	v := h.visit(h.local("2027-01-12 14:30"), 7, 1)
	h.eventAt(time.Second, "create", v, created, created, 0)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalResume, nil) }, 30*24*time.Hour)
	h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
	require.False(t, h.at(texts.Confirmation).Before(resumeAt), "sent after the resume")
	signals, activities := 2, h.sends // the create and the resume
	// Each activity is 3 history events, each timer 2, each signal 1, and each wake-up a
	// workflow task of 3: an upper bound of the history's length.
	events := 3*activities + 2*timers + signals + 3*(activities+timers+signals) + 5
	t.Logf("30 days paused: %d send-message calls, %d timers, at most %d history events", activities, timers, events)
	require.LessOrEqual(t, events, 300, "the booking's history stays small")
}

// An ended installation: the booking stops at once instead of waiting out its visit.
func TestBookingOfAnEndedInstallationStops(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.ended = true
	h.eventAt(time.Second, "create", h.visit(h.local("2026-12-20 14:30"), 7, 1), created, created, 0)
	st := h.run(created)
	require.Empty(t, h.kinds())
	require.True(t, st.Closed)
	require.Equal(t, 1, h.sends, "one look, no more")
	_ = ledger.Skipped
}

// A salon's WhatsApp shard without an owner: send-message finds no worker within its bound;
// the message is tried again 5 minutes later, not dropped.
func TestBookingMessageWaitsForAShardOwner(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.noWorker = 1
	h.eventAt(time.Second, "create", h.visit(h.local("2026-12-12 14:30"), 7, 1), created, created, 0)
	h.run(created)
	require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
	require.Equal(t, created.Add(time.Second+sendRetryLater), h.at(texts.Confirmation).In(time.UTC).In(h.loc))
}

// A booking started with NoVersionMarkers (by the dispatcher, and by a run continuing as new)
// is booking v2 with its messages on the salon's shard queue from its first event, and asks
// workflow.GetVersion nothing: each GetVersion was a marker and a TemporalChangeVersion upsert
// in every booking's history, a visibility write on the server. Without it the run asks both,
// as runs started before did (their histories replay so).
func TestBookingWithoutVersionMarkersAsksNoVersion(t *testing.T) {
	for _, markers := range []bool{false, true} {
		t.Run(fmt.Sprintf("markers=%v", markers), func(t *testing.T) {
			h := newBookingHarness(t, "Europe/Moscow")
			h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{NewWhatsAppRouting(4)}})
			asked := map[string]bool{}
			for _, change := range []string{ChangeBookingV2, ChangeWhatsAppShardQueues} {
				h.env.OnGetVersion(change, workflow.DefaultVersion, 1).Run(func(mock.Arguments) {
					asked[change] = true
				}).Return(workflow.Version(1)).Maybe()
			}
			created := h.local("2026-12-10 10:00")
			h.activated = created.Add(-24 * time.Hour)
			h.eventAt(time.Second, "create", h.visit(h.local("2026-12-12 14:30"), 7, 1), created, created, 0)
			h.env.SetStartTime(created)
			h.env.ExecuteWorkflow(BookingWorkflowName, BookingInput{SalonID: 100001, RecordID: 555, NoVersionMarkers: !markers})
			require.True(t, h.env.IsWorkflowCompleted())
			require.NoError(t, h.env.GetWorkflowError())
			require.Equal(t, []texts.Kind{texts.Confirmation, texts.ReminderDay, texts.Reminder2h}, h.kinds())
			require.NotEmpty(t, h.queues)
			for _, q := range h.queues {
				require.True(t, strings.HasSuffix(q, "-wa-1"), "send-message runs on salon 100001's shard queue (1 of 4), not %q", q)
			}
			if markers {
				require.Equal(t, map[string]bool{ChangeBookingV2: true, ChangeWhatsAppShardQueues: true}, asked)
			} else {
				require.Empty(t, asked, "a run started without version markers asks no version")
			}
		})
	}
}

// A booking continuing as new passes NoVersionMarkers on: its next run asks no version either.
func TestBookingContinuesWithoutVersionMarkers(t *testing.T) {
	h := newBookingHarness(t, "Europe/Moscow")
	created := h.local("2026-12-10 10:00")
	h.activated = created.Add(-24 * time.Hour)
	h.eventAt(time.Second, "create", h.visit(h.local("2026-12-12 14:30"), 7, 1), created, created, 0)
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, time.Minute)
	h.env.SetStartTime(created)
	h.env.ExecuteWorkflow(BookingWorkflowName, BookingInput{SalonID: 100001, RecordID: 555})
	require.True(t, h.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.env.GetWorkflowError(), &can, "the run continues as new")
	var next BookingInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.True(t, next.NoVersionMarkers)
	require.NotNil(t, next.State)
	require.True(t, next.State.V2)
}
