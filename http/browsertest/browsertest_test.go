package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

const testPage = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { background: #fff; margin: 0 } .grey { color: #767676 } .box { background: rgba(0, 0, 0, .5); color: #fff }</style>
</head><body><p class="grey">Серый текст</p><div class="box"><span id="on-box">На полупрозрачном</span></div>
<p class="grey" hidden>Скрытый</p><script>console.error('hello from the page')</script></body></html>`

// The viewports are what they claim to be, as the page sees them, and the helpers read what
// the browser rendered.
func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(testPage))
	}))
	defer srv.Close()
	b := New(t)

	type screen struct {
		Width  int  `json:"width"`
		Height int  `json:"height"`
		Coarse bool `json:"coarse"`
		Touch  bool `json:"touch"`
	}
	const probe = `({width: innerWidth, height: innerHeight, coarse: matchMedia('(pointer: coarse)').matches,
		touch: navigator.maxTouchPoints > 0})`
	for _, tc := range []struct {
		v    Viewport
		want screen
	}{
		{Phone, screen{390, 844, true, true}},
		{Desktop, screen{1280, 800, false, false}},
	} {
		t.Run(tc.v.Name, func(t *testing.T) {
			p := b.Open(tc.v)
			p.Do(chromedp.Navigate(srv.URL))
			got := Eval[screen](p, probe)
			require.Equal(t, tc.want, got, "screen: got %+v want %+v", got, tc.want)
		})
	}

	p := b.Open(Desktop)
	p.Do(chromedp.Navigate(srv.URL))
	reduced := `matchMedia('(prefers-reduced-motion: reduce)').matches`
	require.False(t, Eval[bool](p, reduced), "reduced motion before it is switched on")
	p.ReducedMotion(true)
	require.True(t, Eval[bool](p, reduced), "reduced motion: got off after switching it on")

	got := p.TextContrasts(".grey", "#on-box")
	require.Len(t, got, 2, "visible texts: got %v, want the grey one and the one on the box (not the hidden one)", got)
	require.InDelta(t, 4.54, got[0].Ratio, 0.01, "grey on white: got %s", got[0])
	require.Equal(t, RGB{127.5, 127.5, 127.5}, got[1].Background, "half-black over white: got %s", got[1])

	require.Eventually(t, func() bool {
		for _, m := range p.Console() {
			if m.Text == "hello from the page" {
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond, "console: got %v, want the page's message", p.Console())
}
