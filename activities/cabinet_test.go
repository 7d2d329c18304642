package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// saveCabinet writes the salon's settings as the cabinet does: the defaults, adjusted by
// change.
func saveCabinet(t *testing.T, f *fixture, change func(*sqlc.UpsertCabinetSettingsParams)) {
	t.Helper()
	// Quiet hours off: reminders are held in them, and these tests run at any hour.
	p := sqlc.UpsertCabinetSettingsParams{SalonID: salonID, ReminderDayHour: 18, DailyCap: 300, Templates: []byte("{}"), SendConfirmation: true, SendChange: true,
		SendCancellation: true, SendReminderDay: true, SendReminderBefore: true, ReminderHoursBefore: 2,
		ReviewDelayMinutes: 180, ConfirmByReply: true}
	change(&p)
	require.NoError(t, f.store.UpsertCabinetSettings(context.Background(), p))
}

// A kind the salon turned off is skipped when it is due, with the reason turned_off; turned
// on again, the next one goes out.
func TestDeliverSkipsAKindTurnedOff(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	for kind, off := range map[texts.Kind]func(*sqlc.UpsertCabinetSettingsParams){
		texts.Confirmation: func(p *sqlc.UpsertCabinetSettingsParams) { p.SendConfirmation = false },
		texts.ReminderDay:  func(p *sqlc.UpsertCabinetSettingsParams) { p.SendReminderDay = false },
		texts.Reminder2h:   func(p *sqlc.UpsertCabinetSettingsParams) { p.SendReminderBefore = false },
	} {
		saveCabinet(t, f, off)
		out, err := f.set.Messaging.Deliver(ctx, deliverIn(kind, start))
		require.NoError(t, err)
		require.Equal(t, ledger.Skipped, out.Outcome, kind)
		require.Equal(t, activities.ReasonTurnedOff, out.Reason, kind)
	}
	require.Empty(t, clientMessages(f))

	saveCabinet(t, f, func(*sqlc.UpsertCabinetSettingsParams) {})
	out, err := f.set.Messaging.Deliver(ctx, deliverIn(texts.Change, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	require.Len(t, clientMessages(f), 1)
}

// The day-before reminder asks the client to confirm while the salon reads replies; the
// booking confirmation asks too only when the salon chose that as well; the owner's text gets
// the question as the standard one does.
func TestDeliverAsksToConfirmAsTheSalonChose(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	deliver := func(kind texts.Kind) string {
		t.Helper()
		before := len(clientMessages(f))
		out, err := f.set.Messaging.Deliver(ctx, deliverIn(kind, start))
		require.NoError(t, err)
		require.Equal(t, ledger.Sent, out.Outcome, "%s: %s", kind, out.Reason)
		msgs := clientMessages(f)
		require.Len(t, msgs, before+1)
		_, err = f.store.Pool.Exec(ctx, `DELETE FROM messages WHERE kind = $1`, string(kind)) // send it again below
		require.NoError(t, err)
		return msgs[before]
	}
	require.Contains(t, deliver(texts.ReminderDay), texts.ConfirmLine, "by default the reminder asks")
	require.NotContains(t, deliver(texts.Confirmation), texts.ConfirmLine, "the confirmation does not by default")

	saveCabinet(t, f, func(p *sqlc.UpsertCabinetSettingsParams) {
		p.ConfirmOnBooking = true
		p.Templates = []byte(`{"confirmation": "{{.ClientName}}, ждём вас {{.When}}."}`)
	})
	got := deliver(texts.Confirmation)
	require.True(t, strings.HasPrefix(got, "Анна, ждём вас "), "the owner's text: got %q", got)
	require.True(t, strings.HasSuffix(got, "\n"+texts.ConfirmLine), "with the question: got %q", got)

	saveCabinet(t, f, func(p *sqlc.UpsertCabinetSettingsParams) { p.ConfirmByReply, p.ConfirmOnBooking = false, true })
	require.NotContains(t, deliver(texts.ReminderDay), texts.ConfirmLine, "replies are not read: nobody asks")
	require.NotContains(t, deliver(texts.Confirmation), texts.ConfirmLine)

	saveCabinet(t, f, func(p *sqlc.UpsertCabinetSettingsParams) { p.ReviewURL = "https://yandex.ru/maps/org/barkhat/1" })
	require.Contains(t, deliver(texts.ReviewThanks), "https://yandex.ru/maps/org/barkhat/1", "the salon's review link")
}

func TestAsksConfirm(t *testing.T) {
	for _, c := range []struct {
		kind               texts.Kind
		byReply, onBooking bool
		want               bool
	}{
		{texts.ReminderDay, true, false, true},
		{texts.ReminderDay, false, true, false},
		{texts.Confirmation, true, false, false},
		{texts.Confirmation, true, true, true},
		{texts.Confirmation, false, true, false},
		{texts.Reminder2h, true, true, false},
		{texts.Change, true, true, false},
	} {
		require.Equal(t, c.want, activities.AsksConfirm(c.kind, c.byReply, c.onBooking), "%+v", c)
	}
}

// The second reminder goes out the salon's hours before the visit, in its own zone, moved out
// of quiet hours or dropped when too late; its kind stays reminder_2h.
func TestPlanReminderTimesWithTheSalonsHours(t *testing.T) {
	quiet := activities.QuietHours{From: 21 * 60, To: 9 * 60}
	for _, zone := range []string{"Europe/Moscow", "Asia/Vladivostok", "Europe/Kaliningrad"} {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		at := func(s string) time.Time {
			v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
			require.NoError(t, err)
			return v
		}
		plan := func(start, now string, dayHour, hours int) []activities.ReminderPlan {
			return activities.PlanReminderTimes(at(start), at(now), loc,
				activities.ReminderPolicy{DayHour: dayHour, HoursBefore: hours, Quiet: quiet})
		}
		t.Run(zone, func(t *testing.T) {
			rs := plan("2026-12-12 14:30", "2026-12-01 10:00", 20, 3)
			require.Len(t, rs, 2)
			require.True(t, rs[0].At.Equal(at("2026-12-11 20:00")), "got %v", rs[0].At.In(loc))
			require.Equal(t, texts.Reminder2h, rs[1].Kind)
			require.True(t, rs[1].At.Equal(at("2026-12-12 11:30")), "3 h before: got %v", rs[1].At.In(loc))
			require.True(t, rs[1].Deadline.Equal(at("2026-12-12 12:00")), "30 min of grace: got %v", rs[1].Deadline.In(loc))

			rs = plan("2026-12-12 14:30", "2026-12-01 10:00", 18, 24)
			require.True(t, rs[1].At.Equal(at("2026-12-11 14:30")), "24 h before: got %v", rs[1].At.In(loc))

			rs = plan("2026-12-12 14:30", "2026-12-01 10:00", 18, 1)
			require.True(t, rs[1].At.Equal(at("2026-12-12 13:30")), "1 h before: got %v", rs[1].At.In(loc))
			require.True(t, rs[1].Deadline.Equal(at("2026-12-12 14:00")), "never later than 30 min before: got %v", rs[1].Deadline.In(loc))

			rs = plan("2026-12-12 10:00", "2026-12-01 10:00", 18, 5)
			require.True(t, rs[1].At.Equal(at("2026-12-12 09:00")), "05:00 is quiet: moved to 09:00, got %v", rs[1].At.In(loc))
			rs = plan("2026-12-12 09:20", "2026-12-01 10:00", 18, 3)
			require.Len(t, rs, 1, "09:00 would be too late for a 09:20 visit")
			require.Equal(t, texts.ReminderDay, rs[0].Kind)

			require.Empty(t, plan("2026-12-12 14:30", "2026-12-12 13:00", 18, 1), "booked less than 2 h ahead")
			require.Equal(t, activities.ReminderTimes(at("2026-12-12 14:30"), at("2026-12-01 10:00"), loc, 18, quiet),
				plan("2026-12-12 14:30", "2026-12-01 10:00", 18, 2), "ReminderTimes is the 2 h policy")
			require.Equal(t, plan("2026-12-12 14:30", "2026-12-01 10:00", 18, 2), plan("2026-12-12 14:30", "2026-12-01 10:00", 18, 0),
				"out of bounds: 2 h")
		})
	}
}

// The plan-reminders activity uses the salon's hours.
func TestPlanRemindersUsesTheSalonsSettings(t *testing.T) {
	f := newFixture(t, partnerToken)
	f.register(t)
	saveCabinet(t, f, func(p *sqlc.UpsertCabinetSettingsParams) { p.ReminderDayHour, p.ReminderHoursBefore = 19, 4 })
	loc, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	start := time.Date(2030, 3, 14, 15, 0, 0, 0, loc)
	out, err := f.set.Messaging.PlanReminders(context.Background(), activities.PlanRemindersInput{SalonID: salonID,
		Start: start, Now: start.AddDate(0, 0, -7)})
	require.NoError(t, err)
	require.Len(t, out.Reminders, 2)
	require.True(t, out.Reminders[0].At.Equal(time.Date(2030, 3, 13, 19, 0, 0, 0, loc)), "got %v", out.Reminders[0].At)
	require.True(t, out.Reminders[1].At.Equal(start.Add(-4*time.Hour)), "got %v", out.Reminders[1].At)
}

// An example goes to the salon's own linked number once per request key; without a linked
// number it is skipped, and with WhatsApp not connected it fails at once.
func TestSendSample(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	in := activities.SampleInput{SalonID: salonID, Key: 123456789, Kind: texts.Confirmation, Text: "Пример: Анна, ждём вас!"}

	out, err := f.set.WhatsApp.SendSample(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome, "no linked number recorded yet")
	require.Equal(t, "no linked number", out.Reason)

	require.NoError(t, f.set.Install.SetStatus(ctx, activities.SetStatusInput{SalonID: salonID, Status: "active",
		WhatsAppSet: true, WhatsAppPhone: "79990001122", WhatsAppName: "Бархат"}))
	in.Key++
	for range 2 {
		out, err = f.set.WhatsApp.SendSample(ctx, in)
		require.NoError(t, err)
		require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	}
	var own []string
	for _, m := range f.phone.Messages(salonID) {
		if m.Phone == "79990001122" {
			own = append(own, m.Text)
		}
	}
	require.Equal(t, []string{"Пример: Анна, ждём вас!"}, own, "once, to the salon's own number")

	f.phone.Emit(salonID, whatsapp.Status{State: whatsapp.StateLoggedOut})
	in.Key++
	out, err = f.set.WhatsApp.SendSample(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ledger.Failed, out.Outcome, "not waited for: the owner is looking at the page")
	rows, err := f.store.ListMessages(ctx, salonID)
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, r := range rows {
		if r.Kind == string(activities.KindSample) {
			kinds[r.Status]++
		}
	}
	require.Equal(t, map[string]int{"skipped": 1, "sent": 1, "failed": 1}, kinds)
}
