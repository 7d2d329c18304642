package activities_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// salonWithRecords makes salon 100001 active and linked with n records at start, each with a
// client of its own (phones 7916000000<i>).
func salonWithRecords(t *testing.T, f *fixture, start time.Time, n int) []activities.DeliverInput {
	t.Helper()
	activeSalon(t, f, start)
	var recs []yclientsfake.Record
	var ins []activities.DeliverInput
	for i := range n {
		id := recordID + 1 + int64(i)
		phone := fmt.Sprintf("791600000%02d", i)
		recs = append(recs, yclientsfake.Record{ID: id, StaffID: 7, ServiceIDs: []int64{1}, ClientName: "Анна",
			ClientPhone: phone, Datetime: start, SeanceLength: 3600})
		in := deliverIn(texts.Confirmation, start)
		in.RecordID, in.Visit.ClientPhone = id, "+"+phone
		ins = append(ins, in)
	}
	f.fake.AddSalon(yclientsfake.Salon{ID: salonID, Title: "Салон «Бархат»", Timezone: "Europe/Moscow",
		Services: []yclientsfake.Service{{ID: 1, Title: "Стрижка", Active: true}},
		Staff:    []yclientsfake.Staff{{ID: 7, Name: "Оксана", Bookable: true}}, Records: recs, Status: "active"})
	return ins
}

// policy sets the salon's sending policy: per minute (0: no pacing), daily cap, quiet hours.
func policy(t *testing.T, f *fixture, perMinute, dailyCap int, quietFrom, quietTo int) {
	t.Helper()
	require.NoError(t, f.store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{SalonID: salonID,
		ReminderDayHour: 18, QuietFromMinute: int32(quietFrom), QuietToMinute: int32(quietTo), PerMinute: int32(perMinute),
		DailyCap: int32(dailyCap), Templates: []byte("{}")}))
}

// deliverAll delivers ins at the same moment and counts the outcomes («sent », «skipped <reason>»).
func deliverAll(t *testing.T, f *fixture, ins []activities.DeliverInput) map[string]int {
	t.Helper()
	var wg sync.WaitGroup
	outs := make([]activities.DeliverOutput, len(ins))
	for i, in := range ins {
		wg.Go(func() {
			out, err := f.set.Messaging.Deliver(context.Background(), in)
			require.NoError(t, err)
			outs[i] = out
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, o := range outs {
		count[string(o.Outcome)+" "+o.Reason]++
	}
	return count
}

// The daily cap holds when messages go out at the same moment: 12 sends at once with a cap
// of 3 send exactly 3 (a count read before the sends let every one of them through).
func TestDailyCapHoldsUnderConcurrentSends(t *testing.T) {
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	ins := salonWithRecords(t, f, start, 12)
	policy(t, f, 0, 3, 0, 0)
	require.Equal(t, map[string]int{"sent ": 3, "skipped daily_cap": 9}, deliverAll(t, f, ins))
	require.Len(t, f.phone.Messages(salonID), 3, "what the phone sent")
}

// An uninstalled salon will never send again: its messages are skipped at once, not paused
// (a paused message waits, and re-checks, until its deadline).
func TestClosedInstallationSkipsAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	for status, kind := range map[string]texts.Kind{"uninstalled": texts.ReminderDay, "expired": texts.Reminder2h, "failed": texts.Confirmation} {
		_, err := f.store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: salonID, InstallStatus: status})
		require.NoError(t, err)
		in := deliverIn(kind, start)
		out, err := f.set.Messaging.Deliver(ctx, in)
		require.NoError(t, err)
		require.Equal(t, ledger.Skipped, out.Outcome, status)
		require.Equal(t, "salon "+status, out.Reason)
	}
}

// clock is a settable clock for the activities.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func moscow(t *testing.T, day time.Time, hour, minute int) time.Time {
	t.Helper()
	msk, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	d := day.In(msk)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, msk)
}

func sendIn(kind texts.Kind, start time.Time) activities.SendInput {
	return activities.SendInput{DeliverInput: deliverIn(kind, start)}
}

// Quiet hours count when a message goes out, not only when reminders are planned: a reminder
// that comes due at 21:10 (pacing, a pause) waits for 09:00, or is dropped when the visit
// comes first; a confirmation, which answers what the client just did, goes at once.
func TestQuietHoursHoldRemindersAtSendTime(t *testing.T) {
	ctx := context.Background()
	c := &clock{}
	f := newFixtureWith(t, partnerToken, func(d *activities.Deps) { d.Now = c.now })
	c.set(time.Now())
	tomorrow := time.Now().Add(24 * time.Hour)
	late := moscow(t, time.Now(), 21, 10)
	visit := moscow(t, tomorrow, 16, 0)
	activeSalon(t, f, visit)
	policy(t, f, 0, 300, 21*60, 9*60)
	c.set(late)

	out, err := f.set.Messaging.Send(ctx, sendIn(texts.ReminderDay, visit))
	require.NoError(t, err)
	require.Equal(t, activities.Later, out.Outcome)
	require.True(t, out.At.Equal(moscow(t, tomorrow, 9, 0)), "held until 09:00, got %s", out.At)
	require.False(t, out.Slot)

	in := sendIn(texts.Reminder2h, visit)
	in.Deadline = moscow(t, late, 23, 30) // the visit comes before the quiet hours end
	out, err = f.set.Messaging.Send(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome)
	require.Equal(t, activities.ReasonQuietHours, out.Reason)

	out, err = f.set.Messaging.Send(ctx, sendIn(texts.Confirmation, visit))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	require.Len(t, clientMessages(f), 1, "only the confirmation went out at 21:10")

	c.set(moscow(t, tomorrow, 9, 0))
	out, err = f.set.Messaging.Send(ctx, sendIn(texts.ReminderDay, visit))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
}

// A notice is named with its Seq: a visit moved back to a time the client was told of before
// is told again (under a new Seq), while a retry of the same notice is not sent twice.
func TestRepeatedNoticeIsSentUnderItsSeq(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	policy(t, f, 0, 300, 0, 0)
	notice := func(seq int64) activities.SendOutput {
		in := sendIn(texts.Change, start)
		in.Seq, in.PrevStart = seq, start.Add(time.Hour)
		out, err := f.set.Messaging.Send(ctx, in)
		require.NoError(t, err)
		return out
	}
	require.Equal(t, ledger.Sent, notice(1).Outcome)
	again := notice(1)
	require.Equal(t, ledger.Sent, again.Outcome)
	require.Equal(t, "already sent", again.Reason)
	require.Equal(t, ledger.Sent, notice(3).Outcome)
	require.Len(t, clientMessages(f), 2)
}

// Pacing: the second message of a burst answers Later with the slot it reserved, and goes
// when called again at that slot; the confirmation brings the visit's reminders along.
func TestSendHandsThePacingWaitToTheWorkflow(t *testing.T) {
	ctx := context.Background()
	c := &clock{}
	c.set(time.Now())
	f := newFixtureWith(t, partnerToken, func(d *activities.Deps) { d.Now = c.now })
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	ins := salonWithRecords(t, f, start, 2)
	policy(t, f, 6, 300, 0, 0)
	first := activities.SendInput{DeliverInput: ins[0], Plan: true}
	out, err := f.set.Messaging.Send(ctx, first)
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	require.Len(t, out.Reminders, 2, "the day-before and the hours-before reminders")

	out, err = f.set.Messaging.Send(ctx, activities.SendInput{DeliverInput: ins[1]})
	require.NoError(t, err)
	require.Equal(t, activities.Later, out.Outcome)
	require.True(t, out.Slot)
	require.InDelta(t, 10*time.Second, out.At.Sub(c.now()), float64(2500*time.Millisecond), "6 a minute, ±20 %%")
	c.set(out.At)
	out, err = f.set.Messaging.Send(ctx, activities.SendInput{DeliverInput: ins[1], Slot: out.At})
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	require.Len(t, f.phone.Messages(salonID), 2)
}

// A message of a frozen salon puts its workflow on the salon's list of paused messages; the
// unfreeze's resume signals exactly the workflows on it and empties it.
func TestPausedMessagesAreListedAndResumed(t *testing.T) {
	ctx := context.Background()
	sig := &signals{}
	f := newFixtureWith(t, partnerToken, func(d *activities.Deps) { d.Temporal = sig })
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	_, err := f.store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: salonID, InstallStatus: "frozen"})
	require.NoError(t, err)
	v, err := f.env.ExecuteActivity(activities.ActSend, sendIn(texts.Confirmation, start))
	require.NoError(t, err)
	var out activities.SendOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, ledger.Paused, out.Outcome)
	waiting, err := f.store.CountPausedMessages(ctx, salonID)
	require.NoError(t, err)
	require.EqualValues(t, 1, waiting.Waiting)

	_, err = f.store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: salonID, InstallStatus: "active"})
	require.NoError(t, err)
	n, err := f.set.Ops.ResumeBookings(ctx, activities.ResumeInput{SalonID: salonID, Signal: "resume"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"default-test-workflow-id/resume"}, sig.sent)
	waiting, err = f.store.CountPausedMessages(ctx, salonID)
	require.NoError(t, err)
	require.Zero(t, waiting.Waiting)
}
