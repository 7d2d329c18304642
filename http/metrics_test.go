package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// TestMetricsNameRoutesNotPaths: /metrics counts requests by route template; a webhook URL's
// secret, a salon's ID, a query string's token and an unmatched path never become labels.
func TestMetricsNameRoutesNotPaths(t *testing.T) {
	store, _ := dbtest.New(t)
	const salon, secret = int64(918273), "m3tr1cs-secret-url-part-0123456789"
	sum := sha256.Sum256([]byte(secret))
	require.NoError(t, store.UpsertWebhookSecret(context.Background(), sqlc.UpsertWebhookSecretParams{SalonID: salon, WebhookSecretHash: sum[:]}))
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Entity: StoreInbox{Store: store},
		Metrics: promhttp.HandlerFor(metrics.NewRegistry(), promhttp.HandlerOpts{})})
	hook := fmt.Sprintf("%s/webhook/yclients/%d/%s", srv.URL, salon, secret)
	webhookRoute := map[string]string{"method": "POST", "route": "/webhook/yclients/:salon_id/:secret", "status": "200"}
	before := metricstest.Value(t, "aiadmin_http_requests_total", webhookRoute)

	body := fmt.Sprintf(`{"company_id":%d,"resource":"record","resource_id":77,"status":"create","data":{"id":77}}`, salon)
	for _, u := range []string{hook, hook + "?token=query-token-0123456789"} {
		resp, err := http.Post(u, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s", u)
	}
	for _, u := range []string{hook + "/extra", srv.URL + "/connect/relink?token=relink-token-0123456789"} {
		status, _, _ := get(t, u, nil)
		require.GreaterOrEqual(t, status, 400, "GET %s", u)
	}

	fams, page := metricstest.Scrape(t, srv.URL+"/metrics")
	got, _ := fams.Value("aiadmin_http_requests_total", webhookRoute)
	require.Equal(t, before+2, got, "webhooks counted under their route template: got %v more, want 2", got-before)
	_, ok := fams.Value("aiadmin_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/webhook/yclients/:salon_id/:secret"})
	require.True(t, ok, "webhook latency histogram")
	_, ok = fams.Value("aiadmin_http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "status": "404"})
	require.True(t, ok, "an unmatched path is counted as route=unmatched")
	_, ok = fams.Value("aiadmin_http_requests_total", map[string]string{"route": "/connect/relink"})
	require.True(t, ok, "the relink page's route")
	for _, secretText := range []string{secret, "query-token", "relink-token", fmt.Sprint(salon)} {
		require.NotContains(t, page, secretText, "/metrics must not carry %q", secretText)
	}
	for _, v := range fams.LabelValues() {
		require.False(t, strings.Contains(v, "?") || strings.Contains(v, "/webhook/yclients/9"), "label value %q looks like a raw path", v)
	}
	_, ok = fams.Value("go_goroutines", nil)
	require.True(t, ok, "the Go runtime's metrics too")
}

// TestReadyzReportsOptionalChecks: a failed optional dependency (the API's Temporal) is
// reported "unavailable" and the process stays ready.
func TestReadyzReportsOptionalChecks(t *testing.T) {
	pg := ReadyCheck{Name: "postgresql", Check: func(context.Context) error { return nil }}
	tempDown := ReadyCheck{Name: "temporal", Optional: true, Check: func(context.Context) error { return context.DeadlineExceeded }}
	pgDown := ReadyCheck{Name: "postgresql", Check: func(context.Context) error { return context.DeadlineExceeded }}

	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Ready: []ReadyCheck{pg, tempDown}})
	status, _, body := get(t, srv.URL+"/readyz", nil)
	require.Equal(t, http.StatusOK, status, "status: got %d want 200; body %s", status, body)
	require.JSONEq(t, `{"status":"ready","checks":{"postgresql":"ok","temporal":"unavailable"}}`, body)

	srv = startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Ready: []ReadyCheck{pgDown, tempDown}})
	status, _, body = get(t, srv.URL+"/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, status, "status: got %d want 503; body %s", status, body)
	require.JSONEq(t, `{"status":"unavailable","failed":["postgresql"],"checks":{"postgresql":"failed","temporal":"unavailable"}}`, body)
}

// TestWebsocketsCloseWithRestartCode: when the process stops, an open connect page gets a
// close frame 1012 (service restart: the page reconnects shortly) and new ones are refused.
func TestWebsocketsCloseWithRestartCode(t *testing.T) {
	pages := &Websockets{}
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Pairing: noFeed{}, Websockets: pages})
	u := wsURL(srv.URL, issue(t, testSecret, time.Now(), 42), nil)
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	pages.Close(ctx)
	require.Less(t, time.Since(start), 2*time.Second, "Close waits for the pages, not for its deadline")
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue // frames queued before the close
		}
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce, "got %v, want a close frame", err)
		require.Equal(t, websocket.CloseServiceRestart, ce.Code, "close code: got %d want 1012", ce.Code)
		break
	}
	require.Equal(t, http.StatusServiceUnavailable, dialStatus(t, u, nil), "a page opened while stopping is refused")
}
