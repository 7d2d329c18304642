package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/cmd/internal/incoming"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

// The tests in this file play clients answering through the simulated phone
// (/demo/whatsapp/{salon}/incoming), with YClients' attendance read back from the fake's
// control API and the owner's second channel received by a test server.

// replyStack is a stack whose owner channel the test receives, with a 1 s review delay.
func replyStack(t *testing.T) (*stack, *ownerInbox) {
	t.Helper()
	owner := &ownerInbox{}
	srv := httptest.NewServer(owner)
	t.Cleanup(srv.Close)
	s := newStackWith(t, func(c *config.Config) {
		c.OwnerWebhookURL = srv.URL
		c.ReviewDelay = time.Second
	})
	return s, owner
}

// ofKind is what the owner channel received of a kind.
func (o *ownerInbox) ofKind(kind string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, n := range o.notices {
		if n["kind"] == kind {
			m, _ := n["message"].(string)
			out = append(out, m)
		}
	}
	return out
}

// salonSettings saves the salon's cabinet settings: pacing and quiet hours off, the rest the
// defaults changed by change.
func (s *stack) salonSettings(salon int64, change func(*sqlc.UpsertCabinetSettingsParams)) {
	s.t.Helper()
	p := sqlc.UpsertCabinetSettingsParams{SalonID: salon, ReminderDayHour: 18, DailyCap: 300, Templates: []byte("{}"),
		SendConfirmation: true, SendChange: true, SendCancellation: true, SendReminderDay: true, SendReminderBefore: true,
		ReminderHoursBefore: 2, ReviewDelayMinutes: 180, ConfirmByReply: true}
	change(&p)
	require.NoError(s.t, s.app.Store.UpsertCabinetSettings(context.Background(), p))
}

// clientSays plays the client writing text to the salon's number.
func (s *stack) clientSays(salon int64, phone, text string) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"from": phone, "text": text})
	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/incoming", salon), "application/json",
		strings.NewReader(string(body)))
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Less(s.t, resp.StatusCode, 300, "incoming: %d", resp.StatusCode)
}

// textsTo is what the simulated phone delivered to a client, in order.
func (s *stack) textsTo(salon int64, phone string) []string {
	var out []string
	for _, m := range s.phone.Messages(salon) {
		if m.Phone == phone {
			out = append(out, m.Text)
		}
	}
	return out
}

func (s *stack) waitTextsTo(salon int64, phone string, n int) []string {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return len(s.textsTo(salon, phone)) >= n }, 30*time.Second, 20*time.Millisecond,
		"want %d messages to the client", n)
	return s.textsTo(salon, phone)
}

// fakeRecord reads a record through the fake YClients' control API, as YClients' API has it.
func (s *stack) fakeRecord(salon, record int64) map[string]any {
	s.t.Helper()
	resp, err := s.http.Get(s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/salons/%d/records/%d", salon, record))
	require.NoError(s.t, err)
	defer resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
	var rec map[string]any
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&rec))
	return rec
}

func (s *stack) waitAttendance(salon, record int64, want int) {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return s.fakeRecord(salon, record)["attendance"] == float64(want) },
		30*time.Second, 50*time.Millisecond, "attendance %d in YClients", want)
}

// markAttended marks a visit attended as a salon administrator does in YClients (the fake's
// control API; YClients then sends the record's update webhook).
func (s *stack) markAttended(salon, record int64) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.cfg.YClientsBaseURL+fmt.Sprintf("/_fake/salons/%d/records/%d", salon, record),
		strings.NewReader(`{"attendance":1}`))
	require.NoError(s.t, err)
	resp, err := s.http.Do(req)
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
}

// book creates a record in the fake YClients for a Moscow salon's client, at start.
func (s *stack) book(salon int64, name, phone string, start time.Time) yclientsfake.Record {
	s.t.Helper()
	local := start.In(mustZone(s.t, "Europe/Moscow")).Format("2006-01-02 15:04:05")
	rec, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(s.t, s.fake, salon),
		ServiceIDs: []int64{serviceOf(s.t, s.fake, salon)}, Client: &yclientsfake.ClientInput{Name: name, Phone: phone}, Datetime: local})
	require.NoError(s.t, err)
	return rec
}

// replyID is the client's client-reply workflow.
func (s *stack) replyID(salon int64, phone string) string {
	return workflows.ReplyID(salon, incoming.ClientRef(s.cfg.SecretKey, salon, phone))
}

// requireNoPhoneInClear checks a workflow's ID and history: the phone only in encrypted
// payloads.
func (s *stack) requireNoPhoneInClear(workflowID, phone string) {
	s.t.Helper()
	require.NotContains(s.t, workflowID, phone[1:])
	require.Empty(s.t, phonesInHistory(s.t, s.app.Temporal, workflowID, ""))
	hist := s.app.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for hist.HasNext() {
		ev, err := hist.Next()
		require.NoError(s.t, err)
		raw, err := protoJSON(ev)
		require.NoError(s.t, err)
		require.NotContains(s.t, string(raw), phone[1:])
		require.NotContains(s.t, string(raw), base64.StdEncoding.EncodeToString([]byte(phone))[:8])
		n++
	}
	require.Positive(s.t, n)
}

// settled waits until the salon's webhooks are handed on, and a moment for anything wrongly
// queued to show.
func (s *stack) settled(salon int64) {
	s.t.Helper()
	require.Eventually(s.t, func() bool { return s.inboxDone(salon) }, 15*time.Second, 20*time.Millisecond)
	time.Sleep(700 * time.Millisecond)
}

// TestEndToEndConfirmByReply: the confirmation asks, the client answers «1»: YClients has the
// record confirmed (attendance 2), the client gets one thanks, and YClients' update webhook that
// follows makes no change notice; a second «1» changes nothing.
func TestEndToEndConfirmByReply(t *testing.T) {
	s, owner := replyStack(t)
	salon := s.moscow
	s.activate(salon)
	s.salonSettings(salon, func(p *sqlc.UpsertCabinetSettingsParams) { p.ConfirmOnBooking = true })
	rec := s.book(salon, "Анна", clientPhone, at(t, 3, "14:30"))
	got := s.waitTextsTo(salon, clientPhone, 1)
	require.Contains(t, got[0], texts.ConfirmLine)

	s.clientSays(salon, clientPhone, "1")
	s.waitAttendance(salon, rec.ID, 2)
	got = s.waitTextsTo(salon, clientPhone, 2)
	require.True(t, strings.HasPrefix(got[1], "Анна, спасибо, что подтвердили!"), got[1])
	// YClients' update webhook of the attendance reached the booking, which told nothing.
	require.Eventually(t, func() bool {
		n, err := s.app.Store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: salon, State: "processed"})
		return err == nil && n >= 2
	}, 15*time.Second, 20*time.Millisecond)
	s.clientSays(salon, clientPhone, "Да, спасибо!")
	s.settled(salon)
	require.Len(t, s.textsTo(salon, clientPhone), 2, "exactly: confirmation, thanks")
	st := s.booking(salon, rec.ID)
	require.False(t, st.Cancelled)
	for _, m := range st.Messages {
		require.Equal(t, texts.Confirmation, m.Kind, "the booking sent nothing but the confirmation: %+v", m)
	}
	require.Empty(t, owner.ofKind("client_declined"))
	id := s.replyID(salon, clientPhone)
	s.requireNoPhoneInClear(id, clientPhone)
	recordWorkflowHistory(t, s.app.Temporal, id, "", "client-reply-"+t.Name())
}

// TestEndToEndDeclineByReply: «2» reaches the owner with the client, the visit and the master,
// and the client gets one acknowledgement; where the salon lets a «не смогу» cancel, YClients
// has the visit cancelled and the client gets one message, the cancellation, not two.
func TestEndToEndDeclineByReply(t *testing.T) {
	s, owner := replyStack(t)
	salon := s.moscow
	s.activate(salon)
	s.salonSettings(salon, func(p *sqlc.UpsertCabinetSettingsParams) { p.ConfirmOnBooking = true })
	rec := s.book(salon, "Анна", clientPhone, at(t, 3, "14:30"))
	s.waitTextsTo(salon, clientPhone, 1)
	s.clientSays(salon, clientPhone, "2")
	got := s.waitTextsTo(salon, clientPhone, 2)
	require.True(t, strings.HasPrefix(got[1], "Анна, спасибо, передали администратору — с вами свяжутся."), got[1])
	require.Eventually(t, func() bool { return len(owner.ofKind("client_declined")) == 1 }, 10*time.Second, 20*time.Millisecond)
	notice := owner.ofKind("client_declined")[0]
	require.Contains(t, notice, "Клиент не сможет прийти")
	require.Contains(t, notice, "Клиент: Анна, +"+clientPhone)
	require.Contains(t, notice, "Мастер: ")
	require.Contains(t, notice, "14:30")
	s.clientSays(salon, clientPhone, "не смогу") // again: nothing new
	s.settled(salon)
	require.Len(t, s.textsTo(salon, clientPhone), 2, "exactly: confirmation, acknowledgement")
	require.Len(t, owner.ofKind("client_declined"), 1)
	require.Equal(t, float64(0), s.fakeRecord(salon, rec.ID)["attendance"], "the salon decides")

	// The salon lets a «не смогу» cancel.
	const other = "79990004455"
	s.salonSettings(salon, func(p *sqlc.UpsertCabinetSettingsParams) { p.ConfirmOnBooking, p.DeclineCancels = true, true })
	rec2 := s.book(salon, "Ирина", other, at(t, 4, "11:00"))
	s.waitTextsTo(salon, other, 1)
	s.clientSays(salon, other, "Не смогу прийти")
	s.waitAttendance(salon, rec2.ID, -1)
	require.Eventually(t, func() bool { st, ok := s.bookingNow(salon, rec2.ID); return ok && st.Cancelled }, 15*time.Second, 20*time.Millisecond,
		"YClients' webhook cancelled the booking")
	s.settled(salon)
	got = s.textsTo(salon, other)
	require.Len(t, got, 2, "exactly: confirmation, cancellation: %q", got)
	require.Contains(t, got[1], "отменена")
	notices := owner.ofKind("client_declined")
	require.Len(t, notices, 2)
	require.Contains(t, notices[1], "Визит отменён в YClients")
	var cancellation []workflows.MessageLog
	require.Eventually(t, func() bool { // the booking's notice waits out the merge window first
		cancellation = nil
		for _, m := range s.booking(salon, rec2.ID).Messages {
			if m.Kind == texts.Cancellation {
				cancellation = append(cancellation, m)
			}
		}
		return len(cancellation) > 0
	}, 15*time.Second, 50*time.Millisecond, "the booking logs its cancellation notice")
	require.Len(t, cancellation, 1)
	require.Equal(t, "already sent", cancellation[0].Reason, "the booking found the answer sent")
}

// TestEndToEndReviewRequests: a visit marked attended gets a review request after the delay;
// «5» gets the thanks with the salon's review link; another client's «2» gets thanks without
// it, and the owner gets the client, the visit, the master and the score.
func TestEndToEndReviewRequests(t *testing.T) {
	s, owner := replyStack(t)
	salon := s.moscow
	s.activate(salon)
	const link = "https://yandex.ru/maps/org/barhat/1234/reviews"
	s.salonSettings(salon, func(p *sqlc.UpsertCabinetSettingsParams) { p.ReviewRequests, p.ReviewURL = true, link })
	const other = "79990004455"
	begun := time.Now().Add(-time.Hour).Truncate(time.Minute)
	happy := s.book(salon, "Анна", clientPhone, begun)
	unhappy := s.book(salon, "Ирина", other, begun)
	s.settled(salon)
	require.Empty(t, s.textsTo(salon, clientPhone), "a visit that has begun gets no confirmation")

	s.markAttended(salon, happy.ID)
	got := s.waitTextsTo(salon, clientPhone, 1)
	require.Contains(t, got[0], "Оцените его от 1 до 5")
	s.clientSays(salon, clientPhone, "5")
	got = s.waitTextsTo(salon, clientPhone, 2)
	require.Contains(t, got[1], "за высокую оценку")
	require.Contains(t, got[1], link)
	run := s.app.Temporal.GetWorkflow(context.Background(), workflows.ReviewID(salon, happy.ID), "")
	var res workflows.ReviewResult
	require.NoError(t, run.Get(context.Background(), &res))
	require.Equal(t, workflows.ReviewResult{Request: ledger.Sent, Score: 5, Answer: ledger.Sent}, res)
	s.requireNoPhoneInClear(workflows.ReviewID(salon, happy.ID), clientPhone)
	recordWorkflowHistory(t, s.app.Temporal, workflows.ReviewID(salon, happy.ID), run.GetRunID(), "review-request-"+t.Name())

	s.markAttended(salon, unhappy.ID)
	s.waitTextsTo(salon, other, 1)
	s.clientSays(salon, other, "2")
	got = s.waitTextsTo(salon, other, 2)
	require.Contains(t, got[1], "за честную оценку")
	require.NotContains(t, got[1], "http", "no public link for a low score")
	require.Eventually(t, func() bool { return len(owner.ofKind("low_review_score")) == 1 }, 10*time.Second, 20*time.Millisecond)
	notice := owner.ofKind("low_review_score")[0]
	require.Contains(t, notice, "2 из 5")
	require.Contains(t, notice, "Клиент: Ирина, +"+other)
	require.Contains(t, notice, "Мастер: ")

	// A later update of the attended record asks nothing again; numbers now answer nothing.
	comment := "оплачено"
	_, err := s.fake.UpdateRecord(salon, happy.ID, yclientsfake.RecordChange{Comment: &comment})
	require.NoError(t, err)
	s.clientSays(salon, clientPhone, "4")
	s.settled(salon)
	time.Sleep(1500 * time.Millisecond) // longer than the review delay
	require.Len(t, s.textsTo(salon, clientPhone), 2)
	require.Len(t, s.textsTo(salon, other), 2)
	if os.Getenv("AIADMIN_RECORD_HISTORY") != "" {
		recordWorkflowHistory(t, s.app.Temporal, workflows.BookingID(salon, happy.ID), "", "booking-"+t.Name())
	}
}

// TestEndToEndStartResubscribes: a client who wrote «стоп» writes «старт», is told so once,
// and the next booking's confirmation reaches them.
func TestEndToEndStartResubscribes(t *testing.T) {
	s, _ := replyStack(t)
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	s.clientSays(salon, clientPhone, "Стоп")
	got := s.waitTextsTo(salon, clientPhone, 1)
	require.Contains(t, got[0], "больше не будем присылать")
	rec := s.book(salon, "Анна", clientPhone, at(t, 3, "14:30"))
	require.Eventually(t, func() bool {
		st, ok := s.bookingNow(salon, rec.ID)
		if !ok {
			return false
		}
		for _, m := range st.Messages {
			if m.Kind == texts.Confirmation && m.Reason == "opted_out" {
				return true
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond)

	s.clientSays(salon, clientPhone, "СТАРТ")
	got = s.waitTextsTo(salon, clientPhone, 2)
	require.Contains(t, got[1], "снова будем присылать")
	s.book(salon, "Анна", clientPhone, at(t, 4, "12:00"))
	got = s.waitTextsTo(salon, clientPhone, 3)
	require.Contains(t, got[2], "Анна, здравствуйте!")
	require.Contains(t, got[2], "12:00")
	s.settled(salon)
	require.Len(t, s.textsTo(salon, clientPhone), 3, "exactly: opt-out, opt-in, the new confirmation")
}

// bookingNow is the record's booking state; false while the workflow does not answer yet.
func (s *stack) bookingNow(salon, record int64) (workflows.BookingState, bool) {
	var st workflows.BookingState
	v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.BookingID(salon, record), "", workflows.QueryBooking)
	return st, err == nil && v.Get(&st) == nil
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// at is a Moscow wall time some days from now.
func at(t testing.TB, days int, hhmm string) time.Time {
	start, _ := localIn(t, "Europe/Moscow", days, hhmm)
	return start
}
