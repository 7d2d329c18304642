package yclients_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// "YClients accepted it but our request failed": the fake serves the request, then the answer is
// replaced by an error or comes after the client gave up.
func TestClientWhenTheAnswerIsLost(t *testing.T) {
	ctx := t.Context()
	req := yclients.CallbackRequest{SalonID: yclientsfake.DemoSalonMoscow, APIKey: "api-key-1", WebhookURLs: []string{}}

	t.Run("activation answered 504", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
		require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", Status: 504, After: true, Count: 1}))
		_, err := e.client.ActivationCallback(ctx, req)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusGatewayTimeout, apiErr.StatusCode)
		require.True(t, yclients.IsRetryable(err))
		require.Equal(t, yclientsfake.StatusActive, e.fake.Status(yclientsfake.DemoSalonMoscow), "the callback took effect")

		_, err = e.client.ActivationCallback(ctx, req)
		require.True(t, yclients.IsAlreadyInstalled(err), "the retry: %v", err)
		st, err := e.client.IntegrationStatus(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err)
		require.Equal(t, yclients.StatusActive, st.Status, "what a caller checks before calling it a success")
	})

	t.Run("activation answered after the client's timeout", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
		require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", DelayMS: 3000, After: true}))
		startAt := time.Now()
		_, err := e.client.ActivationCallback(ctx, req)
		var netErr *yclients.NetworkError
		require.ErrorAs(t, err, &netErr)
		require.True(t, yclients.IsRetryable(err))
		require.Less(t, time.Since(startAt), 2*time.Second, "the client gave up first")
		require.Equal(t, yclientsfake.StatusActive, e.fake.Status(yclientsfake.DemoSalonMoscow), "the callback took effect")
	})

	t.Run("attendance answered after the client's timeout", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{EntityDelay: -1}, yclients.Config{HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
		sink := activateWithHooks(t, e, yclientsfake.DemoSalonMoscow)
		require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/visits/", DelayMS: 3000, After: true}))
		err := e.client.SetAttendance(ctx, yclientsfake.DemoSalonMoscow, 7500001, 500001, 2)
		var netErr *yclients.NetworkError
		require.ErrorAs(t, err, &netErr)
		got, _ := e.fake.Record(yclientsfake.DemoSalonMoscow, 500001)
		require.Equal(t, 2, got.Attendance, "YClients changed the record")
		waitHooks(t, e, 1)
		_, rec := sink.webhook(t, 0)
		require.Equal(t, 2, rec.Attendance, "and sent the webhook")
	})
}

func TestClientOnYClientsShapedSalon(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
	body := `{"id":"37532","title":"Новая компания","city":"Москва","timezone_name":"Asia/Vladivostok","timezone":10,
		"phone":74232223344,"social":{"vk":""},"short_descr":"Салон красоты",
		"staff":[{"id":"5905","name":"Оксана","specialization":"мастер","position":{"id":1,"title":"Администратор"},
			"fired":"0","hidden":"0","status":"0","user_id":1},
			{"id":5907,"name":"Уволенная","position":[],"fired":1,"hidden":0}],
		"services":[{"id":"83169","title":"Мужская стрижка","category_id":"83167","price_min":"1300.00",
			"price_max":"1500.00","active":"1","api_id":"","staff":[{"id":"5905","seance_length":"2700"}]}]}`
	resp, err := http.Post(e.server.URL+"/_fake/salons", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	company, err := e.client.Company(ctx, 37532)
	require.NoError(t, err)
	require.Equal(t, yclients.Company{ID: 37532, Title: "Новая компания", Phone: "74232223344", City: "Москва",
		Timezone: "Asia/Vladivostok", ShortDescr: "Салон красоты"}, company)
	staff, err := e.client.Staff(ctx, 37532)
	require.NoError(t, err)
	require.Equal(t, []yclients.Staff{
		{ID: 5905, Name: "Оксана", Specialization: "мастер", Position: "Администратор", Bookable: true},
		{ID: 5907, Name: "Уволенная", Fired: true},
	}, staff)
	services, err := e.client.Services(ctx, 37532)
	require.NoError(t, err)
	require.Equal(t, []yclients.Service{{ID: 83169, Title: "Мужская стрижка", CategoryID: 83167, PriceMin: 1300,
		PriceMax: 1500, DurationSeconds: 2700, Active: true}}, services)
}
