package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

const clientPhone = "79161234567"

// activate installs a salon through the marketplace redirect, the connect page's websocket
// and a scan, and waits until it is active.
func (s *stack) activate(salon int64) {
	s.t.Helper()
	s.scanUntil(salon, "active")
	s.waitSalonStatus(salon, workflows.StatusActive)
}

// scanUntil installs the salon through the marketplace redirect and the connect page's
// websocket, scans the QR code, and returns once the page gets the frame want.
func (s *stack) scanUntil(salon int64, want string) {
	s.t.Helper()
	conn := s.dial(s.installSalon(s.cfg.YClientsBaseURL, salon))
	defer conn.Close()
	s.scanOn(conn, salon, want)
}

// scanOn asks the connect page conn for a QR code, scans it on the salon's simulated phone and
// waits for a frame of the wanted type.
func (s *stack) scanOn(conn *websocket.Conn, salon int64, want string) {
	s.t.Helper()
	requestQR := func() { require.NoError(s.t, conn.WriteJSON(map[string]string{"type": "request-qr"})) }
	requestQR()
	awaitFrame(s.t, conn, "qr", requestQR)
	s.scanSalon(salon)
	awaitFrame(s.t, conn, want, nil)
}

// awaitFrame reads connect-page frames until one of the wanted type arrives. An error frame
// (on a loaded machine a query or update of a brand-new workflow can time out: the page says
// "server unavailable" and recovers) is logged and, when retry is set, the request repeated;
// the fifth one fails the test.
func awaitFrame(t testing.TB, conn *websocket.Conn, want string, retry func()) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	for errors := 0; ; {
		var f frame
		require.NoError(t, conn.ReadJSON(&f), "waiting for a %q frame", want)
		if f.Type == want {
			return
		}
		if f.Type == "error" {
			errors++
			require.Less(t, errors, 5, "error frames while waiting for %q; last: %s", want, f.Message)
			t.Logf("error frame while waiting for %q (retrying): %s", want, f.Message)
			if retry != nil {
				time.Sleep(500 * time.Millisecond)
				retry()
			}
		}
	}
}

// webhookURL is the entity webhook URL the salon's activation gave YClients (it carries the
// salon's secret).
func (s *stack) webhookURL(salon int64) string {
	s.t.Helper()
	for _, cb := range slices.Backward(s.fake.Callbacks()) {
		if cb.SalonID == salon && len(cb.WebhookURLs) > 0 {
			return cb.WebhookURLs[0]
		}
	}
	s.t.Fatalf("no activation callback for salon %d", salon)
	return ""
}

// noPacing turns pacing off for a salon (the benchmark and these tests measure the pipeline,
// not the anti-ban policy, which has tests of its own).
func (s *stack) noPacing(salon int64) {
	s.t.Helper()
	require.NoError(s.t, s.app.Store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
		SalonID: salon, ReminderDayHour: 18, QuietFromMinute: 21 * 60, QuietToMinute: 9 * 60,
		PerMinute: 0, DailyCap: 300, Templates: []byte("{}")}))
}

// noPacingNoQuiet is noPacing with the quiet hours off too: reminders wait them out, and a test
// that sees reminders go runs at any hour.
func (s *stack) noPacingNoQuiet(salon int64) {
	s.t.Helper()
	require.NoError(s.t, s.app.Store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
		SalonID: salon, ReminderDayHour: 18, PerMinute: 0, DailyCap: 300, Templates: []byte("{}")}))
}

// clientTexts is what the simulated phone delivered to the client, in order.
func (s *stack) clientTexts(salon int64) []string {
	var out []string
	for _, m := range s.phone.Messages(salon) {
		if m.Phone == clientPhone {
			out = append(out, m.Text)
		}
	}
	return out
}

func (s *stack) waitClientTexts(salon int64, n int) []string {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return len(s.clientTexts(salon)) >= n }, 30*time.Second, 20*time.Millisecond,
		"want %d messages", n)
	return s.clientTexts(salon)
}

func (s *stack) booking(salon, record int64) workflows.BookingState {
	s.t.Helper()
	v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.BookingID(salon, record), "", workflows.QueryBooking)
	require.NoError(s.t, err)
	var st workflows.BookingState
	require.NoError(s.t, v.Get(&st))
	return st
}

// localTime parses a salon-local wall time "2006-01-02 15:04" some days from now.
func localIn(t testing.TB, zone string, days int, hhmm string) (time.Time, string) {
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	d := time.Now().In(loc).AddDate(0, 0, days)
	v, err := time.ParseInLocation("2006-01-02 15:04", d.Format("2006-01-02")+" "+hhmm, loc)
	require.NoError(t, err)
	return v, v.Format("2006-01-02 15:04:05")
}

func TestEndToEndBookingMessages(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	welcome := len(s.phone.Messages(salon))

	start, local := localIn(t, "Europe/Moscow", 3, "14:30")
	rec, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(t, s.fake, salon), ServiceIDs: []int64{serviceOf(t, s.fake, salon)},
		Client: &yclientsfake.ClientInput{Name: "Анна", Phone: "+" + clientPhone}, Datetime: local})
	require.NoError(t, err)
	got := s.waitClientTexts(salon, 1)
	require.Contains(t, got[0], "Анна, здравствуйте!")
	require.Contains(t, got[0], "14:30")

	// One change delivered as 4 identical updates, and a comment edit: nothing to tell.
	comment := "постоянный клиент"
	_, err = s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Comment: &comment, Duplicates: 4})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)
	require.Len(t, s.clientTexts(salon), 1, "no message for duplicates or a comment")
	// The reminders are armed when the confirmation's send activity has returned to the
	// workflow, which can come after the phone shows the text and the updates are handled.
	require.Eventually(t, func() bool { return len(s.booking(salon, rec.ID).Reminders) == 2 }, 10*time.Second, 20*time.Millisecond,
		"reminders armed after the confirmation")
	st := s.booking(salon, rec.ID)
	require.Len(t, st.Reminders, 2)
	dayBefore := start.AddDate(0, 0, -1)
	require.Equal(t, time.Date(dayBefore.Year(), dayBefore.Month(), dayBefore.Day(), 18, 0, 0, 0, start.Location()).UTC(), st.Reminders[0].At.UTC())
	require.Equal(t, start.Add(-2*time.Hour).UTC(), st.Reminders[1].At.UTC())

	// Reschedule: one change notice, reminders re-armed for the new time.
	moved, movedLocal := localIn(t, "Europe/Moscow", 4, "11:00")
	_, err = s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Datetime: &movedLocal, Duplicates: 4})
	require.NoError(t, err)
	got = s.waitClientTexts(salon, 2)
	require.Contains(t, got[1], "перенесена")
	require.Contains(t, got[1], "11:00")
	require.Eventually(t, func() bool {
		st := s.booking(salon, rec.ID)
		return len(st.Reminders) == 2 && st.Reminders[1].At.Equal(moved.Add(-2*time.Hour))
	}, 10*time.Second, 20*time.Millisecond, "reminders re-armed")

	// Cancel: one cancellation, reminders gone.
	require.NoError(t, s.fake.DeleteRecord(salon, rec.ID, 2))
	got = s.waitClientTexts(salon, 3)
	require.Contains(t, got[2], "отменена")
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // anything wrongly queued would show up now
	require.Len(t, s.clientTexts(salon), 3, "exactly: confirmation, change, cancellation")
	st = s.booking(salon, rec.ID)
	require.True(t, st.Cancelled)
	require.Empty(t, st.Reminders)
	require.Equal(t, welcome+3, len(s.phone.Messages(salon)))

	// The ledger has one row per message.
	rows, err := s.app.Store.ListMessages(context.Background(), salon)
	require.NoError(t, err)
	sent := map[string]int{}
	for _, r := range rows {
		if r.Status == "sent" && r.RecordID == rec.ID {
			sent[r.Kind]++
		}
	}
	require.Equal(t, map[string]int{"confirmation": 1, "change": 1, "cancellation": 1}, sent)
	// The client's name and phone are in the booking's history only encrypted.
	hist := s.app.Temporal.GetWorkflowHistory(context.Background(), workflows.BookingID(salon, rec.ID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	signals := 0
	for hist.HasNext() {
		ev, err := hist.Next()
		require.NoError(t, err)
		raw, err := protoJSON(ev)
		require.NoError(t, err)
		require.NotContains(t, string(raw), base64.StdEncoding.EncodeToString([]byte(clientPhone))[:8])
		require.NotContains(t, []enums.EventType{enums.EVENT_TYPE_MARKER_RECORDED, enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES},
			ev.GetEventType(), "a booking the dispatcher starts records no version marker (event %d)", ev.GetEventId())
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			signals++
			for _, p := range a.GetInput().GetPayloads() {
				require.Equal(t, "binary/encrypted", string(p.GetMetadata()["encoding"]))
				require.NotContains(t, string(p.GetData()), clientPhone)
				require.NotContains(t, string(p.GetData()), "Анна")
			}
		}
	}
	require.Positive(t, signals)
	if os.Getenv("AIADMIN_RECORD_HISTORY") != "" {
		run := s.app.Temporal.GetWorkflow(context.Background(), workflows.BookingID(salon, rec.ID), "")
		require.NoError(t, run.Get(context.Background(), nil), "the cancelled booking completes")
		recordWorkflowHistory(t, s.app.Temporal, workflows.BookingID(salon, rec.ID), run.GetRunID(), "booking-"+t.Name())
	}

	// Opt-out: the client writes «стоп», gets one acknowledgement, and no more messages.
	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/incoming", salon), "application/json",
		strings.NewReader(`{"from":"`+clientPhone+`","text":"стоп"}`))
	require.NoError(t, err)
	resp.Body.Close()
	got = s.waitClientTexts(salon, 4)
	_, local2 := localIn(t, "Europe/Moscow", 5, "12:00")
	rec2, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(t, s.fake, salon), ServiceIDs: []int64{serviceOf(t, s.fake, salon)},
		Client: &yclientsfake.ClientInput{Name: "Анна", Phone: clientPhone}, Datetime: local2})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.BookingID(salon, rec2.ID), "", workflows.QueryBooking)
		if err != nil {
			return false
		}
		var st workflows.BookingState
		if v.Get(&st) != nil {
			return false
		}
		for _, m := range st.Messages {
			if m.Kind == texts.Confirmation && m.Reason == "opted_out" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	require.Len(t, s.clientTexts(salon), 4)
}

func TestEndToEndRemindersInSalonTimeZones(t *testing.T) {
	s := newStack(t)
	for _, c := range []struct {
		salon int64
		zone  string
	}{
		{s.moscow, "Europe/Moscow"},
		{s.vladivostok, "Asia/Vladivostok"},
		{s.kaliningrad, "Europe/Kaliningrad"},
	} {
		s.activate(c.salon)
		start, local := localIn(t, c.zone, 2, "10:30")
		rec, err := s.fake.CreateRecord(c.salon, yclientsfake.RecordInput{StaffID: staffOf(t, s.fake, c.salon),
			ServiceIDs: []int64{serviceOf(t, s.fake, c.salon)}, Client: &yclientsfake.ClientInput{Name: "Ирина", Phone: "79990002233"}, Datetime: local})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.BookingID(c.salon, rec.ID), "", workflows.QueryBooking)
			var st workflows.BookingState
			return err == nil && v.Get(&st) == nil && len(st.Reminders) == 2
		}, 15*time.Second, 20*time.Millisecond, c.zone)
		st := s.booking(c.salon, rec.ID)
		loc := start.Location()
		require.Equal(t, "18:00", st.Reminders[0].At.In(loc).Format("15:04"), "%s: day before at 18:00 salon time", c.zone)
		require.Equal(t, start.AddDate(0, 0, -1).Format("2006-01-02"), st.Reminders[0].At.In(loc).Format("2006-01-02"))
		require.Equal(t, "09:00", st.Reminders[1].At.In(loc).Format("15:04"), "%s: 08:30 is in quiet hours: moved to 09:00", c.zone)
	}
}

func (s *stack) inboxDone(salon int64) bool {
	n, err := s.app.Store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: salon, State: "pending"})
	return err == nil && n == 0
}

func staffOf(t testing.TB, f *yclientsfake.Fake, salon int64) int64 {
	t.Helper()
	for _, r := range seeded(t, f, salon).Staff {
		if !r.Fired {
			return r.ID
		}
	}
	t.Fatal("no staff")
	return 0
}

func serviceOf(t testing.TB, f *yclientsfake.Fake, salon int64) int64 {
	t.Helper()
	for _, sv := range seeded(t, f, salon).Services {
		if sv.Active {
			return sv.ID
		}
	}
	t.Fatal("no service")
	return 0
}

func seeded(t testing.TB, f *yclientsfake.Fake, salon int64) yclientsfake.Salon {
	t.Helper()
	s, ok := f.Salon(salon)
	require.True(t, ok, "salon %d seeded", salon)
	return s
}

// TestEndToEndClientWelcome: a new YClients client gets no message by default, and one
// welcome (whatever the duplicate webhooks) when the salon enabled it.
func TestEndToEndClientWelcome(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	s.activate(salon)
	_, err := s.fake.CreateClient(salon, yclientsfake.ClientInput{Name: "Мария", Phone: "79995556677"}, 2)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	for _, m := range s.phone.Messages(salon) {
		require.NotEqual(t, "79995556677", m.Phone, "no message unless the salon enables one")
	}

	// Quiet hours off: the welcome waits them out, and this test runs at any hour.
	require.NoError(t, s.app.Store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
		SalonID: salon, ReminderDayHour: 18, PerMinute: 0, DailyCap: 300, ClientWelcome: true, Templates: []byte("{}")}))
	cl, err := s.fake.CreateClient(salon, yclientsfake.ClientInput{Name: "Светлана", Phone: "79994443322"}, 3)
	require.NoError(t, err)
	var got []string
	require.Eventually(t, func() bool {
		got = nil
		for _, m := range s.phone.Messages(salon) {
			if m.Phone == "79994443322" {
				got = append(got, m.Text)
			}
		}
		return len(got) > 0
	}, 15*time.Second, 20*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	got = nil
	for _, m := range s.phone.Messages(salon) {
		if m.Phone == "79994443322" {
			got = append(got, m.Text)
		}
	}
	require.Len(t, got, 1, "one welcome across 3 duplicate webhooks")
	require.Contains(t, got[0], "Светлана")
	if os.Getenv("AIADMIN_RECORD_HISTORY") != "" {
		run := s.app.Temporal.GetWorkflow(context.Background(), workflows.ClientWelcomeID(salon, cl.ID), "")
		require.NoError(t, run.Get(context.Background(), nil))
		recordWorkflowHistory(t, s.app.Temporal, workflows.ClientWelcomeID(salon, cl.ID), run.GetRunID(), "client-welcome-"+t.Name())
	}
}
