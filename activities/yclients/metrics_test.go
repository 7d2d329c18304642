package yclients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// TestCallsCounted: every attempt is counted by method, endpoint template (IDs as {id}) and
// status, 429s and answers that never came included.
func TestCallsCounted(t *testing.T) {
	ctx := context.Background()
	staff := map[string]string{"method": "GET", "endpoint": "/api/v1/company/{id}/staff"}
	count := func(labels map[string]string, status string) float64 {
		l := map[string]string{"status": status}
		for k, v := range labels {
			l[k] = v
		}
		return metricstest.Value(t, "aiadmin_yclients_requests_total", l)
	}
	ok, limited := count(staff, "200"), count(staff, "429")
	timed := metricstest.Value(t, "aiadmin_yclients_request_duration_seconds", staff)

	e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
	require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/", Status: 429, Count: 1}))
	_, err := e.client.Staff(ctx, yclientsfake.DemoSalonMoscow)
	require.True(t, yclients.IsRateLimited(err), "got %v", err)
	_, err = e.client.Staff(ctx, yclientsfake.DemoSalonMoscow)
	require.NoError(t, err)
	require.Equal(t, limited+1, count(staff, "429"), "the 429 counted")
	require.Equal(t, ok+1, count(staff, "200"))
	require.Equal(t, timed+2, metricstest.Value(t, "aiadmin_yclients_request_duration_seconds", staff), "both attempts timed")

	company := map[string]string{"method": "GET", "endpoint": "/api/v1/company/{id}"}
	failed := count(company, "error")
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: testPartnerToken, Limiter: rate.NewLimiter(rate.Inf, 0)})
	_, err = c.Company(ctx, 31337)
	require.Error(t, err)
	require.Equal(t, failed+1, count(company, "error"), "no answer: status error")
	require.Zero(t, count(map[string]string{"method": "GET", "endpoint": "/api/v1/company/31337"}, "error"), "no raw ID in a label")
}
