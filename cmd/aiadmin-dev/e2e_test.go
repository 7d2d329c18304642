package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/http/demo"
	"github.com/aiadmin/aiadmin/workflows"
)

// stack is the whole product on real components: PostgreSQL, the Temporal server named by
// TEMPORAL_ADDRESS, real HTTP and websockets; only YClients (the fake) and WhatsApp (the
// simulated phone) are stand-ins.
type stack struct {
	t   testing.TB
	dsn string
	// moscow, vladivostok and kaliningrad are this test's copies of the fake's demo salons,
	// under IDs no other test uses (the Temporal server and its workflow IDs are shared).
	moscow, vladivostok, kaliningrad int64
	cfg                              *config.Config
	app                              *app.App
	fake                             *yclientsfake.Fake
	phone                            *simphone.Phone
	http                             *http.Client
	opts                             app.Options
	logger                           *slog.Logger
	tally                            *logTally // when set, counts the logger's error records (P2)
	stop                             func()
}

// freeAddr is a free address for a server a test starts: below the kernel's ephemeral range
// and never given twice (resolveAddr), so that neither another server of the test nor an
// outgoing connection takes it before the server listens, or while it is stopped.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := resolveAddr("127.0.0.1:0")
	require.NoError(t, err)
	return addr
}

func newStack(t *testing.T) *stack {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	return newStackAt(t, addr)
}

// newStackWith is newStack with a configuration tweak.
func newStackWith(t *testing.T, tweak func(*config.Config)) *stack {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	return newStackAt(t, addr, func(s *stackSetup) { tweak(s.cfg) })
}

// stackSetup is what a test may change before its stack starts.
type stackSetup struct {
	cfg *config.Config
	// fakeHooks is the HTTP client the fake YClients sends entity webhooks with.
	fakeHooks *http.Client
	// unlimitedYClients gives the product's YClients client no rate limiter instead of the
	// process-wide 5 requests/s one (benchmarks measure the pipeline, not that bucket).
	unlimitedYClients bool
	// yclientsTimeout, when set, is the product's YClients client's HTTP timeout (15 s).
	yclientsTimeout time.Duration
	// interceptors are added to the workflow worker's.
	interceptors []interceptor.WorkerInterceptor
	// phone, when set, replaces the simulated phone's scaled-down timings.
	phone *simphone.Options
	// logger, when set, receives the stack's logs.
	logger *slog.Logger
}

func newStackAt(t testing.TB, addr string, tweaks ...func(*stackSetup)) *stack {
	t.Helper()
	_, dsn := dbtest.New(t)
	httpAddr := freeAddr(t)
	cfg := &config.Config{
		DatabaseURL: dsn, TemporalAddress: addr, TemporalNamespace: "default",
		TaskQueue: "e2e-" + strings.ReplaceAll(t.Name(), "/", "-") + fmt.Sprint(time.Now().UnixNano()),
		HTTPAddr:  httpAddr, PublicURL: "http://" + httpAddr, OpsAddr: freeAddr(t),
		YClientsPartnerToken: "e2e-partner-token", YClientsApplicationID: 1, RequireSignedUserData: true,
		SecretKey: make([]byte, 32), SessionSecret: []byte("e2e-session-secret-0123456789abcd"),
		AdminToken: "e2e-admin", WhatsAppMode: "sim", Demo: true, RequestQREvery: 100 * time.Millisecond,
		NoticeMerge: 2 * time.Second,
		// The production default: the SDK's own (10,000) would keep every booking of a
		// benchmark in memory, and P5 would measure a cache production does not have.
		WorkflowCache: config.DefaultWorkflowCache,
		// Empty: the production default; the benchmarks can be run with either
		// (TEMPORAL_GRPC_COMPRESSION=gzip make bench).
		TemporalCompression: os.Getenv("TEMPORAL_GRPC_COMPRESSION"),
	}
	setup := stackSetup{cfg: cfg}
	for _, tweak := range tweaks {
		tweak(&setup)
	}
	fake := yclientsfake.New(yclientsfake.Options{
		PartnerToken: cfg.YClientsPartnerToken, ApplicationID: 1, RPS: 1000, EntityDelay: -1, HTTPClient: setup.fakeHooks,
		RegisterURL: cfg.PublicURL + "/marketplace/register", LifecycleURL: cfg.PublicURL + "/marketplace/webhook",
	})
	fake.SeedDemo()
	ids := make([]int64, 3)
	for i, demo := range []int64{yclientsfake.DemoSalonMoscow, yclientsfake.DemoSalonVladivostok, yclientsfake.DemoSalonKaliningrad} {
		sl, ok := fake.Salon(demo)
		require.True(t, ok)
		sl.ID = 1_000_000 + rand.Int64N(1_000_000_000)
		fake.AddSalon(sl)
		ids[i] = sl.ID
	}
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(func() { fakeSrv.Close(); fake.Close() })
	cfg.YClientsBaseURL = fakeSrv.URL
	// Real pairing timings scaled down: 6 codes, the first 60 s → 600 ms, the rest 20 s → 200 ms.
	phoneOpts := simphone.Options{FirstQR: 600 * time.Millisecond, NextQR: 200 * time.Millisecond,
		PairCodeTTL: 600 * time.Millisecond, ConnectDelay: 20 * time.Millisecond}
	if setup.phone != nil {
		phoneOpts = *setup.phone
	}
	phone := simphone.New(phoneOpts)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if setup.logger != nil {
		logger = setup.logger
	}
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, app.Migrate(ctx, cfg))
	opts := app.Options{WhatsApp: whatsAppFor(phone), Routes: func(e *gin.Engine) { demo.Routes(e, phone) },
		Interceptors: setup.interceptors}
	if setup.yclientsTimeout > 0 {
		opts.YClients = yclients.New(yclients.Config{
			BaseURL: cfg.YClientsBaseURL, PartnerToken: cfg.YClientsPartnerToken, UserToken: cfg.YClientsUserToken,
			ApplicationID: cfg.YClientsApplicationID, HTTPClient: &http.Client{Timeout: setup.yclientsTimeout},
		})
	}
	if setup.unlimitedYClients {
		opts.YClients = yclients.New(yclients.Config{
			BaseURL: cfg.YClientsBaseURL, PartnerToken: cfg.YClientsPartnerToken, UserToken: cfg.YClientsUserToken,
			ApplicationID: cfg.YClientsApplicationID, Limiter: rate.NewLimiter(rate.Inf, 1),
		})
	}
	cancel()
	s := &stack{t: t, dsn: dsn, cfg: cfg, fake: fake, phone: phone, moscow: ids[0], vladivostok: ids[1], kaliningrad: ids[2],
		opts: opts, logger: logger,
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

// start builds the app from the stack's configuration and serves it until stop.
func (s *stack) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, s.cfg, s.logger, app.API|app.Worker, s.opts)
	require.NoError(s.t, err)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, app.API|app.Worker) }()
	s.app = a
	s.stop = func() {
		cancel()
		<-done
		a.Close()
		s.stop = func() {}
	}
	// Up to 60 s: a loaded machine (CI runs the packages side by side) starts it slower, and
	// once 30 s were not enough (TestWebUIShowsDecodedBookingPayloads, CI of 2026-12-04 23:37,
	// with its own Temporal server and Web UI starting just before). A stack that stopped says why.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			done <- err // for stop
			require.FailNow(s.t, "the stack stopped before its /healthz answered 200", "%v", err)
		default:
		}
		if resp, err := s.http.Get(s.cfg.PublicURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		require.True(s.t, time.Now().Before(deadline), "the stack's /healthz did not answer 200 within 60 s")
		time.Sleep(50 * time.Millisecond)
	}
}

// restart stops the app, changes its configuration and starts it again on the same database,
// Temporal task queue, fake YClients and simulated phone: a deploy.
func (s *stack) restart(tweak func(*config.Config)) {
	s.t.Helper()
	s.stop()
	tweak(s.cfg)
	s.start()
}

var tokenRE = regexp.MustCompile(`data-token="([^"]+)"`)

// install follows the marketplace redirect the fake YClients issues (and the queue page, if
// the salon has to wait its turn for YClients) and returns the connect page's session token.
func (s *stack) install(fakeURL string) string { return s.installSalon(fakeURL, s.moscow) }

func (s *stack) installSalon(fakeURL string, salon int64) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token, _, err := openConnectPage(ctx, s.http, fakeURL, salon)
	require.NoError(s.t, err, "the connect page of salon %d", salon)
	return token
}

type frame struct {
	Type        string `json:"type"`
	Image       string `json:"image"`
	Code        string `json:"code"`
	ExpiresIn   int    `json:"expires_in"`
	Status      string `json:"status"`
	Message     string `json:"message"`
	Phone       string `json:"phone"`
	Name        string `json:"name"`
	RedirectURL string `json:"redirect_url"`
	Pairing     string `json:"pairing"`
	Attempt     int    `json:"attempt"`
}

func (s *stack) dial(token string) *websocket.Conn {
	s.t.Helper()
	wsURL := "ws" + strings.TrimPrefix(s.cfg.PublicURL, "http") + "/ws/connect?token=" + token
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {s.cfg.PublicURL}})
	require.NoError(s.t, err)
	resp.Body.Close()
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// next reads frames until one of the wanted type arrives.
func next(t testing.TB, conn *websocket.Conn, want string, seen *[]frame) frame {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	for {
		var f frame
		require.NoError(t, conn.ReadJSON(&f), "waiting for a %q frame", want)
		if seen != nil {
			*seen = append(*seen, f)
		}
		if f.Type == want {
			return f
		}
		require.NotEqual(t, "error", f.Type, "error frame: %s", f.Message)
	}
}

func (s *stack) scan() { s.scanSalon(s.moscow) }

func (s *stack) scanSalon(salon int64) {
	s.t.Helper()
	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/scan", salon), "application/json",
		strings.NewReader(`{"phone":"79990001122","name":"Бархат"}`))
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
}

func (s *stack) state() workflows.State {
	s.t.Helper()
	v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.InstallationID(s.moscow), "", workflows.QueryStatus)
	require.NoError(s.t, err)
	var st workflows.State
	require.NoError(s.t, v.Get(&st))
	return st
}

func (s *stack) waitStatus(want workflows.Status) { s.waitSalonStatus(s.moscow, want) }

func (s *stack) waitSalonStatus(salon int64, want workflows.Status) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.InstallationID(salon), "", workflows.QueryStatus)
		if err != nil {
			return false
		}
		var st workflows.State
		return v.Get(&st) == nil && st.Status == want
	}, 30*time.Second, 50*time.Millisecond, "status %s", want)
}

func (s *stack) lifecycle(fakeURL, event string) {
	s.t.Helper()
	resp, err := s.http.Post(fakeURL+fmt.Sprintf("/_fake/salons/%d/lifecycle", s.moscow), "application/json",
		strings.NewReader(`{"event":"`+event+`"}`))
	require.NoError(s.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode, string(body))
}

// searchable waits until visibility lists the installation with the given status.
func (s *stack) searchable(status workflows.Status) {
	s.t.Helper()
	query := fmt.Sprintf(`SalonID = "%d" AND InstallStatus = "%s"`, s.moscow, status)
	require.Eventually(s.t, func() bool {
		resp, err := s.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.Executions) > 0 &&
			resp.Executions[0].Execution.WorkflowId == workflows.InstallationID(s.moscow)
	}, 15*time.Second, 100*time.Millisecond, "visibility query %s", query)
}

func TestEndToEndInstallation(t *testing.T) {
	s := newStack(t)
	fakeURL := s.cfg.YClientsBaseURL

	token := s.install(fakeURL)
	// A second click on «Подключить» attaches to the same installation.
	firstRun := s.state()
	token2 := s.install(fakeURL)
	require.NotEmpty(t, token2)
	desc, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflows.InstallationID(s.moscow), "")
	require.NoError(t, err)
	runID := desc.WorkflowExecutionInfo.Execution.RunId
	require.EqualValues(t, workflows.OwnerWaiting.PriorityKey, desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey(),
		"the owner waits on the installation's pages: its tasks go ahead of a backlog of clients' messages")
	require.Equal(t, firstRun.SalonID, s.moscow)
	require.Equal(t, workflows.StatusPendingWhatsApp, s.state().Status)

	conn := s.dial(token)
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	var seen []frame
	qr := next(t, conn, "qr", &seen)
	require.True(t, strings.HasPrefix(qr.Image, "data:image/png;base64,"), "server-rendered PNG")
	require.Positive(t, qr.ExpiresIn)
	// Nobody scans: the batch of 6 codes runs out and the page offers a new code.
	for {
		f := next(t, conn, "status", &seen)
		if strings.Contains(f.Message, "Показать новый код") {
			break
		}
	}
	require.Equal(t, activities.PairTimedOut, s.state().Pairing.LastOutcome)
	qrCount := 0
	for _, f := range seen {
		if f.Type == "qr" {
			qrCount++
		}
	}
	require.GreaterOrEqual(t, qrCount, 2, "the QR changes during a batch")
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	next(t, conn, "qr", nil)
	s.scan()
	connected := next(t, conn, "connected", nil)
	require.Equal(t, "79990001122", connected.Phone)
	active := next(t, conn, "active", nil)
	require.NotEmpty(t, active.RedirectURL, "back to YClients (the callback's Location)")
	s.waitStatus(workflows.StatusActive)
	s.searchable(workflows.StatusActive)

	cbs := s.fake.Callbacks()
	require.Len(t, cbs, 1, "exactly one activation callback")
	require.Len(t, cbs[0].WebhookURLs, 1)
	require.True(t, strings.HasPrefix(cbs[0].WebhookURLs[0], s.cfg.PublicURL+fmt.Sprintf("/webhook/yclients/%d/", s.moscow)))
	require.Equal(t, "active", s.fake.Status(s.moscow))
	require.Eventually(t, func() bool { return s.state().LastSync.Services > 0 }, 10*time.Second, 20*time.Millisecond,
		"the first sync, run once active")
	require.Eventually(t, func() bool { return s.state().WelcomeSent }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return len(s.phone.Messages(s.moscow)) == 1 }, 5*time.Second, 20*time.Millisecond)
	require.Contains(t, s.phone.Messages(s.moscow)[0].Text, "AI Admin")

	// Operators' health view.
	req, _ := http.NewRequest(http.MethodGet, s.cfg.PublicURL+fmt.Sprintf("/api/installations/%d/health", s.moscow), nil)
	req.Header.Set("Authorization", "Bearer e2e-admin")
	resp, err := s.http.Do(req)
	require.NoError(t, err)
	var health map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&health))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, true, health["phone_linked"], "%v", health)
	require.Equal(t, true, health["yclients_reachable"], "%v", health)
	budget, ok := health["send_budget"].(map[string]any)
	require.True(t, ok, "the send budget is visible: %v", health)
	require.EqualValues(t, 6, budget["per_minute"])
	require.EqualValues(t, 1, budget["sent_today"], "the welcome message")

	// Lifecycle: freeze, unfreeze (YClients sends `payment`; we re-check the status), uninstall.
	s.lifecycle(fakeURL, "freeze")
	s.waitStatus(workflows.StatusFrozen)
	s.searchable(workflows.StatusFrozen)
	s.lifecycle(fakeURL, "unfreeze")
	s.waitStatus(workflows.StatusActive)
	require.Equal(t, 2, s.state().Pairing.Attempt, "two attempts: the timed-out batch and the scanned one")
	s.lifecycle(fakeURL, "uninstall")
	s.searchable(workflows.StatusUninstalled)
	we := s.app.Temporal.GetWorkflow(context.Background(), workflows.InstallationID(s.moscow), runID)
	var final workflows.State
	require.NoError(t, we.Get(context.Background(), &final))
	require.Equal(t, workflows.StatusUninstalled, final.Status)
	_, err = s.app.Store.GetSalonSecrets(context.Background(), s.moscow)
	require.Error(t, err, "per-salon secrets deleted")
	require.Len(t, s.fake.Callbacks(), 1, "still exactly one activation callback")
	recordHistory(t, s.app.Temporal, s.moscow, runID)

	// Reinstall: a new run of the same workflow ID.
	s.install(fakeURL)
	desc, err = s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflows.InstallationID(s.moscow), "")
	require.NoError(t, err)
	require.NotEqual(t, runID, desc.WorkflowExecutionInfo.Execution.RunId)
	require.Equal(t, enums.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.WorkflowExecutionInfo.Status)
	require.Equal(t, workflows.StatusPendingWhatsApp, s.state().Status)
	require.NoError(t, s.app.Temporal.SignalWorkflow(context.Background(), workflows.InstallationID(s.moscow), "", workflows.SignalUninstall, struct{}{}))
}

// recordHistory writes the run's history for the replay tests when AIADMIN_RECORD_HISTORY
// names a folder (see workflows/testdata).
func recordHistory(t *testing.T, c client.Client, salon int64, runID string) {
	recordWorkflowHistory(t, c, workflows.InstallationID(salon), runID, "installation-"+t.Name())
}

func recordWorkflowHistory(t *testing.T, c client.Client, workflowID, runID, name string) {
	dir := os.Getenv("AIADMIN_RECORD_HISTORY")
	if dir == "" {
		return
	}
	iter := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []json.RawMessage
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		b, err := protoJSON(ev)
		require.NoError(t, err)
		events = append(events, b)
	}
	out, err := json.MarshalIndent(map[string]any{"events": events}, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), out, 0o644))
}
