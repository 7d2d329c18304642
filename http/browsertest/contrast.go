package browsertest

import (
	"fmt"
	"math"
	"strings"
)

// RGB is an opaque sRGB colour, 0-255 per channel.
type RGB [3]float64

// ContrastRatio is the WCAG 2 contrast ratio of two colours, from 1 to 21. Body text needs at
// least 4.5 (level AA).
func ContrastRatio(a, b RGB) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// luminance is WCAG 2's relative luminance.
func luminance(c RGB) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
}

// TextContrast is one visible element's text colour against what is behind it, as rendered.
type TextContrast struct {
	Selector   string
	Text       string // the start of the element's text
	Color      RGB
	Background RGB
	Ratio      float64
}

func (c TextContrast) String() string {
	return fmt.Sprintf("%s %q: %.2f:1 (text rgb%v on rgb%v)", c.Selector, c.Text, c.Ratio, c.Color, c.Background)
}

// textColoursJS returns, for every visible element with text matching the selectors, its
// computed text colour and the colour behind it: the backgrounds of the element and its
// ancestors, composited from the page's white canvas up (a translucent colour is blended over
// what is behind it). Background images and opacity are not considered: the pages use neither
// for text.
const textColoursJS = `(function (selectors) {
  function parse(s) {
    var m = s.match(/rgba?\(([^)]+)\)/);
    if (!m) { return [0, 0, 0, 1]; }
    var p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, under) {
    var a = top[3];
    return [0, 1, 2].map(function (i) { return top[i] * a + under[i] * (1 - a); });
  }
  function behind(el) {
    var layers = [];
    for (var n = el; n && n.nodeType === 1; n = n.parentElement) {
      var bg = parse(getComputedStyle(n).backgroundColor);
      if (bg[3] > 0) { layers.push(bg); }
      if (bg[3] >= 1) { break; }
    }
    var c = [255, 255, 255];
    for (var i = layers.length - 1; i >= 0; i--) { c = over(layers[i], c); }
    return c;
  }
  var out = [];
  selectors.forEach(function (sel) {
    document.querySelectorAll(sel).forEach(function (el) {
      var text = (el.innerText || '').trim();
      if (!text || !el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') { return; }
      var bg = behind(el);
      out.push({selector: sel, text: text.slice(0, 40), color: over(parse(getComputedStyle(el).color), bg), background: bg});
    });
  });
  return out;
})(%s)`

// TextContrasts measures the contrast of the visible texts that match the selectors, from the
// browser's computed styles. It fails the test when no selector matches a visible text.
func (p *Page) TextContrasts(selectors ...string) []TextContrast {
	p.t.Helper()
	quoted := make([]string, len(selectors))
	for i, s := range selectors {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	type found struct {
		Selector   string `json:"selector"`
		Text       string `json:"text"`
		Color      RGB    `json:"color"`
		Background RGB    `json:"background"`
	}
	got := Eval[[]found](p, fmt.Sprintf(textColoursJS, "["+strings.Join(quoted, ",")+"]"))
	if len(got) == 0 {
		p.t.Fatalf("contrast: no visible text matches %v", selectors)
	}
	out := make([]TextContrast, len(got))
	for i, f := range got {
		out[i] = TextContrast{Selector: f.Selector, Text: f.Text, Color: f.Color, Background: f.Background,
			Ratio: ContrastRatio(f.Color, f.Background)}
	}
	return out
}
