package httpapi

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/http/browsertest"
	"github.com/aiadmin/aiadmin/workflows"
)

// connectTexts are the connect page's texts a salon owner reads; each must stand out from what
// is behind it by at least 4.5:1.
var connectTexts = []string{"h1", ".brand", ".salon", "#status", ".tab", ".steps li", ".muted", "label", ".hint",
	"#phone", ".btn", "footer p", "footer a", ".placeholder"}

// requireReadable checks the contrast of the visible texts matching the selectors.
func requireReadable(t *testing.T, p *browsertest.Page, selectors ...string) {
	t.Helper()
	for _, c := range p.TextContrasts(selectors...) {
		require.GreaterOrEqual(t, c.Ratio, 4.5, "contrast: got %s, want at least 4.5:1", c)
	}
}

// evalQuiet evaluates without failing the test: the page may be between two documents.
func evalQuiet[T any](p *browsertest.Page, expression string) (T, bool) {
	ctx, cancel := context.WithTimeout(p.Context(), 2*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	return v, err == nil
}

// TestConnectPageInBrowser opens the connect page, as the register handler renders it, in a real
// browser: a phone opens on the pairing code with the salon's phone filled in, a laptop on the
// QR code; «Обновить» reloads the page; the texts are readable; reduced motion stops the spinner.
func TestConnectPageInBrowser(t *testing.T) {
	srv := connectPageServerWith(t, connectData{
		SalonID: 42, SalonName: "Бархат", SalonPhone: "8 (495) 123-45-67", Token: "tok",
		Status: string(workflows.StatusPendingWhatsApp), Message: statusMessage(workflows.State{Status: workflows.StatusPendingWhatsApp}),
	}, "https://t.me/aiadmin_support")
	b := browsertest.New(t)
	selected := `document.querySelector('[role=tab][aria-selected=true]').id`

	t.Run("phone opens on the code", func(t *testing.T) {
		p := b.Open(browsertest.Phone)
		p.Do(chromedp.Navigate(srv.URL+"/connect"), chromedp.WaitVisible("#panel-phone"))
		require.Equal(t, "tab-phone", browsertest.Eval[string](p, selected), "selected tab: got another, want the code")
		require.False(t, browsertest.Eval[bool](p, `!!document.getElementById('panel-qr').getClientRects().length`),
			"QR panel: got it visible, want it hidden")
		phone := browsertest.Run(p, chromedp.Value("#phone"))
		require.Equal(t, "+7 495 123-45-67", phone, "phone field: got %q want the salon's phone", phone)
		hint := browsertest.Run(p, chromedp.Text("#phone-hint"))
		require.Contains(t, hint, "номер салона из YClients", "hint: got %q", hint)
		steps := browsertest.Run(p, chromedp.Text("#panel-phone"))
		require.Contains(t, steps, "WhatsApp Business", "code panel: got %q, want WhatsApp Business named", steps)
		support := browsertest.Run(p, chromedp.AttributeValue("#support", "href"))
		require.Equal(t, "https://t.me/aiadmin_support", support.Value, "support link: got %+v", support)
		requireReadable(t, p, connectTexts...)
		p.Screenshot("connect")

		// «Обновить» reloads the page itself (the frame), not the YClients page around it.
		require.True(t, browsertest.Eval[bool](p, `window.beforeReload = true`))
		require.Equal(t, "Обновить", browsertest.Run(p, chromedp.Text("#reload")))
		p.Do(chromedp.Click("#reload"))
		require.Eventually(t, func() bool {
			gone, ok := evalQuiet[bool](p, `window.beforeReload === undefined && !!document.getElementById('app')`)
			return ok && gone
		}, 10*time.Second, 100*time.Millisecond, "«Обновить»: got no reload")
	})

	t.Run("laptop opens on the QR code", func(t *testing.T) {
		p := b.Open(browsertest.Desktop)
		p.Do(chromedp.Navigate(srv.URL+"/connect"), chromedp.WaitVisible("#panel-qr"))
		require.Equal(t, "tab-qr", browsertest.Eval[string](p, selected), "selected tab: got another, want the QR code")
		require.False(t, browsertest.Eval[bool](p, `!!document.getElementById('panel-phone').getClientRects().length`),
			"code panel: got it visible, want it hidden")
		requireReadable(t, p, connectTexts...)
		p.Screenshot("connect")

		spinner := `getComputedStyle(document.querySelector('.status.wait'), '::before').animationName`
		require.Equal(t, "spin", browsertest.Eval[string](p, spinner), "spinner: got no animation")
		p.ReducedMotion(true)
		require.Equal(t, "none", browsertest.Eval[string](p, spinner), "spinner with reduced motion: got an animation")
	})
}

// TestErrorPageInBrowser: the error page through the real router shows the reference ID that
// the log line of the failure carries, offers «Обновить» where a reload may help, links to
// support, and is readable.
func TestErrorPageInBrowser(t *testing.T) {
	var logs lockedBuffer
	cfg := testConfig()
	cfg.RequireSignedUserData = false
	cfg.SupportURL = "mailto:support@aiadmin.example"
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	b := browsertest.New(t)

	p := b.Open(browsertest.Phone)
	p.Do(chromedp.Navigate(srv.URL+"/marketplace/register?salon_id=42"), chromedp.WaitVisible("#request-id"))
	title := browsertest.Run(p, chromedp.Text("h1"))
	require.Equal(t, "Сервис временно недоступен", title, "title: got %q", title)
	id := browsertest.Run(p, chromedp.Text("#request-id"))
	require.Regexp(t, `^[A-Z2-7]{10}$`, id, "reference ID: got %q", id)
	ref := browsertest.Run(p, chromedp.Text(".ref"))
	require.Equal(t, "Код обращения: "+id, ref, "reference line: got %q", ref)
	failed := ""
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `msg="request failed"`) && strings.Contains(line, "requestID="+id) {
			failed = line
		}
	}
	require.NotEmpty(t, failed, "log: got %s, want the «request failed» line with requestID=%s", logs.String(), id)
	require.Contains(t, failed, "status=503", "log line: got %s", failed)
	require.Equal(t, "Обновить", browsertest.Run(p, chromedp.Text("#reload")))
	support := browsertest.Run(p, chromedp.AttributeValue("#support", "href"))
	require.Equal(t, "mailto:support@aiadmin.example", support.Value, "support link: got %+v", support)
	requireReadable(t, p, "h1", ".brand", "main > p", ".btn", ".support", ".support a", ".ref")
	p.Screenshot("error")
}
