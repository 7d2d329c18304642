package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNoDemoRoutes: the production router has no simulated-phone endpoints; only the
// development binary adds them (package http/demo).
func TestNoDemoRoutes(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	status, _ := postJSON(t, srv.URL+"/demo/whatsapp/42/scan", `{"phone":"79990001122","name":"Салон"}`, nil)
	require.Equal(t, http.StatusNotFound, status, "scan: got %d want 404", status)
	status, h, body := get(t, srv.URL+"/demo/whatsapp/42/messages", nil)
	require.Equal(t, http.StatusNotFound, status, "messages: got %d want 404; body %s", status, body)
	requireJSONError(t, h, body, "not found")
}

// TestPerIPLimit: the marketplace redirect and the websocket answer 429 (a Russian page on the
// redirect) to an IP over its budget; another IP is not affected.
func TestPerIPLimit(t *testing.T) {
	cfg := testConfig()
	cfg.IPRequestEvery = time.Hour // no refill during the test: ipBurst requests, then 429
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t)})
	for i := range ipBurst {
		status, _, _ := get(t, srv.URL+"/marketplace/register?salon_id=x", nil)
		require.Equal(t, http.StatusBadRequest, status, "request %d: got %d, want the handler's own answer", i, status)
	}
	status, h, body := get(t, srv.URL+"/marketplace/register?salon_id=x", nil)
	require.Equal(t, http.StatusTooManyRequests, status, "got %d want 429", status)
	require.Contains(t, body, "Слишком много попыток", "the Russian page: %s", body)
	require.NotEmpty(t, h.Get("Retry-After"))
	status, _, body = get(t, srv.URL+"/ws/connect?token=x", nil)
	require.Equal(t, http.StatusTooManyRequests, status, "the websocket shares the budget: %s", body)
	require.Contains(t, body, `"error":"too many requests"`)
}

func TestIPLimitsPerAddress(t *testing.T) {
	l := newIPLimits(time.Hour, 2)
	now := time.Now()
	require.True(t, l.allow("10.0.0.1", now))
	require.True(t, l.allow("10.0.0.1", now))
	require.False(t, l.allow("10.0.0.1", now), "over the burst")
	require.True(t, l.allow("10.0.0.2", now), "another address has its own budget")
}
