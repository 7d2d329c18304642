package yclientsfake_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

func TestAuthAndHeaders(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{})

	t.Run("no token is 401 with the v2 body", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/100001", headers: map[string]string{"Accept": "application/vnd.yclients.v2+json"}})
		require.Equal(t, http.StatusUnauthorized, a.status)
		require.Equal(t, false, a.json["success"])
		require.Nil(t, a.json["data"])
		require.Equal(t, "Необходима авторизация", a.metaMessage())
	})
	t.Run("wrong token is 401", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/100001/staff", api: true, headers: map[string]string{"Authorization": "Bearer nope"}})
		require.Equal(t, http.StatusUnauthorized, a.status)
		a = do(t, srv, call{path: "/marketplace/salon/100001/application/18289", api: true, headers: map[string]string{"Authorization": "Basic " + token}})
		require.Equal(t, http.StatusUnauthorized, a.status)
	})
	t.Run("partner plus user token is accepted", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/100001", api: true, headers: map[string]string{"Authorization": "Bearer " + token + ", User u-123"}})
		require.Equal(t, http.StatusOK, a.status, a.raw)
	})
	t.Run("both Accept media types, other ones refused", func(t *testing.T) {
		for _, accept := range []string{"application/vnd.yclients.v2+json", "application/vnd.api.v2+json"} {
			a := do(t, srv, call{path: "/api/v1/company/100001", api: true, headers: map[string]string{"Accept": accept}})
			require.Equal(t, http.StatusOK, a.status, accept)
		}
		a := do(t, srv, call{path: "/api/v1/company/100001", api: true, headers: map[string]string{"Accept": "application/json"}})
		require.Equal(t, http.StatusNotAcceptable, a.status)
	})
	t.Run("unknown query params are ignored", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/100001/services?client_phone=79990001122&my=1&forBooking=1", api: true})
		require.Equal(t, http.StatusOK, a.status)
		require.Len(t, a.dataList(t), 21)
	})
	t.Run("unknown salon is 404 with the legacy body", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/42", api: true})
		require.Equal(t, http.StatusNotFound, a.status)
		errs := a.json["errors"].(map[string]any)
		require.Equal(t, 404.0, errs["code"])
		require.Equal(t, "Филиал не найден", errs["message"])
		require.Equal(t, "Филиал не найден", a.metaMessage())
	})
	t.Run("unknown route is a v2 404", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/nothing/here", api: true})
		require.Equal(t, http.StatusNotFound, a.status)
		require.Equal(t, false, a.json["success"])
	})
}

func TestRESTSloppiness(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{})

	services := do(t, srv, call{path: "/api/v1/company/100001/services", api: true}).dataList(t)
	require.Equal(t, "1001", services[0]["id"], "string IDs in the list shape")
	require.Equal(t, "2500.00", services[0]["price_min"])
	require.Equal(t, "1", services[0]["active"])
	require.Equal(t, 1002.0, services[1]["id"], "numbers in the book_services shape")
	require.Equal(t, 2700.0, services[1]["seance_length"])

	staff := do(t, srv, call{path: "/api/v1/company/100001/staff", api: true}).dataList(t)
	require.Len(t, staff, 5)
	require.Equal(t, 2001.0, staff[0]["id"])
	require.Equal(t, "2002", staff[1]["id"])
	require.Equal(t, "Стилист", staff[0]["position"].(map[string]any)["title"])

	rec := do(t, srv, call{path: "/api/v1/record/100001/500001", api: true}).dataObject(t)
	client := rec["client"].(map[string]any)
	require.Equal(t, 79031112233.0, client["phone"], "client phones are numbers")
	require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`, rec["date"])
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$`, rec["datetime"])
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0300$`, rec["last_change_date"])

	noClient := do(t, srv, call{path: "/api/v1/record/100001/500004", api: true}).dataObject(t)
	require.Contains(t, noClient, "client")
	require.Nil(t, noClient["client"])

	company := do(t, srv, call{path: "/api/v1/company/100003", api: true}).dataObject(t)
	require.Equal(t, "Europe/Kaliningrad", company["timezone_name"])
	require.Equal(t, "Калининград", company["city"])
}

func TestSchedules(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{})
	// 2026-03-02 is a Monday.
	a := do(t, srv, call{path: "/api/v1/company/100001/staff/schedule?start_date=2026-03-02&end_date=2026-03-15&include[]=busy_intervals", api: true})
	days := a.dataList(t)
	require.Len(t, days, 5*14)
	require.Equal(t, 70.0, a.json["meta"].(map[string]any)["count"])
	for _, d := range days {
		if d["staff_id"] == 2002.0 && d["date"] == "2026-03-02" { // the barber works Tue-Sat
			require.Empty(t, d["slots"])
			require.Equal(t, 1.0, d["off_day_type"])
		}
		if d["staff_id"] == 2002.0 && d["date"] == "2026-03-03" {
			require.Equal(t, []any{map[string]any{"from": "11:00", "to": "21:00"}}, d["slots"])
		}
		require.Contains(t, d, "busy_intervals")
	}

	t.Run("staff filter", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/100001/staff/schedule?start_date=2026-03-02&end_date=2026-03-02&staff_ids[]=2004", api: true})
		days := a.dataList(t)
		require.Len(t, days, 1)
		require.Equal(t, []any{map[string]any{"from": "09:00", "to": "13:00"}, map[string]any{"from": "13:30", "to": "18:00"}}, days[0]["slots"])
	})
	t.Run("dates are required", func(t *testing.T) {
		a := do(t, srv, call{path: "/api/v1/company/100001/staff/schedule?start_date=2026-03-02", api: true})
		require.Equal(t, http.StatusUnprocessableEntity, a.status)
		require.NotEmpty(t, a.json["meta"].(map[string]any)["errors"])
	})
}

func TestRateLimit(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{RPS: 5})
	statuses := map[int]int{}
	var last answer
	for range 8 {
		a := do(t, srv, call{path: "/api/v1/company/100001", api: true})
		statuses[a.status]++
		if a.status == http.StatusTooManyRequests {
			last = a
		}
	}
	require.GreaterOrEqual(t, statuses[http.StatusOK], 5, "the burst of 5 passes")
	require.GreaterOrEqual(t, statuses[http.StatusTooManyRequests], 1, "then 429")
	require.Equal(t, "1", last.header.Get("Retry-After"))
	require.Equal(t, false, last.json["success"])
	require.NotEmpty(t, last.metaMessage())

	t.Run("control paths are not limited", func(t *testing.T) {
		for range 10 {
			require.Equal(t, http.StatusOK, do(t, srv, call{path: "/_fake/requests"}).status)
		}
	})
	require.Len(t, f.Requests(), 8, "only API requests are logged")
}

func TestFaults(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{Seed: 1})

	t.Run("count, html and clear", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/faults", body: map[string]any{"path_prefix": "/api/v1/", "status": 502, "count": 1, "html": true}})
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		b := do(t, srv, call{path: "/api/v1/company/100001", api: true})
		require.Equal(t, http.StatusBadGateway, b.status)
		require.Contains(t, b.header.Get("Content-Type"), "text/html")
		require.Equal(t, http.StatusOK, do(t, srv, call{path: "/api/v1/company/100001", api: true}).status, "count 1 is spent")

		require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/", Status: 500}))
		require.Equal(t, http.StatusInternalServerError, do(t, srv, call{path: "/marketplace/salon/100001/application/18289", api: true}).status)
		require.Equal(t, http.StatusOK, do(t, srv, call{path: "/api/v1/company/100001", api: true}).status, "prefix does not match")
		require.Equal(t, http.StatusOK, do(t, srv, call{path: "/_fake/salons"}).status, "control paths are never faulted")
		require.Equal(t, http.StatusNoContent, do(t, srv, call{method: http.MethodDelete, path: "/_fake/faults"}).status)
		require.Equal(t, http.StatusOK, do(t, srv, call{path: "/marketplace/salon/100001/application/18289", api: true}).status)
	})

	t.Run("rate is a probability", func(t *testing.T) {
		require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/", Status: 429, Rate: 0.3}))
		defer f.ClearFaults()
		hits := 0
		for range 100 {
			if do(t, srv, call{path: "/api/v1/company/100002", api: true}).status == http.StatusTooManyRequests {
				hits++
			}
		}
		require.InDelta(t, 30, hits, 15, "got %d hits of 100 at rate 0.3", hits)
	})

	t.Run("delay", func(t *testing.T) {
		require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/company/100003", DelayMS: 150}))
		defer f.ClearFaults()
		startAt := time.Now()
		require.Equal(t, http.StatusOK, do(t, srv, call{path: "/api/v1/company/100003", api: true}).status)
		require.GreaterOrEqual(t, time.Since(startAt), 140*time.Millisecond)
	})

	t.Run("invalid faults are refused", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/faults", body: map[string]any{"path_prefix": "/api/", "status": 200}})
		require.Equal(t, http.StatusUnprocessableEntity, a.status)
		require.Error(t, f.AddFault(yclientsfake.Fault{Status: 503, Rate: 2}))
	})
}

func TestControlSalons(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	body := `{"id":555,"title":"Барбершоп «Борода»","city":"Казань","timezone":"Europe/Moscow",
		"services":[{"id":1,"title":"Стрижка","price_min":1000,"price_max":1000,"duration_seconds":1800}],
		"staff":[{"id":7,"name":"Тимур","position":""}]}`
	a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons", body: body})
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "pending", f.Status(555))

	services := do(t, srv, call{path: "/api/v1/company/555/services", api: true}).dataList(t)
	require.Equal(t, "1", services[0]["active"], "active defaults to true")
	staff := do(t, srv, call{path: "/api/v1/company/555/staff", api: true}).dataList(t)
	require.Equal(t, []any{}, staff[0]["position"], "an empty position is []")
	require.Equal(t, true, staff[0]["bookable"], "bookable defaults to true")

	list := do(t, srv, call{path: "/_fake/salons"}).list
	require.Len(t, list, 4)

	// One salon with the IDs a booking needs (make dev's README points here).
	one := do(t, srv, call{path: "/_fake/salons/555"})
	require.Equal(t, http.StatusOK, one.status, one.raw)
	require.Equal(t, "Барбершоп «Борода»", one.json["title"])
	require.Equal(t, []any{map[string]any{"id": float64(7), "name": "Тимур", "specialization": "", "bookable": true, "fired": false}},
		one.json["staff"], one.raw)
	require.Equal(t, []any{map[string]any{"id": float64(1), "title": "Стрижка", "price_min": float64(1000), "duration_seconds": float64(1800), "active": true}},
		one.json["services"], one.raw)
	require.EqualValues(t, 0, one.json["records"])
	missing := do(t, srv, call{path: "/_fake/salons/404404"})
	require.Equal(t, http.StatusNotFound, missing.status, missing.raw)
	require.Equal(t, "салон не найден", missing.json["error"])

	require.Equal(t, http.StatusUnprocessableEntity, do(t, srv, call{method: http.MethodPost, path: "/_fake/salons", body: `{"id":0}`}).status)
	require.Equal(t, http.StatusUnprocessableEntity, do(t, srv, call{method: http.MethodPost, path: "/_fake/salons", body: `{"id":9,"title":"x","timezone":"Mars/Olympus"}`}).status)

	st := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/555/status", body: `{"status":"active"}`})
	require.Equal(t, http.StatusOK, st.status)
	require.Equal(t, "active", f.Status(555))
}

func TestConcurrentUse(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	send := func(method, path, body string) (int, error) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/vnd.api.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			var err error
			switch i % 4 {
			case 0:
				_, err = send(http.MethodGet, "/api/v1/company/100001/services", "")
			case 1:
				f.SetStatus(100002, "active")
			case 2:
				_, err = send(http.MethodGet, "/_fake/requests", "")
			default:
				_, err = send(http.MethodPost, "/marketplace/partner/callback/redirect",
					`{"salon_id":100003,"application_id":18289,"api_key":"k","webhook_urls":[]}`)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, "active", f.Status(100003))
	cbs := f.Callbacks()
	require.Len(t, cbs, 4)
	codes := map[int]int{}
	for _, cb := range cbs {
		codes[cb.StatusCode]++
	}
	require.Equal(t, map[int]int{301: 1, 403: 3}, codes, "exactly one activation wins")
}
