package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/http/browsertest"
)

// TestQueuePageInBrowser: an owner who clicks «Подключить» on a phone while many salons
// connect at once (the cluster's YClients budget has a queue of other owners' requests) sees a
// page that says the salon waits its turn and when it comes. With no click, the page opens
// itself again when the salon's reads are due and goes on to the connect page.
func TestQueuePageInBrowser(t *testing.T) {
	s := newStack(t)
	b := browsertest.New(t)
	p := b.Open(browsertest.Phone)
	ctx := context.Background()
	for range 40 { // other owners' requests: a 12 s queue
		_, ok, err := s.app.Store.ReserveYClientsSlot(ctx, yclients.BudgetSpacing, time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
	}
	p.Do(chromedp.Navigate(s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/marketplace/redirect?salon_id=%d", s.vladivostok)))
	waitFor(t, p, `document.title.indexOf('Салон в очереди на подключение') === 0`, "the queue page")
	text := browsertest.Run(p, chromedp.Text("main"))
	require.Contains(t, text, "Очередь вашего салона подойдёт меньше чем через минуту")
	require.Contains(t, text, "Страница обновится сама")
	comesBackOntoTheConnectPage(t, p, "queue-phone")
}

// comesBackOntoTheConnectPage checks a page that opens itself again, on a phone, and takes its
// screenshot: it does not scroll sideways, and with no click it goes on to Vladivostok's
// connect page, with no Content Security Policy violation on the way.
func comesBackOntoTheConnectPage(t *testing.T, p *browsertest.Page, screenshot string) {
	t.Helper()
	require.False(t, browsertest.Eval[bool](p, `document.documentElement.scrollWidth > window.innerWidth`), "the page scrolls sideways")
	p.Screenshot(screenshot)
	waitFor(t, p, `!!document.getElementById('panel-phone') && document.getElementById('panel-phone').getClientRects().length > 0`,
		"the connect page, on its own")
	require.Equal(t, "+7 423 222-33-44", browsertest.Run(p, chromedp.Value("#phone")), "the connect page's phone field")
	for _, m := range p.Console() {
		require.NotContains(t, strings.ToLower(fmt.Sprint(m)), "content security policy", "CSP violation: %v", m)
	}
}
