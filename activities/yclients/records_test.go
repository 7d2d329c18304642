package yclients_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// hookSink is our entity webhook endpoint: it keeps the bodies YClients posts.
type hookSink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.mu.Unlock()
}

// webhook parses the i-th webhook received.
func (h *hookSink) webhook(t *testing.T, i int) (yclients.Webhook, yclients.Record) {
	t.Helper()
	h.mu.Lock()
	body := h.bodies[i]
	h.mu.Unlock()
	wh, _, err := yclients.ParseWebhook(body)
	require.NoError(t, err)
	rec, err := yclients.DecodeRecord(wh.Data)
	require.NoError(t, err)
	return wh, rec
}

// activateWithHooks activates the salon with a webhook URL served by a new hookSink.
func activateWithHooks(t *testing.T, e *env, salonID int64) *hookSink {
	t.Helper()
	sink := &hookSink{}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	_, err := e.client.ActivationCallback(t.Context(), yclients.CallbackRequest{
		SalonID: salonID, APIKey: "api-key-1", WebhookURLs: []string{srv.URL + "/webhook/yclients/s3cr3t"}})
	require.NoError(t, err)
	return sink
}

func waitHooks(t *testing.T, e *env, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.fake.WaitDeliveries(ctx, n))
}

// requestsTo lists "METHOD path" of the API requests the fake answered under prefix.
func requestsTo(e *env, prefix string) []string {
	var out []string
	for _, r := range e.fake.Requests() {
		if len(r.Path) >= len(prefix) && r.Path[:len(prefix)] == prefix {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestClientSetAttendance(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, yclientsfake.Options{EntityDelay: -1}, yclients.Config{})
	sink := activateWithHooks(t, e, yclientsfake.DemoSalonMoscow)
	before, err := e.client.Record(ctx, yclientsfake.DemoSalonMoscow, 500002)
	require.NoError(t, err)
	require.Equal(t, int64(7500002), before.VisitID)
	require.Equal(t, "Нюдовый оттенок", before.Comment)

	t.Run("a confirmation", func(t *testing.T) {
		require.NoError(t, e.client.SetAttendance(ctx, yclientsfake.DemoSalonMoscow, before.VisitID, before.ID, 2))
		got, _ := e.fake.Record(yclientsfake.DemoSalonMoscow, 500002)
		require.Equal(t, 2, got.Attendance)
		require.Equal(t, "Нюдовый оттенок", got.Comment, "the salon's comment is kept")
		require.Equal(t, []string{
			"GET /api/v1/record/100001/500002", // ours, for before
			"GET /api/v1/record/100001/500002", // SetAttendance reads the comment
			"PUT /api/v1/visits/7500002/500002",
		}, requestsTo(e, "/api/v1/"))

		waitHooks(t, e, 1)
		wh, rec := sink.webhook(t, 0)
		require.Equal(t, "record", wh.Resource)
		require.Equal(t, "update", wh.Status)
		require.Equal(t, 2, rec.Attendance)
		require.Equal(t, before.VisitID, rec.VisitID)
		require.True(t, rec.LastChangeDate.After(before.LastChangeDate), "last_change_date moved: %v", rec.LastChangeDate)
		now, err := e.client.Record(ctx, yclientsfake.DemoSalonMoscow, 500002)
		require.NoError(t, err)
		require.Equal(t, now.LastChangeDate, rec.LastChangeDate)
	})
	t.Run("the soft cancel", func(t *testing.T) {
		require.NoError(t, e.client.SetAttendance(ctx, yclientsfake.DemoSalonMoscow, before.VisitID, before.ID, -1))
		got, _ := e.fake.Record(yclientsfake.DemoSalonMoscow, 500002)
		require.Equal(t, -1, got.Attendance)
		require.False(t, got.Deleted)
		waitHooks(t, e, 2)
		_, rec := sink.webhook(t, 1)
		require.Equal(t, -1, rec.Attendance)
	})
	t.Run("errors", func(t *testing.T) {
		n := len(e.fake.Requests())
		err := e.client.SetAttendance(ctx, yclientsfake.DemoSalonMoscow, before.VisitID, before.ID, 3)
		require.ErrorContains(t, err, "attendance 3")
		require.Len(t, e.fake.Requests(), n, "refused before any request")

		err = e.client.SetAttendance(ctx, yclientsfake.DemoSalonMoscow, 7500001, before.ID, 2)
		require.True(t, yclients.IsNotFound(err), "a visit that is not the record's: %v", err)
		require.False(t, yclients.IsRetryable(err))
		err = e.client.SetAttendance(ctx, yclientsfake.DemoSalonMoscow, 7000009, 9, 2)
		require.True(t, yclients.IsNotFound(err), "an unknown record: %v", err)
		got, _ := e.fake.Record(yclientsfake.DemoSalonMoscow, 500002)
		require.Equal(t, -1, got.Attendance, "nothing changed")
	})
}

func TestClientRecordsPaging(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
	const salon = yclientsfake.DemoSalonKaliningrad
	var want []int64
	for day := 1; day <= 23; day++ { // March 2027: clear of the seeded records
		for hour := 10; hour < 20; hour++ {
			rec, err := e.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: 6001, ServiceIDs: []int64{5001},
				Datetime: fmt.Sprintf("2027-03-%02d %02d:00:00", day, hour)})
			require.NoError(t, err)
			if hour == 19 && day%5 == 0 {
				require.NoError(t, e.fake.DeleteRecord(salon, rec.ID, 0))
				continue
			}
			want = append(want, rec.ID)
		}
	}
	kgd, err := time.LoadLocation("Europe/Kaliningrad")
	require.NoError(t, err)
	from := time.Date(2027, 3, 1, 0, 0, 0, 0, kgd)

	got, err := e.client.Records(ctx, salon, from, from.AddDate(0, 0, 30))
	require.NoError(t, err)
	require.Len(t, got, 226, "230 made, 4 deleted")
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
		require.False(t, r.Deleted)
		require.Equal(t, int64(salon), r.CompanyID)
	}
	require.Equal(t, want, ids, "every record once, by visit time")
	require.Equal(t, slices.Repeat([]string{"GET /api/v1/records/100003"}, 3), requestsTo(e, "/api/v1/records/"),
		"pages of 100 until total_count")
	_, off := got[0].Datetime.Zone()
	require.Equal(t, 2*3600, off, "Kaliningrad's offset kept")

	t.Run("a few days", func(t *testing.T) {
		got, err := e.client.Records(ctx, salon, from.AddDate(0, 0, 4), from.AddDate(0, 0, 5))
		require.NoError(t, err)
		require.Len(t, got, 19, "5 and 6 March, the last of the 5th deleted")
		require.Equal(t, 5, got[0].Datetime.Day())
		require.Equal(t, 6, got[18].Datetime.Day())
	})
	t.Run("no records is an empty answer", func(t *testing.T) {
		got, err := e.client.Records(ctx, salon, from.AddDate(1, 0, 0), from.AddDate(1, 0, 1))
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("unknown salon", func(t *testing.T) {
		_, err := e.client.Records(ctx, 4242, from, from)
		require.True(t, yclients.IsNotFound(err), "got %v", err)
	})
}

func TestClientRecordFields(t *testing.T) {
	e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
	msk, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	rec, err := e.fake.CreateRecord(yclientsfake.DemoSalonMoscow, yclientsfake.RecordInput{Datetime: "2027-01-10 12:00:00"})
	require.NoError(t, err)
	got, err := e.client.Record(t.Context(), yclientsfake.DemoSalonMoscow, rec.ID)
	require.NoError(t, err)
	require.Equal(t, rec.VisitID, got.VisitID)
	require.True(t, got.CreateDate.Equal(rec.CreatedAt.Truncate(time.Second)), "got %v want %v", got.CreateDate, rec.CreatedAt)
	require.Equal(t, got.CreateDate.In(msk).Format(time.RFC3339), got.CreateDate.Format(time.RFC3339), "the +0300 offset kept")
	require.False(t, got.LastChangeDate.Before(got.CreateDate))
}

// ChangedRecords lists a day's records changed at or after a moment (sent in the salon's zone),
// deleted ones included: what a notice re-reads its record from.
func TestClientChangedRecords(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tick := func(d time.Duration) time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(d); return now }
	e := newEnv(t, yclientsfake.Options{Now: clock}, yclients.Config{})
	const salon = yclientsfake.DemoSalonKaliningrad
	var ids []int64
	for hour := 10; hour < 15; hour++ {
		rec, err := e.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: 6001, ServiceIDs: []int64{5001},
			Datetime: fmt.Sprintf("2027-03-10 %02d:00:00", hour)})
		require.NoError(t, err)
		ids = append(ids, rec.ID)
	}
	_, err := e.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: 6001, ServiceIDs: []int64{5001},
		Datetime: "2027-03-11 10:00:00"})
	require.NoError(t, err)
	kgd, err := time.LoadLocation("Europe/Kaliningrad")
	require.NoError(t, err)
	day := time.Date(2027, 3, 10, 0, 0, 0, 0, kgd)

	all, err := e.client.ChangedRecords(ctx, salon, day, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 5, "the day's records, not the next day's")

	since := tick(time.Minute)
	require.NoError(t, e.fake.DeleteRecord(salon, ids[1], 0))
	tick(time.Minute)
	later := "2027-03-10T19:30:00+02:00"
	_, err = e.fake.UpdateRecord(salon, ids[3], yclientsfake.RecordChange{Datetime: &later})
	require.NoError(t, err)

	got, err := e.client.ChangedRecords(ctx, salon, day, since, time.Time{})
	require.NoError(t, err)
	changed := map[int64]yclients.Record{}
	for _, r := range got {
		changed[r.ID] = r
	}
	require.Len(t, changed, 2, "only the two changed since: %v", got)
	require.True(t, changed[ids[1]].Deleted, "the deleted one, marked")
	require.Equal(t, 19, changed[ids[3]].Datetime.Hour(), "the moved one as it is now")
	q := requestsTo(e, "/api/v1/records/")
	require.Len(t, q, 2)

	// Bounded above too: the deletion (at since), not the move a minute later.
	got, err = e.client.ChangedRecords(ctx, salon, day, since, since.Add(30*time.Second))
	require.NoError(t, err)
	require.Len(t, got, 1, "only the one changed between: %v", got)
	require.Equal(t, ids[1], got[0].ID)
	require.Len(t, requestsTo(e, "/api/v1/records/"), 3, "one page")

	got, err = e.client.ChangedRecords(ctx, salon, day, tick(time.Minute), time.Time{})
	require.NoError(t, err)
	require.Empty(t, got, "nothing changed since")
}

// gate is a Limiter that lets one request go each time the test sends on it.
type gate chan struct{}

func (g gate) Wait(ctx context.Context) error {
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OnSending's function runs when a request has had its turn in the limiter, before it goes
// out: a list read's callers learn when YClients was asked, not when the read began waiting.
func TestOnSendingAfterTheLimiter(t *testing.T) {
	g := gate(make(chan struct{}))
	e := newEnv(t, yclientsfake.Options{}, yclients.Config{Limiter: g})
	var sent, before atomic.Int32
	ctx := yclients.OnSending(t.Context(), func() {
		if len(e.fake.Requests()) == 0 {
			before.Add(1) // not at the fake yet
		}
		sent.Add(1)
	})
	day := time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)
	done := make(chan error, 1)
	go func() {
		_, err := e.client.ChangedRecords(ctx, yclientsfake.DemoSalonKaliningrad, day, time.Time{}, time.Time{})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, sent.Load(), "waiting for its turn")
	g <- struct{}{}
	require.NoError(t, <-done)
	require.EqualValues(t, 1, sent.Load(), "one page, one request")
	require.EqualValues(t, 1, before.Load(), "called before the request reached YClients")
}
