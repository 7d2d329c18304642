package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

const recordID = int64(9001)

// activeSalon makes salon 100001 an active installation with a linked phone and one record.
func activeSalon(t *testing.T, f *fixture, start time.Time) {
	t.Helper()
	ctx := context.Background()
	f.register(t)
	_, err := f.store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: salonID, InstallStatus: "active"})
	require.NoError(t, err)
	go scanSoon(f.phone)
	_, err = f.env.ExecuteActivity(activities.ActPair, activities.PairInput{SalonID: salonID, Attempt: 1, Method: "qr"})
	require.NoError(t, err)
	f.fake.AddSalon(yclientsfake.Salon{ID: salonID, Title: "Салон «Бархат»", Address: "ул. Тверская, 12", Timezone: "Europe/Moscow",
		Services: []yclientsfake.Service{{ID: 1, Title: "Стрижка", Active: true, PriceMin: 1500, PriceMax: 1500}},
		Staff:    []yclientsfake.Staff{{ID: 7, Name: "Оксана", Bookable: true}},
		Records: []yclientsfake.Record{{ID: recordID, StaffID: 7, ServiceIDs: []int64{1}, ClientName: "Анна",
			ClientPhone: "79161234567", Datetime: start, SeanceLength: 3600}},
		Status: "active"})
	// Quiet hours off: reminders are held in them, and these tests run at any hour.
	require.NoError(t, f.store.UpsertSalonSettings(ctx, sqlc.UpsertSalonSettingsParams{SalonID: salonID,
		ReminderDayHour: 18, PerMinute: 6, DailyCap: 300, Templates: []byte("{}")}))
}

func deliverIn(kind texts.Kind, start time.Time) activities.DeliverInput {
	return activities.DeliverInput{SalonID: salonID, RecordID: recordID, Kind: kind, Deadline: start,
		Visit: activities.Visit{Start: start, StaffID: 7, StaffName: "Оксана", ServiceIDs: []int64{1},
			Services: []string{"Стрижка"}, ClientName: "Анна", ClientPhone: "+7 916 123-45-67"}}
}

func clientMessages(f *fixture) []string {
	var out []string
	for _, m := range f.phone.Messages(salonID) {
		if m.Phone == "79161234567" {
			out = append(out, m.Text)
		}
	}
	return out
}

func TestDeliverSendsOnceWithTheLedger(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	out, err := f.set.Messaging.Deliver(ctx, deliverIn(texts.Confirmation, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	out, err = f.set.Messaging.Deliver(ctx, deliverIn(texts.Confirmation, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome)
	require.Equal(t, "already sent", out.Reason)
	msgs := clientMessages(f)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "Анна, здравствуйте!")
	require.Contains(t, msgs[0], "Бархат")
	require.Contains(t, msgs[0], "мастер Оксана")
}

func TestDeliverSkipsWhenRecordNoLongerMatches(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start.Add(time.Hour)) // YClients says the visit moved
	out, err := f.set.Messaging.Deliver(ctx, deliverIn(texts.ReminderDay, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome)
	require.Equal(t, "record rescheduled", out.Reason)
	require.Empty(t, clientMessages(f))

	out, err = f.set.Messaging.Deliver(ctx, deliverIn(texts.Cancellation, start.Add(time.Hour)))
	require.NoError(t, err)
	require.Equal(t, "record is not cancelled", out.Reason, "no false cancel notices")
}

func TestDeliverDropsExpiredAndPausesInactiveSalon(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	in := deliverIn(texts.Reminder2h, start)
	in.Deadline = time.Now().Add(-time.Minute)
	out, err := f.set.Messaging.Deliver(ctx, in)
	require.NoError(t, err)
	require.Equal(t, "expired", out.Reason, "never sent late")

	_, err = f.store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: salonID, InstallStatus: "frozen"})
	require.NoError(t, err)
	out, err = f.set.Messaging.Deliver(ctx, deliverIn(texts.Confirmation, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Paused, out.Outcome)

	_, err = f.store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: salonID, InstallStatus: "active"})
	require.NoError(t, err)
	f.phone.Emit(salonID, whatsapp.Status{State: whatsapp.StateTempBanned, Until: time.Now().Add(time.Hour)})
	out, err = f.set.Messaging.Deliver(ctx, deliverIn(texts.Confirmation, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Paused, out.Outcome, "nothing is sent while banned")
	require.Empty(t, clientMessages(f))
}

func TestDeliverSkipsAClientWhoOptedOut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	_, err := f.store.InsertOptOut(ctx, sqlc.InsertOptOutParams{SalonID: salonID, Phone: "79161234567", Text: "стоп"})
	require.NoError(t, err)
	out, err := f.set.Messaging.Deliver(ctx, deliverIn(texts.Confirmation, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome)
	require.Equal(t, "opted_out", out.Reason)
	require.Empty(t, clientMessages(f))
}

func TestPlanSendPacesPerSalon(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	now := time.Now()
	var slots []time.Time
	for i := 0; i < 4; i++ {
		out, err := f.set.Messaging.PlanSend(ctx, activities.PlanSendInput{SalonID: salonID, Earliest: now})
		require.NoError(t, err)
		slots = append(slots, out.SendAt)
	}
	for i := 1; i < len(slots); i++ {
		gap := slots[i].Sub(slots[i-1])
		require.GreaterOrEqual(t, gap, 7900*time.Millisecond, "6/min with jitter: got %v", gap)
		require.LessOrEqual(t, gap, 12100*time.Millisecond, "got %v", gap)
	}
}

func TestReminderTimes(t *testing.T) {
	quiet := activities.QuietHours{From: 21 * 60, To: 9 * 60}
	for _, zone := range []string{"Europe/Moscow", "Asia/Vladivostok", "Europe/Kaliningrad"} {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		at := func(s string) time.Time {
			v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
			require.NoError(t, err)
			return v
		}
		t.Run(zone, func(t *testing.T) {
			rs := activities.ReminderTimes(at("2026-12-12 14:30"), at("2026-12-01 10:00"), loc, 18, quiet)
			require.Len(t, rs, 2)
			require.True(t, rs[0].At.Equal(at("2026-12-11 18:00")), "got %v", rs[0].At.In(loc))
			require.True(t, rs[1].At.Equal(at("2026-12-12 12:30")), "got %v", rs[1].At.In(loc))
			require.Empty(t, activities.ReminderTimes(at("2026-12-12 14:30"), at("2026-12-12 13:00"), loc, 18, quiet),
				"booked less than 2 h ahead")
			rs = activities.ReminderTimes(at("2026-12-12 14:30"), at("2026-12-11 19:00"), loc, 18, quiet)
			require.Len(t, rs, 1, "the day-before moment already passed")
			require.Equal(t, texts.Reminder2h, rs[0].Kind)
			rs = activities.ReminderTimes(at("2026-12-12 09:40"), at("2026-12-01 10:00"), loc, 18, quiet)
			require.Len(t, rs, 2)
			require.True(t, rs[1].At.Equal(at("2026-12-12 09:00")), "07:40 is in quiet hours: moved to 09:00, got %v", rs[1].At.In(loc))
			rs = activities.ReminderTimes(at("2026-12-12 09:20"), at("2026-12-01 10:00"), loc, 18, quiet)
			require.Len(t, rs, 1, "09:00 would be too late for a 09:20 visit: the 2 h reminder is dropped")
			require.Equal(t, texts.ReminderDay, rs[0].Kind)
			rs = activities.ReminderTimes(at("2026-12-12 14:30"), at("2026-12-01 10:00"), loc, 22, quiet)
			require.True(t, rs[0].At.Equal(at("2026-12-12 09:00")), "a 22:00 day-before reminder moves to 09:00, got %v", rs[0].At.In(loc))
		})
	}
}
