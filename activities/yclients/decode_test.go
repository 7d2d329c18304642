package yclients_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
)

// Payloads copied from the reference's samples, with every kind of sloppiness it lists.

func TestDecodeSloppyPayloads(t *testing.T) {
	ctx := context.Background()

	t.Run("company from the doc sample", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":{"id":"37532","title":"Новая компания",
			"country_id":1,"city":"Москва","timezone_name":"Europe/Moscow","address":"Большой Саввинский пер., д. 3",
			"zip":119435,"coordinate_lat":55.735662,"short_descr":"Салон красоты","phone":74951234567,
			"social":{"vk":"vk.com/newcompany"},"bookforms":[{"id":19203}],"access":{}},"meta":{}}`)
		got, err := c.Company(ctx, 37532)
		require.NoError(t, err)
		require.Equal(t, yclients.Company{ID: 37532, Title: "Новая компания", Phone: "74951234567",
			Address: "Большой Саввинский пер., д. 3", City: "Москва", Timezone: "Europe/Moscow", ShortDescr: "Салон красоты"}, got)
	})

	t.Run("services: strings, numbers, durations", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":[
			{"id":"83169","title":"Мужская стрижка","category_id":"83167","price_min":"1300.00","price_max":"1300.00",
			 "discount":"0","weight":"6","active":"1","api_id":"","staff":[{"id":"5905","seance_length":"2700"},{"id":5906,"seance_length":3600}]},
			{"id":1896208,"title":"Мытье волос","category_id":1895571,"price_min":0,"price_max":0,"active":0,"seance_length":1800,"staff":[]},
			{"id":"5","title":"Без длительности","active":true,"price_min":"","price_max":null}
		],"meta":{"total_count":3}}`)
		got, err := c.Services(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, []yclients.Service{
			{ID: 83169, Title: "Мужская стрижка", CategoryID: 83167, PriceMin: 1300, PriceMax: 1300, DurationSeconds: 3600, Active: true},
			{ID: 1896208, Title: "Мытье волос", CategoryID: 1895571, DurationSeconds: 1800, Active: false},
			{ID: 5, Title: "Без длительности", Active: true},
		}, got)
	})

	t.Run("staff: position {} [] object, flags as strings", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":[
			{"id":1001539,"name":"Сотрудник 1","specialization":"специалист","position":{"id":1,"title":"Администратор"},"fired":0,"hidden":0,"bookable":true},
			{"id":"16","name":"Вася","bookable":"0","specialization":"Фельдшер","position":[],"fired":"0","hidden":"1"},
			{"id":17,"name":"Петя","position":{},"fired":1}
		],"meta":{"total_count":3}}`)
		got, err := c.Staff(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, []yclients.Staff{
			{ID: 1001539, Name: "Сотрудник 1", Specialization: "специалист", Position: "Администратор", Bookable: true},
			{ID: 16, Name: "Вася", Specialization: "Фельдшер", Hidden: true, Bookable: false},
			{ID: 17, Name: "Петя", Fired: true, Bookable: false},
		}, got)
	})

	t.Run("schedules: query and working flag", func(t *testing.T) {
		rs, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":[
			{"staff_id":123,"date":"2024-01-31","slots":[{"from":"10:00","to":"12:00"}],"busy_intervals":[]},
			{"staff_id":"124","date":"2024-01-31","slots":[],"off_day_type":3},
			{"staff_id":125,"date":"2024-01-31","is_working":"1","slots":[{"from":"09:00","to":"18:00"}]}
		],"meta":{"count":3}}`)
		from := time.Date(2024, 1, 31, 23, 0, 0, 0, time.UTC)
		got, err := c.Schedules(ctx, 42, from, from.AddDate(0, 0, 13))
		require.NoError(t, err)
		require.Equal(t, []yclients.ScheduleDay{
			{StaffID: 123, Date: "2024-01-31", IsWorking: true, Slots: []yclients.Slot{{From: "10:00", To: "12:00"}}},
			{StaffID: 124, Date: "2024-01-31", IsWorking: false},
			{StaffID: 125, Date: "2024-01-31", IsWorking: true, Slots: []yclients.Slot{{From: "09:00", To: "18:00"}}},
		}, got)
		req, _ := rs.lastRequest()
		require.Equal(t, "/api/v1/company/42/staff/schedule", req.URL.Path)
		require.Equal(t, "2024-01-31", req.URL.Query().Get("start_date"))
		require.Equal(t, "2024-02-13", req.URL.Query().Get("end_date"))
	})

	t.Run("record from the doc sample", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":{"id":2,"company_id":"4564","staff_id":9,
			"services":[{"id":1,"title":"Наращивание волос","cost":"100.50","first_cost":100,"amount":1}],
			"staff":{"id":9,"name":"Оксана","position":[]},
			"client":{"id":18936825,"name":"Иванов","phone":70001234567,"email":"client@example.com"},
			"date":"2019-01-16 16:00:00","datetime":"2019-01-16T16:00:00+09:00","create_date":"2019-01-16T20:35:11+0900",
			"comment":"","attendance":"-1","seance_length":"3600","deleted":"0","visit_id":"8262996",
			"last_change_date":"2019-01-16T20:35:15+0900"},"meta":{}}`)
		got, err := c.Record(ctx, 4564, 2)
		require.NoError(t, err)
		require.Equal(t, int64(2), got.ID)
		require.Equal(t, int64(4564), got.CompanyID)
		require.Equal(t, yclients.RecordStaff{ID: 9, Name: "Оксана"}, got.Staff)
		require.Equal(t, []yclients.RecordService{{ID: 1, Title: "Наращивание волос", Cost: 100.5}}, got.Services)
		require.Equal(t, &yclients.RecordClient{ID: 18936825, Name: "Иванов", Phone: "70001234567", Email: "client@example.com"}, got.Client)
		require.Equal(t, "2019-01-16T16:00:00+09:00", got.Datetime.Format(time.RFC3339), "the API's offset is kept")
		require.Equal(t, 3600, got.SeanceLength)
		require.Equal(t, -1, got.Attendance)
		require.False(t, got.Deleted)
		require.Equal(t, "2019-01-16T20:35:15+09:00", got.LastChangeDate.Format(time.RFC3339))
		require.Equal(t, "2019-01-16T20:35:11+09:00", got.CreateDate.Format(time.RFC3339), "+0900 without a colon")
		require.Equal(t, int64(8262996), got.VisitID, "visit_id sent as a string")
	})

	t.Run("record without client", func(t *testing.T) {
		for _, client := range []string{`null`, `[]`} {
			_, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":{"id":3,"staff":[],"client":`+client+`,
				"datetime":1547622000,"length":900,"deleted":true},"meta":[]}`)
			got, err := c.Record(ctx, 1, 3)
			require.NoError(t, err, client)
			require.Nil(t, got.Client, client)
			require.True(t, got.Deleted)
			require.Equal(t, 900, got.SeanceLength, "length is the fallback for seance_length")
			require.Equal(t, int64(1547622000), got.Datetime.Unix())
		}
	})

	t.Run("data is unwrapped exactly once", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":{"id":7,"title":"Салон","data":{"id":8}},"meta":{}}`)
		got, err := c.Company(ctx, 7)
		require.NoError(t, err)
		require.Equal(t, int64(7), got.ID)
		require.Equal(t, "Салон", got.Title)
	})
}

func TestDecodeUnexpectedBodies(t *testing.T) {
	ctx := context.Background()

	t.Run("HTML on 200 is an error, not a crash", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "text/html; charset=UTF-8", `<!DOCTYPE html><html><head><title>YCLIENTS — вход</title></head><body>…</body></html>`)
		_, err := c.Company(ctx, 1)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 200, apiErr.StatusCode)
		require.Equal(t, "unexpected HTML response: YCLIENTS — вход", apiErr.Message)
		require.False(t, apiErr.Retryable())
	})

	t.Run("HTML 502 from a proxy is retryable", func(t *testing.T) {
		_, c, _ := newRawServer(t, 502, "text/html", `<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>`)
		_, err := c.Services(ctx, 1)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 502, apiErr.StatusCode)
		require.Contains(t, apiErr.Message, "502 Bad Gateway")
		require.True(t, yclients.IsRetryable(err))
	})

	t.Run("success false on 200", func(t *testing.T) {
		_, c, _ := newRawServer(t, 200, "application/json", `{"success":false,"data":null,"meta":{"message":"Агрегатор не найден"}}`)
		_, err := c.Staff(ctx, 1)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, "Агрегатор не найден", apiErr.Message)
	})

	t.Run("server echoing the token does not leak it", func(t *testing.T) {
		_, c, _ := newRawServer(t, 401, "application/json", `{"success":false,"data":null,"meta":{"message":"bad token `+testPartnerToken+`"}}`)
		_, err := c.Company(ctx, 1)
		require.True(t, yclients.IsUnauthorized(err))
		require.NotContains(t, err.Error(), testPartnerToken)
	})
}

func TestRequestHeaders(t *testing.T) {
	ctx := context.Background()
	t.Run("partner only", func(t *testing.T) {
		rs, c, _ := newRawServer(t, 200, "application/json", `{"success":true,"data":{"id":1},"meta":{}}`)
		_, err := c.Company(ctx, 1)
		require.NoError(t, err)
		req, _ := rs.lastRequest()
		require.Equal(t, "Bearer "+testPartnerToken, req.Header.Get("Authorization"))
		require.Equal(t, "application/vnd.yclients.v2+json", req.Header.Get("Accept"))
		require.Empty(t, req.Header.Get("Content-Type"), "no body, no content type")
	})
	t.Run("partner and user", func(t *testing.T) {
		rs := &rawServer{status: 200, contentType: "application/json", body: `{"success":true,"data":[],"meta":{}}`, header: http.Header{}}
		srv := newServerFor(t, rs)
		c := yclients.New(yclients.Config{BaseURL: srv + "/", PartnerToken: "p-tok", UserToken: "u-tok", Limiter: rate.NewLimiter(rate.Inf, 0)})
		_, err := c.Staff(ctx, 5)
		require.NoError(t, err)
		req, _ := rs.lastRequest()
		require.Equal(t, "Bearer p-tok, User u-tok", req.Header.Get("Authorization"))
		require.Equal(t, "/api/v1/company/5/staff", req.URL.Path, "a trailing slash in BaseURL is tolerated")
	})
	t.Run("callback body", func(t *testing.T) {
		rs, c, _ := newRawServer(t, 301, "", "")
		rs.header.Set("Location", "https://yclients.com/appstore/done")
		res, err := c.ActivationCallback(ctx, yclients.CallbackRequest{SalonID: 77, APIKey: "key-1"})
		require.NoError(t, err)
		require.Equal(t, yclients.CallbackResult{StatusCode: 301, Location: "https://yclients.com/appstore/done"}, res)
		req, body := rs.lastRequest()
		require.Equal(t, http.MethodPost, req.Method)
		require.Equal(t, "application/json", req.Header.Get("Content-Type"))
		var got map[string]any
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, map[string]any{"salon_id": 77.0, "application_id": float64(testAppID), "api_key": "key-1", "webhook_urls": []any{}}, got,
			"webhook_urls is an array even when empty")
		require.True(t, strings.HasPrefix(string(body), `{"salon_id":77`))
	})
}

// A record whose times come without an offset ("date" only, or a zone-less "datetime") is
// read in the salon's zone, not as UTC: 14:30 in Vladivostok is 04:30 UTC, not 14:30 UTC.
func TestRecordTimesWithoutOffsetAreInTheSalonsZone(t *testing.T) {
	vvo, err := time.LoadLocation("Asia/Vladivostok")
	require.NoError(t, err)
	for name, body := range map[string]string{
		"date only":         `{"id":1,"date":"2026-12-05 14:30:00","create_date":"2026-12-01 09:00:00","last_change_date":"2026-12-01 09:05:00"}`,
		"zoneless datetime": `{"id":1,"datetime":"2026-12-05T14:30:00","create_date":"2026-12-01T09:00:00","last_change_date":"2026-12-01T09:05:00"}`,
	} {
		t.Run(name, func(t *testing.T) {
			rec, err := yclients.DecodeRecord([]byte(body))
			require.NoError(t, err)
			rec = rec.In(vvo)
			require.True(t, rec.Datetime.Equal(time.Date(2026, 12, 5, 4, 30, 0, 0, time.UTC)), "start %s", rec.Datetime)
			require.True(t, rec.CreateDate.Equal(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)), "created %s", rec.CreateDate)
			require.True(t, rec.LastChangeDate.Equal(time.Date(2026, 11, 30, 23, 5, 0, 0, time.UTC)), "changed %s", rec.LastChangeDate)
		})
	}
	// Times with an offset keep it, whatever the zone asked for.
	rec, err := yclients.DecodeRecord([]byte(`{"id":1,"datetime":"2026-12-05T14:30:00+03:00","date":"2026-12-05 14:30:00"}`))
	require.NoError(t, err)
	require.True(t, rec.In(vvo).Datetime.Equal(time.Date(2026, 12, 5, 11, 30, 0, 0, time.UTC)))
}
