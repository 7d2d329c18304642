package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func TestReviewTimes(t *testing.T) {
	msk, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	vlad, err := time.LoadLocation("Asia/Vladivostok")
	require.NoError(t, err)
	quiet := activities.QuietHours{From: 21 * 60, To: 9 * 60}
	at := func(loc *time.Location, d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, loc) }
	for _, c := range []struct {
		name               string
		attended           time.Time
		delay              time.Duration
		loc                *time.Location
		q                  activities.QuietHours
		wantAt, wantBefore time.Time
	}{
		{"afternoon: 3 h later, 6 h to send", at(msk, 12, 12, 0), 3 * time.Hour, msk, quiet, at(msk, 12, 15, 0), at(msk, 12, 21, 0)},
		{"morning: the window is 6 h", at(msk, 12, 9, 0), time.Hour, msk, quiet, at(msk, 12, 10, 0), at(msk, 12, 16, 0)},
		{"evening: moved to 09:00", at(msk, 12, 19, 30), 3 * time.Hour, msk, quiet, at(msk, 13, 9, 0), at(msk, 13, 15, 0)},
		{"after midnight: moved to 09:00 the same day", at(msk, 12, 23, 0), 3 * time.Hour, msk, quiet, at(msk, 13, 9, 0), at(msk, 13, 15, 0)},
		{"in the salon's zone", at(vlad, 12, 17, 0), 3 * time.Hour, vlad, quiet, at(vlad, 12, 20, 0), at(vlad, 12, 21, 0)},
		{"no quiet hours", at(msk, 12, 23, 0), 3 * time.Hour, msk, activities.QuietHours{}, at(msk, 13, 2, 0), at(msk, 13, 8, 0)},
		{"a day window 13–15", at(msk, 12, 12, 0), time.Hour, msk, activities.QuietHours{From: 13 * 60, To: 15 * 60}, at(msk, 12, 15, 0), at(msk, 12, 21, 0)},
	} {
		gotAt, gotBefore := activities.ReviewTimes(c.attended, c.delay, c.loc, c.q)
		require.True(t, gotAt.Equal(c.wantAt), "%s: at got %s want %s", c.name, gotAt.In(c.loc), c.wantAt)
		require.True(t, gotBefore.Equal(c.wantBefore), "%s: deadline got %s want %s", c.name, gotBefore.In(c.loc), c.wantBefore)
	}
}

func TestPlanReview(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	activeSalon(t, f, time.Now().Add(-time.Hour))
	noon := time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC) // 12:00 in Moscow
	out, err := f.set.Messaging.PlanReview(ctx, activities.PlanReviewInput{SalonID: salonID, AttendedAt: noon})
	require.NoError(t, err)
	require.False(t, out.Send, "review requests are off by default")
	require.Equal(t, activities.ReasonTurnedOff, out.Reason)

	saveCabinet(t, f, func(p *sqlc.UpsertCabinetSettingsParams) { p.ReviewRequests, p.ReviewDelayMinutes = true, 120 })
	out, err = f.set.Messaging.PlanReview(ctx, activities.PlanReviewInput{SalonID: salonID, AttendedAt: noon})
	require.NoError(t, err)
	require.True(t, out.Send)
	require.True(t, out.At.Equal(noon.Add(2*time.Hour)), "the salon's delay: got %s", out.At)
	require.True(t, out.Deadline.Equal(noon.Add(8*time.Hour)))

	withOwnerHook(t, f, 20*time.Second)
	out, err = f.set.Messaging.PlanReview(ctx, activities.PlanReviewInput{SalonID: salonID, AttendedAt: noon})
	require.NoError(t, err)
	require.True(t, out.At.Equal(noon.Add(20*time.Second)), "the process's demo delay wins: got %s", out.At)
}

// A review request goes once per visit and once per client within 30 days, only while the
// visit is marked attended and the client has not opted out; its row asks, so a score finds
// it until a thanks answers it.
func TestSendReviewRequest(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	saveCabinet(t, f, func(p *sqlc.UpsertCabinetSettingsParams) {
		p.ReviewRequests, p.QuietFromMinute, p.QuietToMinute = true, 0, 0
	})
	in := activities.ReviewSendInput{SalonID: salonID, RecordID: recordID, Visit: deliverIn(texts.ReviewRequest, start).Visit,
		Deadline: time.Now().Add(time.Hour)}
	out, err := f.set.Messaging.SendReviewRequest(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome)
	require.Equal(t, activities.ReasonNotAttended, out.Reason, "not marked attended")

	second := in
	second.RecordID, second.Visit.Start = recordID+1, start.Add(-24*time.Hour)
	f.fake.AddSalon(yclientsfake.Salon{ID: salonID, Title: "Салон «Бархат»", Timezone: "Europe/Moscow", Status: "active",
		Services: []yclientsfake.Service{{ID: 1, Title: "Стрижка", Active: true}},
		Staff:    []yclientsfake.Staff{{ID: 7, Name: "Оксана", Bookable: true}},
		Records: []yclientsfake.Record{
			{ID: recordID, StaffID: 7, ServiceIDs: []int64{1}, ClientName: "Анна", ClientPhone: "79161234567", Datetime: start, SeanceLength: 3600, Attendance: 1},
			{ID: recordID + 1, StaffID: 7, ServiceIDs: []int64{1}, ClientName: "Анна", ClientPhone: "79161234567", Datetime: second.Visit.Start, SeanceLength: 3600, Attendance: 1},
		}})
	first := in
	first.Visit.Start = start.Add(time.Minute) // another visit time: a new ledger key
	out, err = f.set.Messaging.SendReviewRequest(ctx, first)
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	msgs := clientMessages(f)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "Оцените его от 1 до 5")
	require.Contains(t, msgs[0], "«Бархат»")

	out, err = f.set.Messaging.SendReviewRequest(ctx, second)
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome)
	require.Equal(t, activities.ReasonReviewedRecently, out.Reason)
	out, err = f.set.Messaging.SendReviewRequest(ctx, first)
	require.NoError(t, err)
	require.Equal(t, "already sent", out.Reason)
	require.Len(t, clientMessages(f), 1)

	q := findQuestion(t, f, time.Now())
	require.NotNil(t, q.Review)
	require.Equal(t, recordID, q.Review.RecordID)
	require.Nil(t, q.Confirm, "a past visit asks no confirmation")
	thanks := activities.DeliverInput{SalonID: salonID, RecordID: recordID, Kind: texts.ReviewThanks, Visit: first.Visit,
		Deadline: time.Now().Add(time.Hour)}
	o, err := f.set.Messaging.Deliver(ctx, thanks)
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, o.Outcome, o.Reason)
	require.Nil(t, findQuestion(t, f, time.Now()).Review, "answered")

	_, err = f.store.InsertOptOut(ctx, sqlc.InsertOptOutParams{SalonID: salonID, Phone: "79161234567", Text: "стоп"})
	require.NoError(t, err)
	third := in
	third.Visit.Start = start.Add(2 * time.Minute)
	out, err = f.set.Messaging.SendReviewRequest(ctx, third)
	require.NoError(t, err)
	require.Equal(t, "opted_out", out.Reason)
}

// Two review requests to one client written at once: the older row goes, the newer is skipped.
func TestReviewRequestRaceKeepsTheOlder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	l := ledger.New(f.store, f.phone, nil)
	visit := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	a, err := l.Reserve(ctx, ledger.Key{SalonID: salonID, RecordID: 1, Kind: texts.ReviewRequest, VisitTime: visit}, "79161234567", "a", true)
	require.NoError(t, err)
	b, err := l.Reserve(ctx, ledger.Key{SalonID: salonID, RecordID: 2, Kind: texts.ReviewRequest, VisitTime: visit}, "79161234567", "b", true)
	require.NoError(t, err)
	check := func(id int64) bool {
		recent, err := f.store.ReviewRequestedBefore(ctx, sqlc.ReviewRequestedBeforeParams{SalonID: salonID, Phone: "79161234567",
			ID: id, SentSince: time.Now().Add(-activities.ReviewEvery), QueuedSince: time.Now().Add(-time.Hour)})
		require.NoError(t, err)
		return recent
	}
	require.False(t, check(a.ID), "the older one goes")
	require.True(t, check(b.ID), "the newer one waits for nothing: skipped")
}
