package activities_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// ownerHook receives the owner notices the notifier posts.
type ownerHook struct {
	mu      sync.Mutex
	notices []map[string]any
}

func (h *ownerHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	h.mu.Lock()
	h.notices = append(h.notices, m)
	h.mu.Unlock()
}

func (h *ownerHook) all() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.notices...)
}

// withOwnerHook rebuilds the fixture's activities with an owner webhook and a review delay.
func withOwnerHook(t *testing.T, f *fixture, reviewDelay time.Duration) *ownerHook {
	t.Helper()
	hook := &ownerHook{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	set, err := activities.NewSet(activities.Deps{Store: f.store, YClients: f.yc, WhatsApp: f.phone, Box: f.box,
		Notifier: notify.New(notify.Config{Store: f.store, OwnerWebhookURL: srv.URL}), Temporal: noTemporal{},
		PublicURL: "https://aiadmin.example", ReviewDelay: reviewDelay,
		RelinkURL: func(activities.RelinkInput) (string, error) { return "https://aiadmin.example/r", nil }})
	require.NoError(t, err)
	f.set = set
	return hook
}

func findQuestion(t *testing.T, f *fixture, at time.Time) activities.FindQuestionOutput {
	t.Helper()
	out, err := f.set.Messaging.FindQuestion(context.Background(), activities.FindQuestionInput{SalonID: salonID,
		Phone: "79161234567", At: at})
	require.NoError(t, err)
	return out
}

// A reply finds the upcoming visit whose reminder asked to confirm, as YClients has it now;
// not before the ask, not once the visit moved or was cancelled.
func TestFindQuestionMatchesTheAskedVisit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(30 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	before := time.Now().Add(-time.Minute)
	require.Nil(t, findQuestion(t, f, time.Now()).Confirm, "nothing asked yet")

	out, err := f.set.Messaging.Deliver(ctx, deliverIn(texts.Reminder2h, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome)
	require.Nil(t, findQuestion(t, f, time.Now()).Confirm, "the second reminder does not ask")

	out, err = f.set.Messaging.Deliver(ctx, deliverIn(texts.ReminderDay, start))
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome)
	require.Contains(t, clientMessages(f)[1], texts.ConfirmLine)
	q := findQuestion(t, f, time.Now())
	require.NotNil(t, q.Confirm)
	require.Equal(t, recordID, q.Confirm.RecordID)
	require.True(t, q.Confirm.Visit.Start.Equal(start))
	require.Equal(t, "Оксана", q.Confirm.Visit.StaffName)
	require.Equal(t, []string{"Стрижка"}, q.Confirm.Visit.Services)
	require.False(t, q.Confirm.Declined)
	require.False(t, q.DeclineCancels)
	require.Nil(t, q.Review)
	require.Nil(t, findQuestion(t, f, before).Confirm, "a message written before the ask answers nothing")

	moved := start.Add(time.Hour).Format("2006-01-02 15:04:05")
	_, err = f.fake.UpdateRecord(salonID, recordID, yclientsfake.RecordChange{Datetime: &moved})
	require.NoError(t, err)
	require.Nil(t, findQuestion(t, f, time.Now()).Confirm, "moved since: the answer was about another time")
	back := start.In(time.FixedZone("MSK", 3*3600)).Format("2006-01-02 15:04:05")
	_, err = f.fake.UpdateRecord(salonID, recordID, yclientsfake.RecordChange{Datetime: &back})
	require.NoError(t, err)
	require.NotNil(t, findQuestion(t, f, time.Now()).Confirm)
	require.NoError(t, f.fake.DeleteRecord(salonID, recordID, 1))
	require.Nil(t, findQuestion(t, f, time.Now()).Confirm, "cancelled since")
}

// Attendance goes to YClients once: 2 on a waiting visit, nothing when it is already set or the
// salon marked it otherwise; a deleted record is NotFound; a 429 waits for Retry-After.
func TestSetAttendance(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(30 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	puts := func() int {
		n := 0
		for _, r := range f.fake.Requests() {
			if r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/api/v1/visits/") && r.Status == http.StatusOK {
				n++
			}
		}
		return n
	}
	confirm := activities.AttendanceInput{SalonID: salonID, RecordID: recordID, Attendance: activities.AttendanceConfirmed}
	require.NoError(t, f.set.Messaging.SetAttendance(ctx, confirm))
	rec, ok := f.fake.Record(salonID, recordID)
	require.True(t, ok)
	require.Equal(t, 2, rec.Attendance)
	require.NoError(t, f.set.Messaging.SetAttendance(ctx, confirm))
	require.Equal(t, 1, puts(), "already confirmed: no second change")

	came := 1
	_, err := f.fake.UpdateRecord(salonID, recordID, yclientsfake.RecordChange{Attendance: &came})
	require.NoError(t, err)
	require.NoError(t, f.set.Messaging.SetAttendance(ctx, confirm))
	rec, _ = f.fake.Record(salonID, recordID)
	require.Equal(t, 1, rec.Attendance, "a confirmation never overwrites what the salon marked")

	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/record/", Status: 429, RetryAfter: 3, Count: 1}))
	err = f.set.Messaging.SetAttendance(ctx, activities.AttendanceInput{SalonID: salonID, RecordID: recordID, Attendance: activities.AttendanceNoShow})
	require.Equal(t, activities.ErrTypeRateLimited, appErrType(err))
	var appErr *temporal.ApplicationError
	require.True(t, errorsAs(err, &appErr))
	require.Equal(t, 3*time.Second, appErr.NextRetryDelay(), "Retry-After honoured")
	require.NoError(t, f.set.Messaging.SetAttendance(ctx, activities.AttendanceInput{SalonID: salonID, RecordID: recordID, Attendance: activities.AttendanceNoShow}))
	rec, _ = f.fake.Record(salonID, recordID)
	require.Equal(t, -1, rec.Attendance)

	require.NoError(t, f.fake.DeleteRecord(salonID, recordID, 1))
	err = f.set.Messaging.SetAttendance(ctx, confirm)
	require.Equal(t, activities.ErrTypeNotFound, appErrType(err))
}

// The owner hears of a «не смогу» and of a low score with the client, the visit and the
// master; the operators get an alert without the client's data.
func TestNotifyReply(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Date(2026, 12, 12, 11, 30, 0, 0, time.UTC) // 14:30 in Moscow
	activeSalon(t, f, start)
	hook := withOwnerHook(t, f, 0)
	v := deliverIn(texts.ReminderDay, start).Visit
	require.NoError(t, f.set.Messaging.NotifyReply(ctx, activities.ReplyNotice{SalonID: salonID, RecordID: recordID,
		Kind: activities.NoticeDeclined, Visit: v}))
	require.NoError(t, f.set.Messaging.NotifyReply(ctx, activities.ReplyNotice{SalonID: salonID, RecordID: recordID,
		Kind: activities.NoticeLowScore, Visit: v, Score: 2}))
	notices := hook.all()
	require.Len(t, notices, 2)
	require.Equal(t, activities.NoticeDeclined, notices[0]["kind"])
	msg := notices[0]["message"].(string)
	require.Contains(t, msg, "Клиент не сможет прийти")
	require.Contains(t, msg, "Клиент: Анна, +79161234567")
	require.Contains(t, msg, "Визит: суббота, 12 декабря, 14:30 — Стрижка")
	require.Contains(t, msg, "Мастер: Оксана")
	require.Equal(t, activities.NoticeLowScore, notices[1]["kind"])
	require.Contains(t, notices[1]["message"], "2 из 5")
	require.Contains(t, notices[1]["message"], "Мастер: Оксана")

	salon := salonID
	alerts, err := f.store.ListOpsAlerts(ctx, sqlc.ListOpsAlertsParams{SalonID: &salon, MaxRows: 10})
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	for _, a := range alerts {
		require.NotContains(t, a.Message, "Анна")
		require.NotContains(t, a.Message, "9161234567")
	}
	err = f.set.Messaging.NotifyReply(ctx, activities.ReplyNotice{SalonID: salonID, Kind: "nonsense"})
	require.Equal(t, activities.ErrTypeInvalid, appErrType(err))
}

// Answers go whatever became of the record: a «не смогу» that cancelled the visit is still
// answered, while a confirmation's thanks is not sent for a cancelled visit.
func TestDeliverAnswersEvenWhenCancelled(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	start := time.Now().Add(30 * time.Hour).Truncate(time.Minute)
	activeSalon(t, f, start)
	noShow := -1
	_, err := f.fake.UpdateRecord(salonID, recordID, yclientsfake.RecordChange{Attendance: &noShow})
	require.NoError(t, err)
	in := deliverIn(texts.ConfirmThanks, start)
	in.Deadline = time.Now().Add(time.Hour)
	out, err := f.set.Messaging.Deliver(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ledger.Skipped, out.Outcome)
	in.Kind = texts.DeclineAck
	out, err = f.set.Messaging.Deliver(ctx, in)
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, out.Outcome, out.Reason)
	msgs := clientMessages(f)
	require.Len(t, msgs, 1)
	require.True(t, strings.HasPrefix(msgs[0], "Анна, спасибо, передали администратору — с вами свяжутся."), msgs[0])
}
