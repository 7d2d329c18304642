package yclients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

func TestActivationCallback(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	fake := yclientsfake.New(yclientsfake.Options{
		PartnerToken: testPartnerToken, ApplicationID: testAppID, RPS: 10_000, Now: clock.Now,
		RegisterURL: "http://127.0.0.1:8080/marketplace/register",
	})
	fake.SeedDemo()
	var donePages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_fake/marketplace/done" {
			donePages.Add(1)
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: testPartnerToken, ApplicationID: testAppID, Limiter: rate.NewLimiter(rate.Inf, 0)})
	const apiKey = "2f181e2a-5c22-4ae7-9d9b-07104f312c28"
	req := yclients.CallbackRequest{SalonID: yclientsfake.DemoSalonMoscow, APIKey: apiKey, WebhookURLs: []string{"http://127.0.0.1:8080/webhook/yclients/events"}}

	t.Run("301 is success and is not followed", func(t *testing.T) {
		res, err := c.ActivationCallback(ctx, req)
		require.NoError(t, err)
		require.Equal(t, http.StatusMovedPermanently, res.StatusCode)
		require.Equal(t, srv.URL+"/_fake/marketplace/done?salon_id=100001", res.Location)
		require.Zero(t, donePages.Load(), "the redirect must not be followed")
		require.Equal(t, yclientsfake.StatusActive, fake.Status(yclientsfake.DemoSalonMoscow))

		cbs := fake.Callbacks()
		require.Len(t, cbs, 1)
		require.Equal(t, apiKey, cbs[0].APIKey)
		require.Equal(t, req.WebhookURLs, cbs[0].WebhookURLs)
		require.Equal(t, http.StatusMovedPermanently, cbs[0].StatusCode)

		st, err := c.IntegrationStatus(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err)
		require.Equal(t, yclients.StatusActive, st.Status)
		require.Len(t, st.Logs, 2)
		require.Equal(t, "pending", st.Logs[1].StatusFrom)
		require.Equal(t, "active", st.Logs[1].StatusTo)
		require.Equal(t, "partner_api", st.Logs[1].Source)
	})

	t.Run("second callback is already installed", func(t *testing.T) {
		_, err := c.ActivationCallback(ctx, req)
		require.True(t, yclients.IsAlreadyInstalled(err), "got %v", err)
		require.False(t, yclients.IsRetryable(err))
		require.NotContains(t, err.Error(), apiKey)
		require.NotContains(t, err.Error(), testPartnerToken)
	})

	t.Run("pending TTL expiry is 422", func(t *testing.T) {
		clock.Advance(61 * time.Minute)
		vl := yclients.CallbackRequest{SalonID: yclientsfake.DemoSalonVladivostok, APIKey: "k-2", WebhookURLs: nil}
		_, err := c.ActivationCallback(ctx, vl)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusUnprocessableEntity, apiErr.StatusCode)
		require.Contains(t, apiErr.Message, "истёк срок подключения")
		require.Equal(t, yclientsfake.StatusPending, fake.Status(yclientsfake.DemoSalonVladivostok))

		// The owner reconnects from the marketplace: a fresh pending window.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(srv.URL + "/_fake/marketplace/redirect?salon_id=100002")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "http://127.0.0.1:8080/marketplace/register?"))

		res, err := c.ActivationCallback(ctx, vl)
		require.NoError(t, err)
		require.Equal(t, http.StatusMovedPermanently, res.StatusCode)
		cbs := fake.Callbacks()
		require.Equal(t, []string{}, cbs[len(cbs)-1].WebhookURLs, "nil webhook URLs are sent as []")
	})

	t.Run("other application is 403 but not already installed", func(t *testing.T) {
		other := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: testPartnerToken, ApplicationID: 1, Limiter: rate.NewLimiter(rate.Inf, 0)})
		_, err := other.ActivationCallback(ctx, yclients.CallbackRequest{SalonID: yclientsfake.DemoSalonKaliningrad, APIKey: "k-3"})
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusForbidden, apiErr.StatusCode)
		require.Equal(t, "Нет доступа к приложению", apiErr.Message)
		require.False(t, yclients.IsAlreadyInstalled(err))
	})

	t.Run("bad input is refused before any request", func(t *testing.T) {
		n := len(fake.Callbacks())
		_, err := c.ActivationCallback(ctx, yclients.CallbackRequest{SalonID: 0, APIKey: "k"})
		require.Error(t, err)
		_, err = c.ActivationCallback(ctx, yclients.CallbackRequest{SalonID: 5})
		require.Error(t, err)
		require.Len(t, fake.Callbacks(), n)
	})

	t.Run("unknown salon is 404", func(t *testing.T) {
		_, err := c.ActivationCallback(ctx, yclients.CallbackRequest{SalonID: 31337, APIKey: "k-4"})
		require.True(t, yclients.IsNotFound(err), "got %v", err)
	})
}
