package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	zxqrcode "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/http/browsertest"
)

// TestEndToEndConnectPageInBrowser installs salons from the fake marketplace in a real browser,
// on the whole stack. On a laptop the page shows the QR code, drawn pixel for pixel as the server
// rendered it, and a standard decoder reads it from the screen; scanning it ends on «Готово!».
// On a phone the page asks for no QR code: it opens on the pairing code with the salon's phone,
// and the code it shows links the phone.
func TestEndToEndConnectPageInBrowser(t *testing.T) {
	s := browserStack(t, nil)
	b := browsertest.New(t)
	marketplace := s.marketplaceURL

	t.Run("laptop scans the QR code", func(t *testing.T) {
		p := b.Open(browsertest.Desktop)
		p.Do(chromedp.Navigate(marketplace(s.moscow)), chromedp.WaitVisible("#qr"))
		src := browsertest.Run(p, chromedp.AttributeValue("#qr", "src")).Value
		shown := browsertest.Run(p, chromedp.Screenshot("#qr"))
		require.Equal(t, src, browsertest.Run(p, chromedp.AttributeValue("#qr", "src")).Value, "the QR code changed while read")
		sent := decodePNG(t, strings.TrimPrefix(src, "data:image/png;base64,"), true)
		seen := decodePNG(t, base64.StdEncoding.EncodeToString(shown), false)
		require.Equal(t, sent.Bounds(), seen.Bounds(), "QR on screen: got %v px, want the image's own %v", seen.Bounds(), sent.Bounds())
		for y := range sent.Bounds().Dy() {
			for x := range sent.Bounds().Dx() {
				if isDark(sent, x, y) != isDark(seen, x, y) {
					require.Failf(t, "QR resampled", "pixel (%d,%d) differs on screen", x, y)
				}
			}
		}
		text := readQR(t, seen)
		require.True(t, strings.HasPrefix(text, "https://wa.me/settings/linked_devices#"), "QR read off the screen: got %.40q", text)
		p.Screenshot("e2e-qr")

		s.scanSalon(s.moscow)
		waitActive(t, s, p, s.moscow)
	})

	t.Run("phone enters the pairing code", func(t *testing.T) {
		salon := s.vladivostok
		p := b.Open(browsertest.Phone)
		p.Do(chromedp.Navigate(marketplace(salon)), chromedp.WaitVisible("#panel-phone"))
		require.Equal(t, "+7 423 222-33-44", browsertest.Run(p, chromedp.Value("#phone")), "phone field")
		p.Do(chromedp.Click("#phone-submit"), chromedp.WaitVisible("#code"))
		code := browsertest.Run(p, chromedp.Text("#code"))
		require.Regexp(t, `^[A-Z0-9]{4}-[A-Z0-9]{4}$`, code, "pairing code on the page: got %q", code)
		st := s.stateOf(salon).Pairing
		require.Equal(t, activities.PairByPhone, st.Method, "pairing: got %+v want by phone", st)
		require.Equal(t, 1, st.Attempt, "pairing attempts: got %d, want 1 (the page asked for no QR code)", st.Attempt)
		p.Screenshot("e2e-code")

		s.enterCode(salon, "74232223344", "Приморье")
		waitActive(t, s, p, salon)
	})
}

// TestConnectPageAsksAgainWhenNoCodeComes: a code the page asked for shows within seconds; when
// none comes (on the production-like cluster a saturated Temporal server once failed to hand
// the pairing activity to a worker, and the page showed its spinner until the owner reloaded
// it), the page asks once more by itself, and when that brings none either it tells the owner
// and offers to ask again. Here the simulated phone's attempts show nothing instead
// (simphone.StallPairing): the same to the page.
func TestConnectPageAsksAgainWhenNoCodeComes(t *testing.T) {
	s := browserStack(t, func(su *stackSetup) { su.cfg.CodePatience = 3 * time.Second })
	b := browsertest.New(t)

	t.Run("laptop: asked again, the QR code comes", func(t *testing.T) {
		s.phone.StallPairing(s.moscow, 1)
		p := b.Open(browsertest.Desktop)
		p.Do(chromedp.Navigate(s.marketplaceURL(s.moscow)), chromedp.WaitVisible("#qr"))
		st := s.stateOf(s.moscow).Pairing
		require.Equal(t, 2, st.Attempt, "pairing attempts: got %+v, want 2 (the first showed nothing, the page asked again)", st)
		require.False(t, browsertest.Eval[bool](p, `!!document.getElementById('error').getClientRects().length`),
			"an error shown with the QR code: %q", browsertest.Run(p, chromedp.TextContent("#error")))
		s.scanSalon(s.moscow)
		waitActive(t, s, p, s.moscow)
	})

	t.Run("phone: told the code does not come, asks again", func(t *testing.T) {
		salon := s.vladivostok
		s.phone.StallPairing(salon, 2)
		p := b.Open(browsertest.Phone)
		p.Do(chromedp.Navigate(s.marketplaceURL(salon)), chromedp.WaitVisible("#panel-phone"))
		p.Do(chromedp.Click("#phone-submit"), chromedp.WaitVisible("#error"))
		told := browsertest.Run(p, chromedp.Text("#error"))
		require.Contains(t, told, "Код не приходит дольше обычного", "the page: got %q", told)
		require.Equal(t, 2, s.stateOf(salon).Pairing.Attempt, "the page asked once more by itself before telling the owner")
		require.Equal(t, "Получить код", browsertest.Run(p, chromedp.Text("#phone-submit")), "the button asks again")
		for _, c := range p.TextContrasts("#error", "#phone-submit") {
			require.GreaterOrEqual(t, c.Ratio, 4.5, "contrast: got %s, want at least 4.5:1", c)
		}
		p.Screenshot("e2e-code-late")

		p.Do(chromedp.Click("#phone-submit"), chromedp.WaitVisible("#code"))
		require.Equal(t, 3, s.stateOf(salon).Pairing.Attempt)
		require.False(t, browsertest.Eval[bool](p, `!!document.getElementById('error').getClientRects().length`),
			"the error stays with the code shown")
		s.enterCode(salon, "74232223344", "Приморье")
		waitActive(t, s, p, salon)
	})
}

// browserStack is the whole stack for a browser test, with codes that live long enough to read
// them off the screen; tweak, when set, adjusts it further.
func browserStack(t *testing.T, tweak func(*stackSetup)) *stack {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	return newStackAt(t, addr, func(su *stackSetup) {
		su.phone = &simphone.Options{FirstQR: 30 * time.Second, NextQR: 20 * time.Second,
			PairCodeTTL: 60 * time.Second, ConnectDelay: 20 * time.Millisecond}
		if tweak != nil {
			tweak(su)
		}
	})
}

// enterCode has the simulated phone with that number enter the salon's pairing code.
func (s *stack) enterCode(salon int64, phone, name string) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"phone": phone, "name": name})
	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/scan", salon), "application/json", bytes.NewReader(body))
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "the simulated phone enters the code")
}

// marketplaceURL is where the fake marketplace sends the owner who connects the salon.
func (s *stack) marketplaceURL(salon int64) string {
	return s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/marketplace/redirect?salon_id=%d", salon)
}

// waitActive waits for the page to say «Готово!», and tells what the page and the workflow show
// when it does not.
func waitActive(t *testing.T, s *stack, p *browsertest.Page, salon int64) {
	t.Helper()
	const done = `!!document.getElementById('back').getClientRects().length`
	ok := assert.Eventually(t, func() bool { // not browsertest.Eval: this runs off the test's goroutine
		ctx, cancel := context.WithTimeout(p.Context(), 2*time.Second)
		defer cancel()
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](done))
		return err == nil && shown
	}, 45*time.Second, 100*time.Millisecond)
	if !ok {
		st := s.stateOf(salon)
		t.Fatalf("page: got status %q, error %q; workflow: status %s, pairing %+v; console %v",
			browsertest.Run(p, chromedp.Text("#status")), browsertest.Run(p, chromedp.TextContent("#error")),
			st.Status, st.Pairing, p.Console())
	}
	require.Equal(t, "Готово! AI Admin активирован", browsertest.Run(p, chromedp.Text("#done-title")))
}

// decodePNG decodes base64 PNG bytes; sent marks the server's image (for messages).
func decodePNG(t *testing.T, b64 string, sent bool) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err, "decode the PNG (server's: %v)", sent)
	return img
}

func isDark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
	return r+g+b < 3*0x8000
}

// readQR reads the image with a standard decoder (ZXing's QR reader, no hints).
func readQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := zxqrcode.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(t, err, "read the QR code off the screen")
	return res.GetText()
}
