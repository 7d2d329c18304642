package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// devProcessEnv marks the test binary re-executed as `aiadmin-dev dev`.
const devProcessEnv = "AIADMIN_DEV_PROCESS"

// TestDevProcess is not a test of its own: it is `aiadmin-dev dev` (main's run, the
// environment as its configuration), in a child process that TestDevStopsPromptly starts by
// re-executing the test binary.
func TestDevProcess(t *testing.T) {
	if os.Getenv(devProcessEnv) != "1" {
		t.Skip("a helper process of TestDevStopsPromptly")
	}
	if err := run([]string{"dev"}); err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin-dev:", err)
		os.Exit(1)
	}
}

// devProc is a running `dev` process.
type devProc struct {
	t               *testing.T
	cmd             *exec.Cmd
	log             string
	public, fakeURL string
	salon           int64
	done            chan struct{}
}

// startDev starts `dev` against the test's Temporal server, on a database, ports and data
// folder of its own, with a demo salon under an ID no other test uses (the Temporal server and
// its workflow IDs are shared).
func startDev(t *testing.T, temporalAddr string) *devProc {
	t.Helper()
	_, dsn := dbtest.New(t)
	dir := t.TempDir()
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: "demo-partner-token", ApplicationID: 1})
	fake.SeedDemo()
	salon, ok := fake.Salon(yclientsfake.DemoSalonMoscow)
	require.True(t, ok)
	salon.ID = 1_000_000 + rand.Int64N(1_000_000_000)
	fake.AddSalon(salon)
	require.NoError(t, fake.Save(filepath.Join(dir, "fake-yclients.json"))) // `dev` restores its fake from it
	fake.Close()

	p := &devProc{t: t, log: filepath.Join(dir, "dev.log"), salon: salon.ID, done: make(chan struct{})}
	httpAddr, fakeAddr := freeAddr(t), freeAddr(t)
	p.public, p.fakeURL = "http://"+httpAddr, "http://"+fakeAddr
	logFile, err := os.Create(p.log)
	require.NoError(t, err)
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestDevProcess$", "-test.count=1")
	p.cmd.Env = append(withoutEnv(os.Environ(), "YCLIENTS_PARTNER_TOKEN", "PUBLIC_URL"),
		devProcessEnv+"=1", "DEMO=true", "DATABASE_URL="+dsn, "TEMPORAL_ADDRESS="+temporalAddr,
		"TEMPORAL_TASK_QUEUE="+fmt.Sprintf("devstop-%d", time.Now().UnixNano()),
		"HTTP_ADDR="+httpAddr, "FAKE_YCLIENTS_ADDR="+fakeAddr, "OPS_ADDR="+freeAddr(t), "DATA_DIR="+dir, "LOG_LEVEL=info")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			out, _ := os.ReadFile(p.log)
			t.Logf("--- dev log, last 6000 bytes:\n%s", tail(out, 6000))
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(p.public + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "dev answers /readyz")
	return p
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

// openPairing goes through the marketplace redirect, opens the connect page's websocket and
// waits for the first QR code of a pairing attempt (the simulated phone's real timings: the
// batch lasts minutes).
func (p *devProc) openPairing() *websocket.Conn {
	p.t.Helper()
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(fmt.Sprintf("%s/_fake/marketplace/redirect?salon_id=%d", p.fakeURL, p.salon))
	require.NoError(p.t, err)
	resp.Body.Close()
	require.Equal(p.t, http.StatusFound, resp.StatusCode)
	resp, err = noFollow.Get(resp.Header.Get("Location"))
	require.NoError(p.t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(p.t, http.StatusOK, resp.StatusCode, string(page))
	m := tokenRE.FindStringSubmatch(string(page))
	require.Len(p.t, m, 2, "session token on the page")
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(p.public, "http")+"/ws/connect?token="+m[1],
		http.Header{"Origin": {p.public}})
	require.NoError(p.t, err)
	resp.Body.Close()
	p.t.Cleanup(func() { conn.Close() })
	requestQR := func() { require.NoError(p.t, conn.WriteJSON(map[string]string{"type": "request-qr"})) }
	requestQR()
	awaitFrame(p.t, conn, "qr", requestQR)
	return conn
}

// signal sends sig and returns how long the process took to exit (at most within).
func (p *devProc) signal(sig os.Signal, within time.Duration) (time.Duration, bool) {
	start := time.Now()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
		return time.Since(start), true
	case <-time.After(within):
		return time.Since(start), false
	}
}

// TestDevStopsPromptly: `dev` with a pairing open stops within 5 s of Ctrl-C (it used to
// wait about 30 s for the pairing attempt), the connect page is told to reconnect (close
// code 1012), and a second Ctrl-C exits at once while the first is still waiting.
func TestDevStopsPromptly(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" || os.Getenv(devProcessEnv) != "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}

	t.Run("pairing open", func(t *testing.T) {
		p := startDev(t, addr)
		conn := p.openPairing()
		took, exited := p.signal(os.Interrupt, 10*time.Second)
		require.True(t, exited, "dev still running %s after Ctrl-C", took)
		t.Logf("dev stopped %s after Ctrl-C with a pairing open", took.Round(time.Millisecond))
		require.Less(t, took, 5*time.Second, "stop time: got %s, want under 5 s", took)
		require.Zero(t, p.cmd.ProcessState.ExitCode(), "a graceful stop exits 0")
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		for {
			_, _, err := conn.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			require.ErrorAs(t, err, &ce, "got %v, want a close frame", err)
			require.Equal(t, websocket.CloseServiceRestart, ce.Code, "close code: got %d want 1012 (reconnect shortly)", ce.Code)
			break
		}
		out, err := os.ReadFile(p.log)
		require.NoError(t, err)
		require.Contains(t, string(out), "pairing attempt ended: its worker is stopping")
	})

	t.Run("second Ctrl-C", func(t *testing.T) {
		p := startDev(t, addr)
		// A request whose body never comes: the graceful stop waits for it (up to 10 s).
		conn, err := net.Dial("tcp", strings.TrimPrefix(p.public, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "POST /marketplace/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		require.NoError(t, err)
		time.Sleep(200 * time.Millisecond)
		took, exited := p.signal(os.Interrupt, time.Second)
		require.False(t, exited, "the first Ctrl-C waits for the request in flight (exited after %s)", took)
		took, exited = p.signal(os.Interrupt, 2*time.Second)
		require.True(t, exited, "dev still running %s after a second Ctrl-C", took)
		t.Logf("dev exited %s after a second Ctrl-C", took.Round(time.Millisecond))
		require.Equal(t, 130, p.cmd.ProcessState.ExitCode(), "exit code: got %v, want 130", p.cmd.ProcessState)
		out, err := os.ReadFile(p.log)
		require.NoError(t, err)
		require.Contains(t, string(out), "second signal: exiting at once")
	})
}
