package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/workflows"
)

// workerProc is one `aiadmin worker` child process.
type workerProc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (w *workerProc) pid() int { return w.cmd.Process.Pid }

func (w *workerProc) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// shardHarness is the product on real components in three processes: this one (API, fake
// YClients, fake WhatsApp server) and two workers.
type shardHarness struct {
	t       *testing.T
	store   *db.Store
	cfg     *config.Config // the API's; the workers get the same through their environment
	app     *app.App
	fake    *yclientsfake.Fake
	fakeURL string
	sim     *simserver.Server
	simURL  string
	http    *http.Client
	salons  []int64
	workers []*workerProc
}

func newShardHarness(t *testing.T, addr string) *shardHarness {
	store, dsn := dbtest.New(t)
	httpAddr := freeAddr(t)
	h := &shardHarness{t: t, store: store, http: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	h.cfg = &config.Config{
		DatabaseURL: dsn, TemporalAddress: addr, TemporalNamespace: "default",
		TaskQueue: fmt.Sprintf("e2e-shards-%d", time.Now().UnixNano()),
		HTTPAddr:  httpAddr, PublicURL: "http://" + httpAddr,
		YClientsPartnerToken: "e2e-partner-token", YClientsApplicationID: 1, RequireSignedUserData: true,
		SecretKey: bytes.Repeat([]byte{7}, 32), SessionSecret: bytes.Repeat([]byte{9}, 32),
		AdminToken: "e2e-admin", WhatsAppShards: shardCount,
	}
	h.fake = yclientsfake.New(yclientsfake.Options{
		PartnerToken: h.cfg.YClientsPartnerToken, ApplicationID: 1, RPS: 1000, EntityDelay: -1,
		RegisterURL: h.cfg.PublicURL + "/marketplace/register", LifecycleURL: h.cfg.PublicURL + "/marketplace/webhook",
	})
	h.fake.SeedDemo()
	demo, ok := h.fake.Salon(yclientsfake.DemoSalonMoscow)
	require.True(t, ok)
	first := 1_000_000 + rand.Int64N(1_000_000_000)
	for i := range shardSalons { // consecutive IDs: five salons on every shard
		sl := demo
		sl.ID = first + int64(i)
		h.fake.AddSalon(sl)
		h.salons = append(h.salons, sl.ID)
	}
	fakeSrv := httptest.NewServer(h.fake)
	t.Cleanup(func() { fakeSrv.Close(); h.fake.Close() })
	h.fakeURL = fakeSrv.URL
	h.cfg.YClientsBaseURL = fakeSrv.URL

	h.sim = simserver.New(simserver.Options{Phone: simphone.Options{FirstQR: 30 * time.Second, NextQR: 10 * time.Second,
		ConnectDelay: 20 * time.Millisecond}, Logger: testLogger(slog.LevelWarn)})
	simSrv := httptest.NewServer(h.sim)
	t.Cleanup(simSrv.Close)
	h.simURL = simSrv.URL

	// The API, in this process (it holds no WhatsApp connection).
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, app.Migrate(ctx, h.cfg))
	a, err := app.New(ctx, h.cfg, testLogger(slog.LevelWarn), app.API, app.Options{})
	require.NoError(t, err)
	h.app = a
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, app.API) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	require.Eventually(t, func() bool {
		resp, err := h.http.Get(h.cfg.PublicURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	return h
}

func testLogger(level slog.Level) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startWorker runs `aiadmin worker` in a child process configured like a deployment.
func (h *shardHarness) startWorker(name string) *workerProc {
	h.t.Helper()
	b64 := base64.StdEncoding.EncodeToString
	dir := os.Getenv("AIADMIN_WORKER_LOGS") // keep the workers' logs there (default: a temporary folder)
	if dir == "" {
		dir = h.t.TempDir()
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	require.NoError(h.t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestShardWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		shardWorkerEnv+"=1",
		"DATABASE_URL="+h.cfg.DatabaseURL,
		"TEMPORAL_ADDRESS="+h.cfg.TemporalAddress,
		"TEMPORAL_NAMESPACE="+h.cfg.TemporalNamespace,
		"TEMPORAL_TASK_QUEUE="+h.cfg.TaskQueue,
		"WHATSAPP_MODE=simserver",
		"WHATSAPP_SIM_URL="+h.simURL,
		"WHATSAPP_SHARDS="+strconv.Itoa(shardCount),
		"WHATSAPP_SHARD_RETRY=500ms",
		"DEMO=false",
		"YCLIENTS_BASE_URL="+h.fakeURL,
		"YCLIENTS_PARTNER_TOKEN="+h.cfg.YClientsPartnerToken,
		"YCLIENTS_APPLICATION_ID=1",
		"SECRET_KEY="+b64(h.cfg.SecretKey),
		"SESSION_SECRET="+b64(h.cfg.SessionSecret),
		"ADMIN_TOKEN="+h.cfg.AdminToken,
		"PUBLIC_URL="+h.cfg.PublicURL,
		"HTTP_ADDR=127.0.0.1:0",
		"OPS_ADDR=127.0.0.1:0",
		"DATA_DIR="+h.t.TempDir(),
		"LOG_LEVEL=info",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(h.t, cmd.Start())
	w := &workerProc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(w.done) }()
	h.workers = append(h.workers, w)
	h.t.Cleanup(func() {
		if !w.exited() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-w.done:
			case <-time.After(45 * time.Second):
				_ = cmd.Process.Kill()
				<-w.done
			}
		}
		if h.t.Failed() {
			out, _ := os.ReadFile(logPath)
			h.t.Logf("--- %s (pid %d) log, last 6000 bytes:\n%s", name, cmd.Process.Pid, tail(out, 6000))
		}
	})
	return w
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

var (
	ownerPID  = regexp.MustCompile(`pid (\d+)$`)
	clientPID = regexp.MustCompile(`-(\d+)-[0-9a-f]+$`)
)

// owners maps shard -> the OS pid of the worker holding its lock, from PostgreSQL.
func (h *shardHarness) owners() map[int]int {
	got, err := shard.Owners(context.Background(), h.store.Pool, h.cfg.TemporalNamespace+"/"+h.cfg.TaskQueue, shardCount)
	require.NoError(h.t, err)
	out := map[int]int{}
	for k, app := range got {
		m := ownerPID.FindStringSubmatch(app)
		require.Len(h.t, m, 2, "application_name %q", app)
		out[k], _ = strconv.Atoi(m[1])
	}
	return out
}

// connections maps salon -> the OS pid of the worker holding its live connection.
func (h *shardHarness) connections() map[int64]int {
	out := map[int64]int{}
	for _, c := range h.sim.Connections() {
		m := clientPID.FindStringSubmatch(c.Client)
		require.Len(h.t, m, 2, "client %q", c.Client)
		out[c.SalonID], _ = strconv.Atoi(m[1])
	}
	return out
}

// split reports whether the shard owners are the wanted split (pid -> shard count).
func (h *shardHarness) split(want map[int]int) bool {
	got := map[int]int{}
	for _, pid := range h.owners() {
		got[pid]++
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

// consistent reports whether the owners are the wanted split and every salon is connected,
// exactly once, by the owner of its shard.
func (h *shardHarness) consistent(want map[int]int) bool {
	if !h.split(want) {
		return false
	}
	owners := h.owners()
	conns := h.connections()
	if len(conns) != len(h.salons) {
		return false
	}
	for _, id := range h.salons {
		if conns[id] != owners[workflows.WhatsAppShard(id, shardCount)] {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds, failing at once if a worker that should run has exited.
func (h *shardHarness) waitFor(cond func() bool, timeout time.Duration, what string, alive ...*workerProc) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		for _, w := range alive {
			require.False(h.t, w.exited(), "worker pid %d exited while waiting for: %s", w.pid(), what)
		}
		require.True(h.t, time.Now().Before(deadline), "not within %s: %s", timeout, what)
		time.Sleep(50 * time.Millisecond)
	}
}

// install runs the real install flow for one salon: the marketplace redirect, the register
// page, the connect page's websocket, the owner scanning the QR, until the page says active.
func (h *shardHarness) install(salon int64, phone string) error {
	return ownerInstall(h.http, h.fakeURL, h.cfg.PublicURL, salon, func() error { return h.sim.Scan(salon, phone, "Салон") })
}

// ownerInstall installs a salon as its owner does, through real HTTP: the fake YClients'
// marketplace redirect, our register page, the connect page's websocket (Origin: the public
// URL) until a QR code shows, scan (the owner's phone), until the page says active. hc must
// not follow redirects.
func ownerInstall(hc *http.Client, fakeURL, publicURL string, salon int64, scan func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	token, _, err := openConnectPage(ctx, hc, fakeURL, salon)
	if err != nil {
		return err
	}
	wsURL := "ws" + strings.TrimPrefix(publicURL, "http") + "/ws/connect?token=" + token
	conn, wresp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {publicURL}})
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	wresp.Body.Close()
	defer conn.Close()
	if err := conn.WriteJSON(map[string]string{"type": "request-qr"}); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(45 * time.Second))
	scanned := false
	for {
		var f frame
		if err := conn.ReadJSON(&f); err != nil {
			return fmt.Errorf("salon %d: waiting for %s: %w", salon, map[bool]string{false: "qr", true: "active"}[scanned], err)
		}
		switch f.Type {
		case "qr":
			if !scanned {
				if err := scan(); err != nil {
					return fmt.Errorf("scan: %w", err)
				}
				scanned = true
			}
		case "active":
			return nil
		case "error":
			return fmt.Errorf("salon %d: error frame: %s", salon, f.Message)
		}
	}
}

// book creates a record for every salon; the fake sends its webhook, the product its
// confirmation.
func (h *shardHarness) book(round int) {
	h.t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	require.NoError(h.t, err)
	at := time.Now().In(loc).AddDate(0, 0, 3+round).Format("2006-01-02") + " 14:30:00"
	for _, id := range h.salons {
		_, err := h.fake.CreateRecord(id, yclientsfake.RecordInput{
			Client: &yclientsfake.ClientInput{Name: "Анна", Phone: shardClientPhone}, Datetime: at})
		require.NoError(h.t, err)
	}
}

// everySalonGot reports whether the fake WhatsApp server recorded exactly n messages to the
// recipient for every salon.
func (h *shardHarness) everySalonGot(phone string, n int) bool {
	for _, id := range h.salons {
		c := 0
		for _, m := range h.sim.Messages(id) {
			if m.Phone == phone {
				c++
			}
		}
		if c != n {
			return false
		}
	}
	return true
}

// welcomed reports whether every salon's own number got exactly its welcome message.
func (h *shardHarness) welcomed() bool {
	for _, id := range h.salons {
		sent := h.sim.Messages(id)
		if len(sent) != 1 || !strings.Contains(sent[0].Text, "AI Admin") {
			return false
		}
	}
	return true
}

// routedToShardQueue checks in the installation's history that the pairing ran on the salon's
// shard queue and the registration on the base queue.
func (h *shardHarness) routedToShardQueue(salon int64) {
	h.t.Helper()
	iter := h.app.Temporal.GetWorkflowHistory(context.Background(), workflows.InstallationID(salon), "", false,
		enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	queues := map[string]string{}
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(h.t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			queues[a.ActivityType.GetName()] = a.TaskQueue.GetName()
		}
	}
	require.Equal(h.t, workflows.WhatsAppQueue(h.cfg.TaskQueue, shardCount, salon), queues[activities.ActPair])
	require.Equal(h.t, workflows.WhatsAppQueue(h.cfg.TaskQueue, shardCount, salon), queues[activities.ActSendWelcome])
	require.Equal(h.t, h.cfg.TaskQueue, queues[activities.ActRegister])
}
