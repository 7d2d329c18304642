// Package browsertest runs pages in a real headless browser (Debian's chromium) for tests that
// check what a person sees: which tab a phone opens on, what a field holds, colours as rendered,
// screenshots. It is a test helper: it installs chromium when it is missing and the test runs as
// root, and skips the test with a clear message when it cannot.
package browsertest

import (
	"context"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// actionTimeout bounds one step a test asks of the browser.
const actionTimeout = 30 * time.Second

// Viewport is the screen a page is opened on.
type Viewport struct {
	Name          string // for screenshots and messages
	Width, Height int64  // CSS pixels
	Scale         float64
	Mobile        bool   // mobile emulation: touch screen, coarse pointer, mobile viewport rules
	UserAgent     string // empty: the browser's own
}

var (
	// Phone is a 390×844 phone (the size of an iPhone 12 to 14) with a touch screen.
	Phone = Viewport{Name: "mobile", Width: 390, Height: 844, Scale: 3, Mobile: true,
		UserAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) " +
			"Chrome/130.0.0.0 Mobile Safari/537.36"}
	// Desktop is a 1280×800 laptop screen with a mouse.
	Desktop = Viewport{Name: "desktop", Width: 1280, Height: 800, Scale: 1}
)

// Browser is one headless chromium, stopped when the test ends.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// New starts a headless chromium with a fresh profile for t, or skips t when there is no
// chromium and it cannot be installed here.
func New(t testing.TB) *Browser {
	t.Helper()
	path := findChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root in containers
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"), // colours in screenshots as written in CSS
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() }) // before TempDir's removal: cleanups run last-in first-out
	// The first run starts the browser; it lives as long as ctx, so no timeout here.
	require.NoError(t, chromedp.Do(ctx), "start chromium at %s", path)
	return &Browser{t: t, ctx: ctx}
}

var installOnce = sync.OnceValues(installChromium)

// findChromium returns the browser's path, installing Debian's chromium when running as root.
func findChromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err == nil {
		return ChromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("browser test skipped: %s is missing and installing it needs root; run `make chromium` "+
			"(or `apt-get install -y chromium`) as root", ChromiumPath)
	}
	out, err := installOnce()
	if err != nil {
		t.Skipf("browser test skipped: %s is missing and `apt-get install -y chromium` failed: %v\n%s",
			ChromiumPath, err, tail(out, 2000))
	}
	return ChromiumPath
}

// installChromium runs apt-get, waiting for a dpkg lock another test package may hold.
func installChromium() ([]byte, error) {
	apt := func(args ...string) ([]byte, error) {
		cmd := exec.Command("apt-get", append([]string{"-o", "DPkg::Lock::Timeout=300", "-q"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	out, err := apt("install", "-y", "--no-install-recommends", "chromium")
	if err != nil { // the package lists may be missing or old
		if upd, uerr := apt("update"); uerr != nil {
			return append(out, upd...), uerr
		}
		out, err = apt("install", "-y", "--no-install-recommends", "chromium")
	}
	if err == nil {
		_, err = os.Stat(ChromiumPath)
	}
	return out, err
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Open opens a new tab on the viewport. The tab records the page's console (Console).
func (b *Browser) Open(v Viewport) *Page {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	p := &Page{t: b.t, ctx: ctx, viewport: v}
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(v.Scale), chromedp.EmulatePortrait}
	if v.Mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(v.Width, v.Height, opts...)}
	if v.UserAgent != "" {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride,
				emulation.SetUserAgentOverrideParams{UserAgent: v.UserAgent})
			return err
		}))
	}
	// The first run creates the tab, which lives as long as ctx: no timeout here either.
	require.NoError(b.t, chromedp.Do(ctx, steps...), "open a %s tab", v.Name)
	go p.recordConsole(chromedp.Console(ctx)) // Console subscribes when it returns: before any navigation
	return p
}

// Page is one browser tab.
type Page struct {
	t        testing.TB
	ctx      context.Context
	viewport Viewport

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// Context is the tab's chromedp context, for actions the helpers here do not cover.
func (p *Page) Context() context.Context { return p.ctx }

// Do runs the steps in the tab, each call within 30 s, and fails the test on an error.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, steps...), "browser (%s)", p.viewport.Name)
}

// Run runs one action in the tab within 30 s and returns its value; an error fails the test.
func Run[T any](p *Page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(p.t, err, "browser (%s)", p.viewport.Name)
	return v
}

// Eval evaluates a JavaScript expression in the page and decodes its JSON value.
func Eval[T any](p *Page, expression string) T {
	p.t.Helper()
	return Run(p, chromedp.Evaluate[T](expression))
}

// ScreenshotDirEnv names a folder where Screenshot also keeps its files, to look at them after
// the test (its temporary folder is removed).
const ScreenshotDirEnv = "BROWSERTEST_SCREENSHOTS"

// Screenshot saves a screenshot of the whole page as <name>-<viewport>.png in the test's
// temporary folder (and in $BROWSERTEST_SCREENSHOTS when set), logs and returns its path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	png := Run(p, chromedp.FullScreenshot(100))
	file := name + "-" + p.viewport.Name + ".png"
	path := filepath.Join(p.t.TempDir(), file)
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	if dir := os.Getenv(ScreenshotDirEnv); dir != "" {
		require.NoError(p.t, os.MkdirAll(dir, 0o755))
		path = filepath.Join(dir, file)
		require.NoError(p.t, os.WriteFile(path, png, 0o644))
	}
	p.t.Logf("screenshot: %s", path)
	return path
}

// ReducedMotion switches the emulated prefers-reduced-motion: reduce on or off.
func (p *Page) ReducedMotion(on bool) {
	p.t.Helper()
	value := "no-preference"
	if on {
		value = "reduce"
	}
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: value}},
		})
		return err
	}))
}

// recordConsole keeps the tab's console messages and uncaught exceptions until the tab closes.
func (p *Page) recordConsole(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return
		}
		p.mu.Lock()
		p.console = append(p.console, m)
		p.mu.Unlock()
	}
}

// Console returns the console messages and uncaught exceptions seen so far.
func (p *Page) Console() []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), p.console...)
}
