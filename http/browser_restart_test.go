package httpapi

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/http/browsertest"
	"github.com/aiadmin/aiadmin/workflows"
)

// TestConnectPageReconnectsAfterRestart: in a real browser, the connect page whose websocket
// is closed because the server stops (code 1012) says so and connects again within seconds,
// instead of giving up or waiting out its backoff.
func TestConnectPageReconnectsAfterRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := testConfig()
	cfg.PublicURL = "http://" + ln.Addr().String() // the page's origin
	pages := &Websockets{}
	pg := mustPages("")
	d := connectData{SalonID: 42, SalonName: "Бархат", Token: issue(t, testSecret, time.Now(), 42),
		Status: string(workflows.StatusPendingWhatsApp), Message: statusMessage(workflows.State{Status: workflows.StatusPendingWhatsApp})}
	h := New(cfg, Deps{Temporal: closedTemporal(t), Pairing: noFeed{}, Websockets: pages, Logger: quietLogger(),
		Routes: func(e *gin.Engine) { e.GET("/connect", htmlErrors, func(c *gin.Context) { pg.renderConnect(c, d) }) }})
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	b := browsertest.New(t)
	p := b.Open(browsertest.Desktop)
	p.Do(chromedp.Navigate(srv.URL+"/connect"), chromedp.WaitVisible("#status"))
	hub := pages.hubs[0]
	require.Eventually(t, func() bool {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		return hub.open == 1
	}, 10*time.Second, 50*time.Millisecond, "the page opens its websocket")

	refused := map[string]string{"method": "GET", "route": "/ws/connect", "status": "503"}
	before := metricstest.Value(t, "aiadmin_http_requests_total", refused)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pages.Close(ctx) // this server now refuses websockets: the page's next try is counted
	require.Eventually(t, func() bool {
		text, ok := evalQuiet[string](p, `document.getElementById('status').textContent`)
		return ok && text == "Сервер перезапускается, переподключаемся…"
	}, 5*time.Second, 50*time.Millisecond, "the page says the server restarts")
	start := time.Now()
	require.Eventually(t, func() bool {
		return metricstest.Value(t, "aiadmin_http_requests_total", refused) > before
	}, 6*time.Second, 50*time.Millisecond, "the page connects again")
	took := time.Since(start)
	require.Less(t, took, 3*time.Second, "reconnect after %s, want within 1–2.5 s", took)
}
