package yclientsfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// salonSecret is the per-salon secret we put in the entity webhook URL.
const salonSecret = "s3cr3t-per-salon-9f41c2d7"

// hook is one entity webhook our receiver got.
type hook struct {
	path, contentType, raw string
	env                    map[string]any
	at                     time.Time
}

func (h hook) status() string       { return h.env["status"].(string) }
func (h hook) resourceID() int64    { return int64(h.env["resource_id"].(float64)) }
func (h hook) data() map[string]any { return h.env["data"].(map[string]any) }

// receiver is our entity webhook endpoint. answer picks the status (default 200) and may sleep.
type receiver struct {
	mu     sync.Mutex
	hits   []hook
	answer func(h hook) int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	h := hook{path: r.URL.Path, contentType: r.Header.Get("Content-Type"), raw: string(raw), at: time.Now()}
	_ = json.Unmarshal(raw, &h.env)
	status := http.StatusOK
	if rv.answer != nil {
		status = rv.answer(h)
	}
	rv.mu.Lock()
	rv.hits = append(rv.hits, h)
	rv.mu.Unlock()
	w.WriteHeader(status)
}

func (rv *receiver) got() []hook {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]hook(nil), rv.hits...)
}

// startReceiver serves rv and returns the salon's webhook URL with the secret as last segment.
func startReceiver(t *testing.T, rv *receiver) string {
	t.Helper()
	srv := httptest.NewServer(rv)
	t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/yclients/" + salonSecret
}

// activate accepts the salon's activation callback with the given webhook URLs.
func activate(t *testing.T, srv *httptest.Server, salonID int64, urls ...string) {
	t.Helper()
	a := do(t, srv, call{method: http.MethodPost, path: "/marketplace/partner/callback", api: true, body: map[string]any{
		"salon_id": salonID, "application_id": appID, "api_key": "api-key-0001", "webhook_urls": urls,
	}})
	require.Equal(t, http.StatusCreated, a.status, a.raw)
}

// waitDeliveries waits for n finished attempts, failing after 10 s.
func waitDeliveries(t *testing.T, f *yclientsfake.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.WaitDeliveries(ctx, n), "deliveries: %+v", f.Deliveries())
}

// getRecord returns GET /api/v1/record/{salon}/{id}'s data.
func getRecord(t *testing.T, srv *httptest.Server, path string) map[string]any {
	t.Helper()
	return do(t, srv, call{path: "/api/v1/record/" + path, api: true}).dataObject(t)
}

// asWebhookData is a GET record with the client's phone as webhooks carry it.
func asWebhookData(rec map[string]any, phone string) map[string]any {
	out := map[string]any{}
	for k, v := range rec {
		out[k] = v
	}
	client := map[string]any{}
	for k, v := range rec["client"].(map[string]any) {
		client[k] = v
	}
	client["phone"] = phone
	out["client"] = client
	return out
}

func TestRecordWebhooks(t *testing.T) {
	rv := &receiver{}
	hookURL := startReceiver(t, rv)
	f, srv := start(t, yclientsfake.Options{EntityDelay: -1})

	create := map[string]any{
		"staff_id": 2001, "service_ids": []int{1001},
		"client":   map[string]any{"name": "Анна", "phone": "79990001122"},
		"datetime": "2026-12-12 14:30:00", "seance_length": 3600, "comment": "",
	}

	t.Run("no delivery before activation", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100001/records", body: create})
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		time.Sleep(100 * time.Millisecond)
		require.Empty(t, f.Deliveries())
		require.Empty(t, rv.got())
	})

	activate(t, srv, 100001, hookURL)
	var id string
	var created map[string]any

	t.Run("create", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100001/records", body: create})
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		id = jsonID(a.json["id"])
		created = getRecord(t, srv, "100001/"+id)
		require.Equal(t, created, a.json, "the answer is the record as GET returns it")
		require.Equal(t, "2026-12-12T14:30:00+03:00", created["datetime"])
		require.Equal(t, "2026-12-12 14:30:00", created["date"])
		require.Equal(t, 79990001122.0, created["client"].(map[string]any)["phone"], "GET keeps phones as numbers")
		require.Equal(t, false, created["deleted"])

		waitDeliveries(t, f, 1)
		hits := rv.got()
		require.Len(t, hits, 1)
		h := hits[0]
		require.Equal(t, "/webhooks/yclients/"+salonSecret, h.path)
		require.Equal(t, "application/json", h.contentType)
		require.Len(t, h.env, 5, "envelope: got %s", h.raw)
		require.Equal(t, 100001.0, h.env["company_id"])
		require.Equal(t, "record", h.env["resource"])
		require.Equal(t, "create", h.status())
		require.Equal(t, id, jsonID(h.env["resource_id"]))
		require.Equal(t, asWebhookData(created, "+79990001122"), h.data(), "data is the GET record, phone as a string")

		d := f.Deliveries()
		require.Len(t, d, 1)
		require.Equal(t, hookURL, d[0].URL)
		require.Equal(t, 1, d[0].Attempt)
		require.True(t, d[0].Final)
		require.Equal(t, 200, d[0].HTTPStatus)
		require.JSONEq(t, h.raw, string(d[0].Body))
	})

	t.Run("price-only update", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPut, path: "/_fake/salons/100001/records/" + id, body: `{"cost": 3000}`})
		require.Equal(t, http.StatusOK, a.status, a.raw)
		now := getRecord(t, srv, "100001/"+id)
		require.Equal(t, now, a.json)
		svc := now["services"].([]any)[0].(map[string]any)
		require.Equal(t, 3000.0, svc["cost"])
		require.Equal(t, 3000.0, svc["cost_to_pay"])
		require.Equal(t, 2500.0, svc["first_cost"], "the list price stays")
		require.Equal(t, created["datetime"], now["datetime"], "nothing else moved")
		require.Greater(t, now["last_change_date"], created["last_change_date"], "last_change_date advances")

		waitDeliveries(t, f, 2)
		h := rv.got()[1]
		require.Equal(t, "update", h.status())
		require.Equal(t, asWebhookData(now, "+79990001122"), h.data())
	})

	t.Run("update delivered as 4 identical duplicates", func(t *testing.T) {
		before := getRecord(t, srv, "100001/"+id)
		a := do(t, srv, call{method: http.MethodPut, path: "/_fake/salons/100001/records/" + id,
			body: `{"datetime":"2026-12-13T11:00:00+03:00","staff_id":2003,"attendance":2,"duplicates":4}`})
		require.Equal(t, http.StatusOK, a.status, a.raw)
		now := getRecord(t, srv, "100001/"+id)
		require.Equal(t, "2026-12-13T11:00:00+03:00", now["datetime"])
		require.Equal(t, 2003.0, now["staff_id"])
		require.Equal(t, 2.0, now["attendance"])
		require.Equal(t, 3000.0, now["services"].([]any)[0].(map[string]any)["cost"], "the earlier price stays")
		require.Greater(t, now["last_change_date"], before["last_change_date"])

		waitDeliveries(t, f, 6)
		hits := rv.got()[2:]
		require.Len(t, hits, 4)
		for _, h := range hits {
			require.Equal(t, hits[0].raw, h.raw, "duplicates are byte-identical")
		}
		require.Equal(t, "update", hits[0].status())
		require.Equal(t, asWebhookData(now, "+79990001122"), hits[0].data())
	})

	t.Run("delete", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodDelete, path: "/_fake/salons/100001/records/" + id, body: `{"duplicates":2}`})
		require.Equal(t, http.StatusOK, a.status, a.raw)
		now := getRecord(t, srv, "100001/"+id)
		require.Equal(t, true, now["deleted"], "GET answers a deleted record with deleted: true")

		waitDeliveries(t, f, 8)
		hits := rv.got()[6:]
		require.Len(t, hits, 2)
		require.Equal(t, hits[0].raw, hits[1].raw)
		require.Equal(t, "delete", hits[0].status())
		require.Equal(t, true, hits[0].data()["deleted"])
		require.Equal(t, asWebhookData(now, "+79990001122"), hits[0].data())

		a = do(t, srv, call{method: http.MethodPut, path: "/_fake/salons/100001/records/" + id, body: `{"comment":"x"}`})
		require.Equal(t, http.StatusConflict, a.status, "a deleted record cannot change: %s", a.raw)
		require.Equal(t, http.StatusConflict, do(t, srv, call{method: http.MethodDelete, path: "/_fake/salons/100001/records/" + id}).status)
	})

	t.Run("client create", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100001/clients", body: `{"name":"Вера","phone":"+7 (916) 555-44-33"}`})
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		require.Equal(t, "+79165554433", a.json["phone"])
		waitDeliveries(t, f, 9)
		h := rv.got()[8]
		require.Equal(t, "client", h.env["resource"])
		require.Equal(t, "create", h.status())
		require.Equal(t, jsonID(a.json["id"]), jsonID(h.env["resource_id"]))
		require.Equal(t, "Вера", h.data()["name"])
		require.Equal(t, "+79165554433", h.data()["phone"])

		a = do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100001/clients", body: `{"name":"Вера","phone":"89165554433"}`})
		require.Equal(t, http.StatusUnprocessableEntity, a.status)
		require.Equal(t, "Клиент с указанным телефоном уже существует в базе", a.json["error"])
	})

	t.Run("a record for a known phone reuses the client", func(t *testing.T) {
		rec, err := f.CreateRecord(100001, yclientsfake.RecordInput{
			StaffID: 2004, ServiceIDs: []int64{1012}, Datetime: "2026-12-14T10:00:00+03:00",
			Client: &yclientsfake.ClientInput{Name: "Другое имя", Phone: "8 916 555 44 33"},
		})
		require.NoError(t, err)
		require.Equal(t, "Вера", rec.ClientName)
		require.Equal(t, "79165554433", rec.ClientPhone)
		require.Equal(t, 3600, rec.SeanceLength, "the services' duration by default")
		waitDeliveries(t, f, 10)
	})

	t.Run("nothing after uninstall", func(t *testing.T) {
		_, err := f.Lifecycle(t.Context(), 100001, "uninstall")
		require.NoError(t, err)
		_, err = f.UpdateRecord(100001, 500001, yclientsfake.RecordChange{Comment: new("после удаления")})
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		require.Len(t, f.Deliveries(), 10)
	})
}

func TestRecordControlErrors(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{EntityDelay: -1})
	ok := `{"staff_id":2001,"service_ids":[1001],"datetime":"2026-12-12 14:30:00"}`
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"bad JSON", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":`, http.StatusBadRequest},
		{"unknown salon", http.MethodPost, "/_fake/salons/42/records", ok, http.StatusNotFound},
		{"unknown staff", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":9,"service_ids":[1001],"datetime":"2026-12-12 14:30:00"}`, http.StatusUnprocessableEntity},
		{"unknown service", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":2001,"service_ids":[9],"datetime":"2026-12-12 14:30:00"}`, http.StatusUnprocessableEntity},
		{"bad datetime", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":2001,"service_ids":[1001],"datetime":"12.12.2026"}`, http.StatusUnprocessableEntity},
		{"bad phone", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":2001,"service_ids":[1001],"datetime":"2026-12-12 14:30:00","client":{"name":"А","phone":"звоните"}}`, http.StatusUnprocessableEntity},
		{"new client without name", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":2001,"service_ids":[1001],"datetime":"2026-12-12 14:30:00","client":{"phone":"79990009999"}}`, http.StatusUnprocessableEntity},
		{"too many duplicates", http.MethodPost, "/_fake/salons/100001/records", `{"staff_id":2001,"service_ids":[1001],"datetime":"2026-12-12 14:30:00","duplicates":100}`, http.StatusUnprocessableEntity},
		{"unknown record", http.MethodPut, "/_fake/salons/100001/records/9", `{}`, http.StatusNotFound},
		{"cost of a service not in the record", http.MethodPut, "/_fake/salons/100001/records/500001", `{"cost":{"1002":10}}`, http.StatusUnprocessableEntity},
		{"bad attendance", http.MethodPut, "/_fake/salons/100001/records/500001", `{"attendance":5}`, http.StatusUnprocessableEntity},
		{"already deleted", http.MethodDelete, "/_fake/salons/100001/records/500005", ``, http.StatusConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, srv, call{method: tc.method, path: tc.path, body: tc.body})
			require.Equal(t, tc.want, a.status, "got %d want %d: %s", a.status, tc.want, a.raw)
			require.NotEmpty(t, a.json["error"])
		})
	}

	t.Run("per-service cost as an object and strings", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPut, path: "/_fake/salons/100001/records/500003", body: `{"cost":{"1005":"900.00"}}`})
		require.Equal(t, http.StatusOK, a.status, a.raw)
		services := a.json["services"].([]any)
		require.Equal(t, 1800.0, services[0].(map[string]any)["cost"], "1002 keeps its price")
		require.Equal(t, 900.0, services[1].(map[string]any)["cost"])
		require.Equal(t, 10.0, services[1].(map[string]any)["discount"], "900 of 1000 is a 10 % discount")
	})
}

// A change's webhooks never overtake the previous change's for the same record, even when the
// receiver is slow; other records are not held up.
func TestWebhookOrderPerRecord(t *testing.T) {
	rv := &receiver{answer: func(h hook) int {
		if h.status() == "create" {
			time.Sleep(150 * time.Millisecond) // a slow first answer invites overtaking
		}
		return http.StatusOK
	}}
	f, srv := start(t, yclientsfake.Options{EntityDelay: 10 * time.Millisecond})
	activate(t, srv, 100002, startReceiver(t, rv))

	in := yclientsfake.RecordInput{StaffID: 4002, ServiceIDs: []int64{3003}, Datetime: "2026-12-12 10:00:00",
		Client: &yclientsfake.ClientInput{Name: "Анна", Phone: "79990001122"}}
	a, err := f.CreateRecord(100002, in)
	require.NoError(t, err)
	b, err := f.CreateRecord(100002, in)
	require.NoError(t, err)
	for i, dt := range []string{"2026-12-12 11:00:00", "2026-12-12 12:00:00", "2026-12-12 13:00:00"} {
		_, err := f.UpdateRecord(100002, a.ID, yclientsfake.RecordChange{Datetime: new(dt), Duplicates: i + 1})
		require.NoError(t, err)
	}
	require.NoError(t, f.DeleteRecord(100002, a.ID, 0))
	waitDeliveries(t, f, 2+1+2+3+1)

	var statuses []string
	var datetimes []any
	for _, h := range rv.got() {
		if h.resourceID() == a.ID {
			statuses = append(statuses, h.status())
			datetimes = append(datetimes, h.data()["datetime"])
		}
	}
	require.Equal(t, []string{"create", "update", "update", "update", "update", "update", "update", "delete"}, statuses)
	require.Equal(t, []any{"2026-12-12T10:00:00+10:00", "2026-12-12T11:00:00+10:00",
		"2026-12-12T12:00:00+10:00", "2026-12-12T12:00:00+10:00",
		"2026-12-12T13:00:00+10:00", "2026-12-12T13:00:00+10:00", "2026-12-12T13:00:00+10:00",
		"2026-12-12T13:00:00+10:00"}, datetimes, "salon-local times in Asia/Vladivostok")

	got, ok := f.Record(100002, b.ID)
	require.True(t, ok)
	require.False(t, got.Deleted)
}

// jsonID renders an ID decoded from JSON (a float64) as its decimal text.
func jsonID(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
