package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/http/browsertest"
	"github.com/aiadmin/aiadmin/workflows"
)

// temporalWithUI starts the Temporal dev server with its Web UI (TEMPORAL_DEV_BIN, default
// bin/temporal-dev) in memory, its payload codec endpoint set to codec; it returns the
// frontend's address and the UI's origin.
func temporalWithUI(t *testing.T, codec string) (addr, ui string) {
	t.Helper()
	bin := os.Getenv("TEMPORAL_DEV_BIN")
	if bin == "" {
		bin = "../../bin/temporal-dev"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no Temporal dev server binary at %s (make temporal-dev)", bin)
	}
	if help, _ := exec.Command(bin, "-h").CombinedOutput(); !strings.Contains(string(help), "-codec-endpoint") {
		t.Skipf("%s predates -codec-endpoint: rebuild it (make temporal-dev)", bin)
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	_, uiPort, _ := net.SplitHostPort(freeAddr(t))
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(bin, "-config", "../../temporal-dev.yaml", "-db", ":memory:", "-port", port, "-ui-port", uiPort,
		"-codec-endpoint", codec, "-ready-file", ready)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	require.Eventually(t, func() bool { _, err := os.Stat(ready); return err == nil }, 60*time.Second, 100*time.Millisecond,
		"the Temporal dev server with its Web UI starts")
	return "127.0.0.1:" + port, "http://127.0.0.1:" + uiPort
}

// waitRunID is the workflow's current run.
func (s *stack) waitRunID(workflowID string) string {
	s.t.Helper()
	d, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	require.NoError(s.t, err)
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// TestWebUIShowsDecodedBookingPayloads: an operator signs in at /codec/login once, and the Temporal
// Web UI, configured with the codec endpoint as `make dev` configures it, shows a booking
// workflow's client data decoded: the client's name and phone, which Temporal stores encrypted.
func TestWebUIShowsDecodedBookingPayloads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts its own Temporal server with the Web UI")
	}
	httpAddr := freeAddr(t)
	addr, ui := temporalWithUI(t, "http://"+httpAddr+"/codec")
	s := newStackAt(t, addr, func(su *stackSetup) {
		su.cfg.HTTPAddr, su.cfg.PublicURL, su.cfg.TemporalUIOrigin = httpAddr, "http://"+httpAddr, ui
	})
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "16:00")
	rec := s.bookRecord(salon, local)
	s.waitClientTexts(salon, 1)
	bookingID := workflows.BookingID(salon, rec.ID)

	historyURL := fmt.Sprintf("%s/namespaces/default/workflows/%s/%s/history", ui, bookingID, s.waitRunID(bookingID))
	b := browsertest.New(t)
	p := b.Open(browsertest.Desktop)

	// Not signed in: the codec endpoint refuses, the payload stays encrypted.
	text := signalText(t, p, historyURL, 5*time.Second)
	require.NotContains(t, text, clientPhone, "decoded without signing in")

	p.Do(chromedp.Navigate(s.cfg.PublicURL+"/codec/login"), chromedp.WaitVisible(`input[name="token"]`),
		chromedp.SendKeys(`input[name="token"]`, s.cfg.AdminToken), chromedp.Click(`button[type="submit"]`))
	require.Eventually(t, func() bool {
		return strings.HasPrefix(browsertest.Eval[string](p, "location.href"), ui)
	}, 20*time.Second, 100*time.Millisecond, "signing in leads to the Web UI")

	text = signalText(t, p, historyURL, 20*time.Second)
	browsertest.Eval[bool](p, `(() => { const e = [...document.querySelectorAll('*')].reverse().find(e => e.textContent.includes('`+clientPhone+`'));
		if (e) { e.scrollIntoView({block: 'center'}); return true } return false })()`)
	p.Screenshot("webui-booking-decoded")
	require.Contains(t, text, clientPhone, "the booking's client phone, decoded, in the signal's input:\n%s", text)
	require.Contains(t, text, "Анна")
}

// signalText opens the workflow's event history, expands the signal that carried the booking
// (its input is the client's data) and returns the page's text once it shows the client's
// phone, or after wait.
func signalText(t *testing.T, p *browsertest.Page, historyURL string, wait time.Duration) string {
	t.Helper()
	p.Do(chromedp.Navigate(historyURL))
	expand := `(() => { const r = [...document.querySelectorAll('tr, [role=row], button, a')].find(e => /Signaled/.test(e.textContent) && e.textContent.length < 400);
		if (r) { r.click(); return true } return false })()`
	require.Eventually(t, func() bool { return browsertest.Eval[bool](p, expand) }, 30*time.Second, 250*time.Millisecond,
		"the signal in the event history")
	var text string
	for deadline := time.Now().Add(wait); time.Now().Before(deadline) && !strings.Contains(text, clientPhone); {
		time.Sleep(250 * time.Millisecond)
		text = browsertest.Eval[string](p, "document.body.innerText")
	}
	return text
}
