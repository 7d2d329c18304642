package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/workflows"
)

// temporalProcess is a Temporal dev server this test can stop and start again, on the same
// port and SQLite file.
type temporalProcess struct {
	t      *testing.T
	bin    string
	conf   string
	db     string
	addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// start starts the server and waits for its ready file; if the server exits first, or is not
// ready within a minute (then it is stopped), the test fails with the server's output.
func (p *temporalProcess) start() {
	p.t.Helper()
	dir := p.t.TempDir()
	ready := filepath.Join(dir, "ready")
	out, err := os.Create(filepath.Join(dir, "temporal.log"))
	require.NoError(p.t, err)
	defer out.Close()
	_, port, _ := strings.Cut(p.addr, ":")
	p.cmd = exec.Command(p.bin, "-config", p.conf, "-db", p.db, "-port", port, "-headless", "-ready-file", ready)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	require.NoError(p.t, p.cmd.Start())
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.cmd, p.exited)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			return
		}
		select {
		case <-p.exited:
			p.cmd = nil
			log, _ := os.ReadFile(out.Name())
			p.t.Fatalf("temporal dev server on %s exited before it was ready; its output:\n%s", p.addr, log)
		case <-deadline:
			p.stop()
			log, _ := os.ReadFile(out.Name())
			p.t.Fatalf("temporal dev server on %s not ready within a minute; its output:\n%s", p.addr, log)
		case <-tick.C:
		}
	}
}

func (p *temporalProcess) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// TestWebhooksSurviveTemporalRestart: webhooks that arrive while Temporal is down are
// answered 2xx from the inbox and become messages once it is back, each exactly once.
func TestWebhooksSurviveTemporalRestart(t *testing.T) {
	if os.Getenv("TEMPORAL_ADDRESS") == "" {
		t.Skip("run through `make test`")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	p := &temporalProcess{t: t, bin: filepath.Join(root, "bin", "temporal-dev"), conf: filepath.Join(root, "temporal-dev.yaml"),
		db: filepath.Join(t.TempDir(), "temporal.db"), addr: freeAddr(t)}
	if _, err := os.Stat(p.bin); err != nil {
		t.Skip("bin/temporal-dev not built (make test builds it)")
	}
	p.start()
	t.Cleanup(p.stop)

	s := newStackAt(t, p.addr)
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)

	p.stop()
	// The api stays ready (webhooks go into the inbox) and says Temporal is unavailable; the
	// worker, which cannot poll, is not ready.
	status, ready := getJSON(t, s.cfg.PublicURL+"/readyz")
	require.Equal(t, http.StatusOK, status, "api /readyz with Temporal stopped: %v", ready)
	require.Equal(t, map[string]any{"status": "ready", "checks": map[string]any{"postgresql": "ok", "temporal": "unavailable"}}, ready)
	status, ready = getJSON(t, "http://"+s.cfg.OpsAddr+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status, "worker /readyz with Temporal stopped: %v", ready)
	require.Equal(t, []any{"polling"}, ready["failed"], "worker /readyz: %v", ready)
	require.Equal(t, "ok", ready["checks"].(map[string]any)["postgresql"], "worker /readyz: %v", ready)
	_, local := localIn(t, "Europe/Moscow", 3, "15:00")
	rec, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(t, s.fake, salon), ServiceIDs: []int64{serviceOf(t, s.fake, salon)},
		Client: &yclientsfake.ClientInput{Name: "Анна", Phone: clientPhone}, Datetime: local, Duplicates: 2})
	require.NoError(t, err)
	moved, movedLocal := localIn(t, "Europe/Moscow", 4, "16:00")
	_, err = s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Datetime: &movedLocal, Duplicates: 4})
	require.NoError(t, err)
	require.NoError(t, s.fake.WaitDeliveries(context.Background(), 6))
	for _, d := range s.fake.Deliveries() {
		require.Equal(t, 200, d.HTTPStatus, "answered 2xx while Temporal is down: %+v", d)
	}
	require.Empty(t, s.clientTexts(salon), "nothing can be sent while Temporal is down")

	p.start()
	defer func() {
		if t.Failed() {
			v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.BookingID(salon, rec.ID), "", workflows.QueryBooking)
			if err == nil {
				var st workflows.BookingState
				_ = v.Get(&st)
				t.Logf("booking messages: %+v", st.Messages)
			}
		}
	}()
	s.waitClientTexts(salon, 1)
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 30*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		status, _ := getJSON(t, "http://"+s.cfg.OpsAddr+"/readyz")
		return status == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "the worker is ready again once it polls")
	time.Sleep(500 * time.Millisecond)
	// Created and moved while Temporal was down: the client hears of the visit once, at its
	// new time (a confirmation, not a change they never saw the start of).
	got := s.clientTexts(salon)
	require.Len(t, got, 1, "nothing lost, nothing doubled: %q", got)
	require.Contains(t, got[0], "Вы записаны")
	require.Contains(t, got[0], "16:00")
	rows, err := s.app.Store.ListMessages(context.Background(), salon)
	require.NoError(t, err)
	for _, r := range rows {
		if r.RecordID == rec.ID && r.Kind == string(texts.Confirmation) && r.Status == "sent" {
			require.True(t, r.VisitTime.Equal(moved), "the confirmation is keyed on the new visit time")
		}
	}
}
