package yclients_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

const (
	testPartnerToken = "partner-token-3f9a1c"
	testAppID        = int64(18289)
)

// testClock is a settable clock for the fake's Options.Now.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a seeded fake behind httptest and a client pointed at it.
type env struct {
	fake   *yclientsfake.Fake
	server *httptest.Server
	client *yclients.Client
}

// newEnv starts a seeded fake (rate limit lifted unless opts.RPS is set) and a client with an
// unlimited limiter unless cfg.Limiter is set. Unset tokens and IDs get the test values.
func newEnv(t *testing.T, opts yclientsfake.Options, cfg yclients.Config) *env {
	t.Helper()
	if opts.PartnerToken == "" {
		opts.PartnerToken = testPartnerToken
	}
	if opts.ApplicationID == 0 {
		opts.ApplicationID = testAppID
	}
	if opts.RPS == 0 {
		opts.RPS = 10_000
	}
	fake := yclientsfake.New(opts)
	t.Cleanup(fake.Close) // after srv.Close: webhooks still queued are dropped
	fake.SeedDemo()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	if cfg.PartnerToken == "" {
		cfg.PartnerToken = testPartnerToken
	}
	if cfg.ApplicationID == 0 {
		cfg.ApplicationID = testAppID
	}
	if cfg.Limiter == nil {
		cfg.Limiter = rate.NewLimiter(rate.Inf, 0)
	}
	return &env{fake: fake, server: srv, client: yclients.New(cfg)}
}

// statuses returns the statuses the fake answered, in order.
func (e *env) statuses() []int {
	var out []int
	for _, r := range e.fake.Requests() {
		out = append(out, r.Status)
	}
	return out
}

// rawServer serves a fixed answer and remembers the last request.
type rawServer struct {
	mu          sync.Mutex
	last        *http.Request
	lastBody    []byte
	status      int
	contentType string
	body        string
	header      http.Header
}

func newRawServer(t *testing.T, status int, contentType, body string) (*rawServer, *yclients.Client, string) {
	t.Helper()
	rs := &rawServer{status: status, contentType: contentType, body: body, header: http.Header{}}
	srv := httptest.NewServer(rs)
	t.Cleanup(srv.Close)
	c := yclients.New(yclients.Config{
		BaseURL: srv.URL, PartnerToken: testPartnerToken, ApplicationID: testAppID,
		Limiter: rate.NewLimiter(rate.Inf, 0),
	})
	return rs, c, srv.URL
}

func (rs *rawServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.last = r.Clone(r.Context())
	rs.lastBody, _ = io.ReadAll(r.Body)
	for k, v := range rs.header {
		w.Header()[k] = v
	}
	if rs.contentType != "" {
		w.Header().Set("Content-Type", rs.contentType)
	}
	w.WriteHeader(rs.status)
	_, _ = w.Write([]byte(rs.body))
}

func (rs *rawServer) lastRequest() (*http.Request, []byte) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.last, rs.lastBody
}

// newServerFor serves h on a loopback httptest server and returns its URL.
func newServerFor(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
