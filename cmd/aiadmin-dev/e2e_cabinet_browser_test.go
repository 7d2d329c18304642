package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/http/browsertest"
)

// cabinetTexts are the cabinet's texts a salon owner reads; each must stand out from what is
// behind it by at least 4.5:1.
var cabinetTexts = []string{"h1", ".brand", ".salon", "#status", ".facts dt", ".facts dd", "#pace", ".tab", "legend",
	".check span", ".check small", ".hint", "label", ".btn", "footer p", "footer a", ".saved", ".bubble", ".about",
	".fields span", ".fields button", ".log b", ".log .meta", ".badge", "#kind", "#text", "select", "input"}

// TestEndToEndCabinetInBrowser is the owner's visit to the cabinet in a real browser, on the
// whole stack: opening the app again from the fake marketplace shows the cabinet on a phone
// and on a laptop; the preview is made from the salon's nearest booking and follows the
// typing (a mistake shows a Russian error); the saved text is what the next client gets; the
// reminder hour changes from its select; the log shows the messages with phones masked.
func TestEndToEndCabinetInBrowser(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	nearest := nearestRecord(t, s.fake, salon) // the preview is made from it
	b := browsertest.New(t)
	cabinet := s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/marketplace/redirect?salon_id=%d", salon)

	for _, v := range []browsertest.Viewport{browsertest.Phone, browsertest.Desktop} {
		t.Run("renders on "+v.Name, func(t *testing.T) {
			p := b.Open(v)
			p.Do(chromedp.Navigate(cabinet), chromedp.WaitVisible("#panel-settings"))
			require.Equal(t, "Кабинет салона", browsertest.Run(p, chromedp.Text("h1")))
			wa := browsertest.Run(p, chromedp.Text("#whatsapp"))
			require.Equal(t, "+7 999 000-11-22 · подключён", wa, "WhatsApp: got %q", wa)
			waitFor(t, p, `document.querySelector('[name=send_confirmation]').checked`, "the settings load")
			require.Equal(t, "18", browsertest.Run(p, chromedp.Value("#reminder_day_before_hour")))
			requireInside(t, p)
			requireContrast(t, p)
			p.Screenshot("cabinet")
			p.Do(chromedp.Click("#tab-texts"))
			waitFor(t, p, `document.getElementById('preview').textContent.length > 0`, "the preview")
			requireContrast(t, p)
			requireInside(t, p)
			p.Screenshot("cabinet-texts")
			p.Do(chromedp.Click("#tab-log"))
			waitFor(t, p, `document.querySelectorAll('#log li').length > 0`, "the log")
			requireContrast(t, p)
		})
	}

	p := b.Open(browsertest.Desktop)
	p.Do(chromedp.Navigate(cabinet), chromedp.WaitVisible("#panel-settings"))
	waitFor(t, p, `document.querySelector('[name=send_confirmation]').checked`, "the settings load")

	t.Run("the reminder hour", func(t *testing.T) {
		p.Do(chromedp.Evaluate[chromedp.Void](`(function () { var s = document.getElementById('reminder_day_before_hour');
			s.value = '20'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`))
		waitFor(t, p, `document.getElementById('settings-saved').textContent.indexOf('Сохранено') === 0`, "saved")
		_, set := s.cabinetCall(s.cabinetToken(salon), "GET", "/cabinet/api/settings", nil)
		require.EqualValues(t, 20, set["reminder_day_before_hour"])

		// A value out of bounds is refused with the field's Russian error, and not saved.
		p.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('quiet_from').value = ''`),
			chromedp.SendKeys("#quiet_from", "25:00"), chromedp.Click("#quiet_to"))
		waitFor(t, p, `!document.getElementById('err-quiet_hours.from').hidden`, "the field's error")
		require.Equal(t, "Время — в формате ЧЧ:ММ, например 21:00.", browsertest.Run(p, chromedp.Text(`[id="err-quiet_hours.from"]`)))
		_, set = s.cabinetCall(s.cabinetToken(salon), "GET", "/cabinet/api/settings", nil)
		require.Equal(t, map[string]any{"from": "21:00", "to": "09:00"}, set["quiet_hours"])
		p.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('quiet_from').value = ''`),
			chromedp.SendKeys("#quiet_from", "22:00"), chromedp.Click("#quiet_to"))
		waitFor(t, p, `document.getElementById('err-quiet_hours.from').hidden &&
			document.getElementById('settings-saved').textContent.indexOf('Сохранено') === 0`, "the corrected value saved")
		_, set = s.cabinetCall(s.cabinetToken(salon), "GET", "/cabinet/api/settings", nil)
		require.Equal(t, map[string]any{"from": "22:00", "to": "09:00"}, set["quiet_hours"])
	})

	t.Run("a text edit changes the preview and the next message", func(t *testing.T) {
		p.Do(chromedp.Click("#tab-texts"), chromedp.WaitVisible("#text"))
		waitFor(t, p, fmt.Sprintf(`document.getElementById('preview').textContent.indexOf(%q) === 0`, nearest.ClientName+", здравствуйте!"),
			"the standard confirmation, previewed with the nearest booking")
		about := browsertest.Run(p, chromedp.Text("#preview-about"))
		require.Contains(t, about, "По ближайшей записи салона: "+nearest.ClientName)
		p.Screenshot("cabinet-standard")

		p.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('text').value = ''`),
			chromedp.SendKeys("#text", "Привет, {{.ClientName}}!"))
		waitFor(t, p, fmt.Sprintf(`document.getElementById('preview').textContent === %q`, "Привет, "+nearest.ClientName+"!"),
			"the preview follows the typing")
		require.Contains(t, browsertest.Run(p, chromedp.Text("#kind-state")), "Изменения не сохранены")
		p.Do(chromedp.SendKeys("#text", " Ждём {{.Whne}}"))
		waitFor(t, p, `!document.getElementById('text-error').hidden`, "a mistake is shown")
		require.Contains(t, browsertest.Run(p, chromedp.Text("#text-error")), "Неизвестное поле {{.Whne}}")
		p.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('text').value = 'Привет, {{.ClientName}}!'`),
			chromedp.SendKeys("#text", " Ждём вас {{.When}}."))
		want := "Привет, " + nearest.ClientName + "! Ждём вас " + texts.FormatWhen(nearest.Datetime, nil) + "."
		waitFor(t, p, fmt.Sprintf(`document.getElementById('text-error').hidden &&
			document.getElementById('preview').textContent === %q`, want), "the preview of the corrected text")
		p.Screenshot("cabinet-preview")

		p.Do(chromedp.Click("#save-text"))
		waitFor(t, p, `document.getElementById('text-result').textContent.indexOf('Текст сохранён') === 0`, "saved")
		require.Equal(t, "Сейчас отправляется ваш текст.", browsertest.Run(p, chromedp.Text("#kind-state")))

		start, local := localIn(t, "Europe/Moscow", 3, "14:30")
		s.bookRecord(salon, local)
		got := s.waitClientTexts(salon, 1)
		// The exact text, not a pattern: «в пятницу» but «во вторник», and a pattern written for one
		// failed on the day three days before a Tuesday.
		require.Equal(t, "Привет, Анна! Ждём вас "+texts.FormatWhen(start, start.Location())+".", got[0])
		require.Contains(t, got[0], fmt.Sprintf(" %d ", start.Day()))
		require.Contains(t, got[0], "в 14:30.")
	})

	t.Run("the log", func(t *testing.T) {
		p.Do(chromedp.Click("#tab-log"))
		waitFor(t, p, `document.querySelectorAll('#log li').length >= 2`, "the welcome and the confirmation")
		log := browsertest.Run(p, chromedp.Text("#log"))
		require.Contains(t, log, "+7 916 •••-••-67")
		require.Contains(t, log, "+7 999 •••-••-22")
		require.NotContains(t, log, "123-45-67")
		require.NotContains(t, log, "79161234567")
		p.Screenshot("cabinet-log")
	})
	for _, m := range p.Console() {
		require.NotContains(t, strings.ToLower(fmt.Sprint(m)), "content security policy", "CSP violation: %v", m)
	}
}

// requireInside checks that nothing sticks out of the card (no sideways scrolling either).
func requireInside(t *testing.T, p *browsertest.Page) {
	t.Helper()
	out := browsertest.Eval[[]string](p, `(function () {
		var card = document.getElementById('app').getBoundingClientRect(), out = [];
		if (document.documentElement.scrollWidth > window.innerWidth) { out.push('the page scrolls sideways'); }
		document.querySelectorAll('#app *').forEach(function (e) {
			var r = e.getBoundingClientRect();
			if (r.width > 0 && (r.right > card.right + 0.5 || r.left < card.left - 0.5)) {
				out.push((e.id || e.tagName) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
			}
		});
		return out;
	})()`)
	require.Empty(t, out, "outside the card (%.0f px wide)", browsertest.Eval[float64](p, `document.getElementById('app').getBoundingClientRect().width`))
}

// requireContrast checks the contrast of the cabinet's visible texts.
func requireContrast(t *testing.T, p *browsertest.Page) {
	t.Helper()
	cs := p.TextContrasts(cabinetTexts...)
	require.NotEmpty(t, cs)
	for _, c := range cs {
		require.GreaterOrEqual(t, c.Ratio, 4.5, "contrast: got %s, want at least 4.5:1", c)
	}
}

// waitFor waits until a JavaScript condition holds on the page, and tells what the page
// shows when it does not.
func waitFor(t *testing.T, p *browsertest.Page, cond, what string) {
	t.Helper()
	ok := assert.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(p.Context(), 2*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		return err == nil && v
	}, 20*time.Second, 100*time.Millisecond)
	if !ok {
		body, _ := evalText(p, `document.body.innerText`)
		t.Fatalf("%s: got none; the page says:\n%.1500s\nconsole: %v", what, body, p.Console())
	}
}

func evalText(p *browsertest.Page, expr string) (string, error) {
	ctx, cancel := context.WithTimeout(p.Context(), 2*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](expr))
}

// nearestRecord is the salon's next booking in the fake YClients that is neither deleted nor
// cancelled.
func nearestRecord(t *testing.T, f *yclientsfake.Fake, salon int64) yclientsfake.Record {
	t.Helper()
	var best yclientsfake.Record
	for _, r := range seeded(t, f, salon).Records {
		if r.Deleted || r.Attendance == -1 || !r.Datetime.After(time.Now()) {
			continue
		}
		if best.ID == 0 || r.Datetime.Before(best.Datetime) {
			best = r
		}
	}
	require.NotZero(t, best.ID, "the demo salon has an upcoming booking")
	return best
}

// cabinetToken is a fresh cabinet session of the salon, as the marketplace redirect gives.
func (s *stack) cabinetToken(salon int64) string {
	s.t.Helper()
	_, token := s.openCabinet(salon)
	return token
}
