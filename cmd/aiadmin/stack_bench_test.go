package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

// benchStack is the e2e tests' stack (see newStack in e2e_test.go) for a *testing.B: the
// whole product on real PostgreSQL and the Temporal server named by TEMPORAL_ADDRESS, with
// real HTTP and websockets; only YClients (the fake) and WhatsApp (the simulated phone) are
// stand-ins. It has one salon, activated, whose entity webhook URL is webhookURL.
type benchStack struct {
	b          *testing.B
	dsn        string
	cfg        *Config
	app        *app
	fake       *yclientsfake.Fake
	phone      *simphone.Phone
	http       *http.Client
	salon      int64
	webhookURL string // the activation callback's webhook URL (carries the salon's secret)
}

// newBenchStack builds the stack and activates one salon (a copy of the fake's Moscow demo
// salon under a random ID: the Temporal server and its workflow IDs are shared). hooks, when
// not nil, is the HTTP client the fake sends its entity webhooks with.
//
// One deliberate difference from production: the product's YClients client gets an unlimited
// rate limiter instead of the process-wide 5 requests/s one (YClients' per-IP limit). The fake
// allows 1000/s; with the real limiter every booking message, which re-reads its record from
// YClients just before sending, would queue behind a 5/s bucket, and the benchmarks would
// measure that bucket, not the pipeline (like message pacing, it is disabled for the
// measurement).
func newBenchStack(b *testing.B, hooks *http.Client) *benchStack {
	b.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		b.Skip("TEMPORAL_ADDRESS is not set: run through `make bench`, which starts a Temporal dev server")
	}
	_, dsn := dbtest.New(b)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	httpAddr := l.Addr().String()
	require.NoError(b, l.Close())
	cfg := &Config{
		DatabaseURL: dsn, TemporalAddress: addr, TemporalNamespace: "default",
		TaskQueue: "bench-" + strings.ReplaceAll(b.Name(), "/", "-") + fmt.Sprint(time.Now().UnixNano()),
		HTTPAddr:  httpAddr, PublicURL: "http://" + httpAddr,
		YClientsPartnerToken: "bench-partner-token", YClientsApplicationID: 1, RequireSignedUserData: true,
		SecretKey: make([]byte, 32), SessionSecret: []byte("bench-session-secret-0123456789ab"),
		AdminToken: "bench-admin", WhatsAppMode: "sim", Demo: true,
	}
	fake := yclientsfake.New(yclientsfake.Options{
		PartnerToken: cfg.YClientsPartnerToken, ApplicationID: 1, RPS: 1000, EntityDelay: -1, HTTPClient: hooks,
		RegisterURL: cfg.PublicURL + "/marketplace/register", LifecycleURL: cfg.PublicURL + "/marketplace/webhook",
	})
	fake.SeedDemo()
	sl, ok := fake.Salon(yclientsfake.DemoSalonMoscow)
	require.True(b, ok)
	sl.ID = 1_000_000 + rand.Int64N(1_000_000_000)
	fake.AddSalon(sl)
	fakeSrv := httptest.NewServer(fake)
	b.Cleanup(func() { fakeSrv.Close(); fake.Close() })
	cfg.YClientsBaseURL = fakeSrv.URL
	phone := simphone.New(simphone.Options{FirstQR: 600 * time.Millisecond, NextQR: 200 * time.Millisecond,
		PairCodeTTL: 600 * time.Millisecond, ConnectDelay: 20 * time.Millisecond})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(b, migrate(ctx, cfg))
	a, err := build(ctx, cfg, logger, phone)
	require.NoError(b, err)
	a.yclients = yclients.New(yclients.Config{
		BaseURL: cfg.YClientsBaseURL, PartnerToken: cfg.YClientsPartnerToken, UserToken: cfg.YClientsUserToken,
		ApplicationID: cfg.YClientsApplicationID, Logger: logger, Limiter: rate.NewLimiter(rate.Inf, 1),
	})
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, roleAPI|roleWorker) }()
	b.Cleanup(func() {
		cancel()
		<-done
		a.close()
	})
	s := &benchStack{b: b, dsn: dsn, cfg: cfg, app: a, fake: fake, phone: phone, salon: sl.ID,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
	require.Eventually(b, func() bool {
		resp, err := s.http.Get(cfg.PublicURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	s.activate()
	return s
}

var benchTokenRE = regexp.MustCompile(`data-token="([^"]+)"`)

// activate installs the salon through the marketplace redirect, the connect page's websocket
// and a scan of the QR code, waits until it is active and takes its webhook URL from the
// activation callback.
func (s *benchStack) activate() {
	b := s.b
	b.Helper()
	resp, err := s.http.Get(s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/marketplace/redirect?salon_id=%d", s.salon))
	require.NoError(b, err)
	resp.Body.Close()
	require.Equal(b, http.StatusFound, resp.StatusCode)
	resp, err = s.http.Get(resp.Header.Get("Location"))
	require.NoError(b, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode, string(page))
	m := benchTokenRE.FindStringSubmatch(string(page))
	require.Len(b, m, 2, "session token on the connect page")

	wsURL := "ws" + strings.TrimPrefix(s.cfg.PublicURL, "http") + "/ws/connect?token=" + m[1]
	conn, wsResp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {s.cfg.PublicURL}})
	require.NoError(b, err)
	wsResp.Body.Close()
	defer conn.Close()
	requestQR := func() { require.NoError(b, conn.WriteJSON(map[string]string{"type": "request-qr"})) }
	requestQR()
	s.awaitFrame(conn, "qr", requestQR)
	resp, err = s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/scan", s.salon), "application/json",
		strings.NewReader(`{"phone":"79990001122","name":"Бархат"}`))
	require.NoError(b, err)
	resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	s.awaitFrame(conn, "active", nil)
	require.Eventually(b, func() bool {
		v, err := s.app.temporal.QueryWorkflow(context.Background(), workflows.InstallationID(s.salon), "", workflows.QueryStatus)
		var st workflows.State
		return err == nil && v.Get(&st) == nil && st.Status == workflows.StatusActive
	}, 30*time.Second, 50*time.Millisecond, "salon active")
	for _, cb := range slices.Backward(s.fake.Callbacks()) {
		if cb.SalonID == s.salon && len(cb.WebhookURLs) > 0 {
			s.webhookURL = cb.WebhookURLs[0]
			break
		}
	}
	require.True(b, strings.HasPrefix(s.webhookURL, s.cfg.PublicURL+fmt.Sprintf("/webhook/yclients/%d/", s.salon)),
		"activation callback carries our webhook URL")
}

// awaitFrame reads connect-page frames until one of the wanted type arrives. An error frame
// (on a loaded machine a query or update of a brand-new workflow can time out: the page says
// "server unavailable" and recovers) is logged and, when retry is set, the request repeated;
// the fifth one fails the benchmark.
func (s *benchStack) awaitFrame(conn *websocket.Conn, want string, retry func()) {
	s.b.Helper()
	require.NoError(s.b, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	for errors := 0; ; {
		var f struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		require.NoError(s.b, conn.ReadJSON(&f), "waiting for a %q frame", want)
		if f.Type == want {
			return
		}
		if f.Type == "error" {
			errors++
			require.Less(s.b, errors, 5, "error frames while waiting for %q; last: %s", want, f.Message)
			s.b.Logf("activation: error frame while waiting for %q (retrying): %s", want, f.Message)
			if retry != nil {
				time.Sleep(500 * time.Millisecond)
				retry()
			}
		}
	}
}

// noPacingNoCap turns message pacing and the daily cap off for the salon: the benchmarks
// measure the pipeline, not the anti-ban policy (which has tests of its own). The e2e tests'
// noPacing keeps the default cap of 300 a day, which a 500-booking run would hit.
func (s *benchStack) noPacingNoCap() {
	s.b.Helper()
	require.NoError(s.b, s.app.store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
		SalonID: s.salon, ReminderDayHour: 18, QuietFromMinute: 21 * 60, QuietToMinute: 9 * 60,
		PerMinute: 0, DailyCap: 0, Templates: []byte("{}")}))
}

// inboxPending is how many webhooks the dispatcher has not handed on yet.
func (s *benchStack) inboxPending() int64 {
	n, err := s.app.store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: s.salon, State: "pending"})
	require.NoError(s.b, err)
	return n
}

// benchLatencies summarises one closed-loop run.
type benchLatencies struct {
	n        int
	wall     time.Duration
	p50, p99 time.Duration
	max      time.Duration
}

func (l benchLatencies) rps() float64 { return float64(l.n) / l.wall.Seconds() }

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchSummarise(lat []time.Duration, wall time.Duration) benchLatencies {
	s := slices.Clone(lat)
	slices.Sort(s)
	pct := func(p float64) time.Duration {
		i := int(float64(len(s))*p+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return benchLatencies{n: len(s), wall: wall, p50: pct(0.50), p99: pct(0.99), max: s[len(s)-1]}
}
