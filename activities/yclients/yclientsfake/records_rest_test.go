package yclientsfake_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

func TestControlGetRecord(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{})
	a := do(t, srv, call{path: "/_fake/salons/100001/records/500001"})
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, getRecord(t, srv, "100001/500001"), a.json, "exactly GET /record's data, without auth")
	require.Equal(t, "7500001", a.json["visit_id"])

	for _, path := range []string{"/_fake/salons/100001/records/9", "/_fake/salons/42/records/500001", "/_fake/salons/100002/records/500001"} {
		a := do(t, srv, call{path: path})
		require.Equal(t, http.StatusNotFound, a.status, path)
		require.NotEmpty(t, a.json["error"])
	}
}

func TestVisitAttendance(t *testing.T) {
	rv := &receiver{}
	f, srv := start(t, yclientsfake.Options{EntityDelay: -1})
	activate(t, srv, 100001, startReceiver(t, rv))
	before := getRecord(t, srv, "100001/500002")
	require.Equal(t, "7500002", before["visit_id"])
	put := func(t *testing.T, path, body string, headers map[string]string) answer {
		return do(t, srv, call{method: http.MethodPut, path: "/api/v1/visits/" + path, body: body, api: true, headers: headers})
	}

	t.Run("a confirmation", func(t *testing.T) {
		a := put(t, "7500002/500002", `{"attendance":2,"comment":"Нюдовый оттенок"}`, nil)
		require.Equal(t, http.StatusOK, a.status, a.raw)
		now := getRecord(t, srv, "100001/500002")
		require.Equal(t, now, a.dataObject(t), "the answer is the record as GET returns it")
		require.Equal(t, 2.0, now["attendance"])
		require.Equal(t, 2.0, now["visit_attendance"])
		require.Equal(t, "Нюдовый оттенок", now["comment"])
		require.Greater(t, now["last_change_date"], before["last_change_date"], "last_change_date moves forward")

		waitDeliveries(t, f, 1)
		h := rv.got()[0]
		require.Equal(t, "record", h.env["resource"])
		require.Equal(t, "update", h.status())
		require.Equal(t, int64(500002), h.resourceID())
		require.Equal(t, asWebhookData(now, "+79269876543"), h.data(), "the webhook YClients sends for a change")
	})
	t.Run("the soft cancel, with a user token", func(t *testing.T) {
		a := put(t, "7500002/500002", `{"attendance":-1,"comment":"Отменено клиентом"}`,
			map[string]string{"Authorization": "Bearer " + token + ", User u-1"})
		require.Equal(t, http.StatusOK, a.status, a.raw)
		rec, _ := f.Record(100001, 500002)
		require.Equal(t, -1, rec.Attendance)
		require.Equal(t, "Отменено клиентом", rec.Comment)
		require.False(t, rec.Deleted, "a soft cancel is not a delete")
		waitDeliveries(t, f, 2)
	})
}

// TestVisitAttendanceRefused: bad edits answer as YClients does and change nothing.
func TestVisitAttendanceRefused(t *testing.T) {
	rv := &receiver{}
	f, srv := start(t, yclientsfake.Options{EntityDelay: -1})
	activate(t, srv, 100001, startReceiver(t, rv))
	put := func(t *testing.T, path, body string, headers map[string]string) answer {
		return do(t, srv, call{method: http.MethodPut, path: "/api/v1/visits/" + path, body: body, api: true, headers: headers})
	}
	unchanged, _ := f.Record(100001, 500002)
	cases := []struct {
		name, path, body string
		headers          map[string]string
		want             int
	}{
		{"no partner token", "7500002/500002", `{"attendance":2,"comment":""}`, map[string]string{"Authorization": "Bearer nope"}, 401},
		{"attendance out of range", "7500002/500002", `{"attendance":3,"comment":""}`, nil, 422},
		{"attendance missing", "7500002/500002", `{"comment":""}`, nil, 422},
		{"attendance not a number", "7500002/500002", `{"attendance":"да","comment":""}`, nil, 422},
		{"comment missing", "7500002/500002", `{"attendance":2}`, nil, 422},
		{"not JSON", "7500002/500002", `attendance=2`, nil, 422},
		{"unknown record", "7500002/9", `{"attendance":2,"comment":""}`, nil, 404},
		{"visit of another record", "7500001/500002", `{"attendance":2,"comment":""}`, nil, 404},
		{"deleted record", "7500005/500005", `{"attendance":2,"comment":""}`, nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := put(t, tc.path, tc.body, tc.headers)
			require.Equal(t, tc.want, a.status, a.raw)
			require.Equal(t, false, a.json["success"])
			require.Nil(t, a.json["data"])
			if tc.want == 422 {
				require.NotEmpty(t, a.json["meta"].(map[string]any)["errors"])
			}
		})
	}
	after, _ := f.Record(100001, 500002)
	require.Equal(t, unchanged, after, "refused edits change nothing")
	time.Sleep(50 * time.Millisecond)
	require.Empty(t, f.Deliveries(), "and send no webhook")
}

func TestRecordsList(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	// Vladivostok is UTC+10: 00:30 on the 12th local is the 11th in UTC (dates are in 2027, clear of the seeded records).
	var ids []int64
	for i, dt := range []string{"2027-03-12 00:30:00", "2027-03-12 23:30:00", "2027-03-11 12:00:00",
		"2027-03-13 09:00:00", "2027-03-12 10:00:00", "2027-03-12 10:00:00", "2027-03-14 10:00:00"} {
		staff := []int64{4001, 4002}[i%2]
		service := map[int64]int64{4001: 3001, 4002: 3003}[staff]
		rec, err := f.CreateRecord(100002, yclientsfake.RecordInput{StaffID: staff, ServiceIDs: []int64{service}, Datetime: dt})
		require.NoError(t, err)
		ids = append(ids, rec.ID)
	}
	require.NoError(t, f.DeleteRecord(100002, ids[4], 0))
	list := func(t *testing.T, query string) answer {
		return do(t, srv, call{path: "/api/v1/records/100002?" + query, api: true})
	}
	idsOf := func(t *testing.T, a answer) []int64 {
		var out []int64
		for _, r := range a.dataList(t) {
			out = append(out, int64(r["id"].(float64)))
		}
		return out
	}

	t.Run("salon-local dates, by visit time, deleted left out", func(t *testing.T) {
		a := list(t, "start_date=2027-03-12&end_date=2027-03-13")
		require.Equal(t, http.StatusOK, a.status, a.raw)
		require.Equal(t, []int64{ids[0], ids[5], ids[1], ids[3]}, idsOf(t, a))
		require.Equal(t, map[string]any{"page": 1.0, "total_count": 4.0}, a.json["meta"])
		require.Equal(t, getRecord(t, srv, fmt.Sprintf("100002/%d", ids[0]))["datetime"], a.dataList(t)[0]["datetime"])
	})
	t.Run("pages", func(t *testing.T) {
		var got []int64
		for page := 1; page <= 3; page++ {
			a := list(t, fmt.Sprintf("start_date=2027-03-01&end_date=2027-03-31&count=2&page=%d", page))
			require.Equal(t, map[string]any{"page": float64(page), "total_count": 6.0}, a.json["meta"])
			require.Len(t, a.dataList(t), 2)
			got = append(got, idsOf(t, a)...)
		}
		require.Equal(t, []int64{ids[2], ids[0], ids[5], ids[1], ids[3], ids[6]}, got)
		require.Empty(t, list(t, "start_date=2027-03-01&end_date=2027-03-31&count=2&page=4").dataList(t), "past the end")
	})
	t.Run("with_deleted and staff_id", func(t *testing.T) {
		require.Equal(t, []int64{ids[0], ids[4], ids[5], ids[1]}, idsOf(t, list(t, "start_date=2027-03-12&end_date=2027-03-12&with_deleted=1")))
		require.Equal(t, []int64{ids[0], ids[4], ids[6]}, idsOf(t, list(t, "start_date=2027-03-12&end_date=2027-03-14&with_deleted=1&staff_id=4001")))
	})
	t.Run("bad parameters are 422", func(t *testing.T) {
		for _, q := range []string{"start_date=12.12.2026", "page=0", "count=-5", "staff_id=x"} {
			a := list(t, q)
			require.Equal(t, http.StatusUnprocessableEntity, a.status, q)
			require.NotEmpty(t, a.json["meta"].(map[string]any)["errors"], q)
		}
	})
	t.Run("unknown salon and no token", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, do(t, srv, call{path: "/api/v1/records/42", api: true}).status)
		a := do(t, srv, call{path: "/api/v1/records/100002", headers: map[string]string{"Accept": "application/vnd.api.v2+json"}})
		require.Equal(t, http.StatusUnauthorized, a.status)
	})
}
