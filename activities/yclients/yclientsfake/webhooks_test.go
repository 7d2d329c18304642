package yclientsfake_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

func TestWebhookRetries(t *testing.T) {
	unavailable := &receiver{answer: func(hook) int { return http.StatusServiceUnavailable }}
	notFound := &receiver{answer: func(hook) int { return http.StatusNotFound }}
	unavailableURL, notFoundURL := startReceiver(t, unavailable), startReceiver(t, notFound)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/webhooks/yclients/" + salonSecret + "?secret=" + salonSecret
	closed.Close()

	f, srv := start(t, yclientsfake.Options{EntityDelay: -1})
	activate(t, srv, 100001, unavailableURL)
	activate(t, srv, 100002, notFoundURL, closedURL)
	in := func(staff, service int64) yclientsfake.RecordInput {
		return yclientsfake.RecordInput{StaffID: staff, ServiceIDs: []int64{service}, Datetime: "2026-12-12 10:00:00"}
	}
	_, err := f.CreateRecord(100001, in(2001, 1001))
	require.NoError(t, err)
	_, err = f.CreateRecord(100002, in(4001, 3001))
	require.NoError(t, err)
	waitDeliveries(t, f, 3+1+3)

	t.Run("503 is retried twice, 1.5 s apart, then given up", func(t *testing.T) {
		hits := unavailable.got()
		require.Len(t, hits, 3)
		for i := 1; i < 3; i++ {
			require.Equal(t, hits[0].raw, hits[i].raw, "a retry sends the same body")
			require.GreaterOrEqual(t, hits[i].at.Sub(hits[i-1].at), 1400*time.Millisecond)
		}
		var attempts []int
		var final []bool
		for _, d := range f.Deliveries() {
			if d.SalonID == 100001 {
				attempts, final = append(attempts, d.Attempt), append(final, d.Final)
				require.Equal(t, 503, d.HTTPStatus)
			}
		}
		require.Equal(t, []int{1, 2, 3}, attempts)
		require.Equal(t, []bool{false, false, true}, final)
	})
	t.Run("404 is final", func(t *testing.T) {
		require.Len(t, notFound.got(), 1)
	})
	t.Run("a transport failure is retried", func(t *testing.T) {
		var n int
		for _, d := range f.Deliveries() {
			if d.URL == closedURL {
				n++
				require.Zero(t, d.HTTPStatus)
				require.NotEmpty(t, d.Error)
				require.NotContains(t, d.Error, salonSecret, "errors never carry the URL")
			}
		}
		require.Equal(t, 3, n)
	})
	t.Run("the control API masks the secret", func(t *testing.T) {
		a := do(t, srv, call{path: "/_fake/webhooks"})
		require.Equal(t, http.StatusOK, a.status)
		require.Len(t, a.list, 7)
		require.NotContains(t, a.raw, salonSecret)
		first := a.list[0].(map[string]any)
		for _, k := range []string{"salon_id", "url", "resource", "resource_id", "status", "attempt", "final", "http_status", "at"} {
			require.Contains(t, first, k)
		}
		urls := map[any]bool{}
		for _, it := range a.list {
			urls[it.(map[string]any)["url"]] = true
		}
		require.True(t, urls[unavailableURL[:len(unavailableURL)-len(salonSecret)]+"***c2d7"], "got %v", urls)
		require.True(t, urls[closed.URL+"/webhooks/yclients/***c2d7?secret=***c2d7"], "got %v", urls)
	})
}

func TestWebhooksWithoutRetries(t *testing.T) {
	rv := &receiver{answer: func(hook) int { return http.StatusTooManyRequests }}
	f, srv := start(t, yclientsfake.Options{EntityDelay: -1, EntityRetries: new(false)})
	activate(t, srv, 100003, startReceiver(t, rv))
	require.NoError(t, f.DeleteRecord(100003, 700001, 0))
	waitDeliveries(t, f, 1)
	time.Sleep(1700 * time.Millisecond) // past the first retry's time
	require.Len(t, rv.got(), 1, "the public docs: failed deliveries are not retried")
	d := f.Deliveries()
	require.Len(t, d, 1)
	require.True(t, d[0].Final)
	require.Equal(t, 429, d[0].HTTPStatus)
}

func TestWebhookDelay(t *testing.T) {
	rv := &receiver{}
	f, srv := start(t, yclientsfake.Options{EntityDelay: 300 * time.Millisecond})
	activate(t, srv, 100003, startReceiver(t, rv))
	startAt := time.Now()
	_, err := f.UpdateRecord(100003, 700001, yclientsfake.RecordChange{Comment: new("Перезвонить")})
	require.NoError(t, err)
	waitDeliveries(t, f, 1)
	require.GreaterOrEqual(t, rv.got()[0].at.Sub(startAt), 290*time.Millisecond)

	t.Run("the default is 5 s, and Close drops what waits", func(t *testing.T) {
		f, srv := start(t, yclientsfake.Options{})
		activate(t, srv, 100003, startReceiver(t, rv))
		_, err := f.UpdateRecord(100003, 700001, yclientsfake.RecordChange{Comment: new("позже")})
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond)
		f.Close()
		require.Empty(t, f.Deliveries())
		require.Len(t, rv.got(), 1)
	})
}

// TestWebhooksShuffled: with EntityShuffle every delivery, duplicates included, arrives on its
// own within EntityDelay, in an order that mixes records and a record's own changes; none is
// lost or doubled.
func TestWebhooksShuffled(t *testing.T) {
	rv := &receiver{}
	url := startReceiver(t, rv)
	f, srv := start(t, yclientsfake.Options{EntityDelay: 400 * time.Millisecond, EntityShuffle: true, Seed: 7})
	activate(t, srv, 100001, url)
	const records, dups = 10, 4
	for i := range records {
		rec, err := f.CreateRecord(100001, yclientsfake.RecordInput{StaffID: 2001, ServiceIDs: []int64{1001},
			Datetime: fmt.Sprintf("2026-12-%02d 10:00:00", 10+i), Duplicates: dups})
		require.NoError(t, err)
		at := fmt.Sprintf("2026-12-%02d 12:00:00", 10+i)
		_, err = f.UpdateRecord(100001, rec.ID, yclientsfake.RecordChange{Datetime: &at, Duplicates: dups})
		require.NoError(t, err)
	}
	waitDeliveries(t, f, 2*records*dups)
	hits := rv.got()
	require.Len(t, hits, 2*records*dups, "every delivery once")
	perRecord := map[int64][]string{}
	var recordOrder []int64
	counts := map[string]int{}
	for _, h := range hits {
		perRecord[h.resourceID()] = append(perRecord[h.resourceID()], h.status())
		recordOrder = append(recordOrder, h.resourceID())
		counts[h.status()]++
	}
	require.Equal(t, map[string]int{"create": records * dups, "update": records * dups}, counts)
	overtaken := 0
	for _, seq := range perRecord {
		firstUpdate, lastCreate := slices.Index(seq, "update"), 0
		for i, st := range seq {
			if st == "create" {
				lastCreate = i
			}
		}
		if firstUpdate < lastCreate {
			overtaken++
		}
	}
	require.Positive(t, overtaken, "some update arrives before a create of its record: %v", perRecord)
	require.False(t, slices.IsSorted(recordOrder), "records arrive mixed, not one after another")
	f.SetEntityShuffle(false)
	rec, err := f.CreateRecord(100001, yclientsfake.RecordInput{StaffID: 2001, ServiceIDs: []int64{1001},
		Datetime: "2026-12-30 10:00:00", Duplicates: 3})
	require.NoError(t, err)
	waitDeliveries(t, f, 2*records*dups+3)
	last := rv.got()[2*records*dups:]
	require.Len(t, last, 3)
	for _, h := range last {
		require.Equal(t, rec.ID, h.resourceID())
	}
}
