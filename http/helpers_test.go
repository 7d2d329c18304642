package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// testPartnerToken is the key of the reference doc's user_data test vector (§1.3).
const testPartnerToken = "test_partner_token"

var testSecret = []byte("test-session-secret-0123456789abcdef")

func testConfig() Config {
	return Config{
		PartnerToken:          testPartnerToken,
		ApplicationID:         777,
		RequireSignedUserData: true,
		SessionSecret:         testSecret,
		PublicURL:             "http://127.0.0.1:8080",
		AdminToken:            "admin-secret",
		TaskQueue:             "httpapi-test",
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// closedTemporal is a lazy Temporal client aimed at a port nobody listens on: requests reach the
// Temporal step and fail there quickly, which is how tests prove what happened before it.
func closedTemporal(t testing.TB) client.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	c, err := client.NewLazyClient(client.Options{
		HostPort:          addr,
		Logger:            sdklog.NewStructuredLogger(quietLogger()),
		ConnectionOptions: client.ConnectionOptions{GetSystemInfoTimeout: 300 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// realTemporal dials the Temporal server at TEMPORAL_ADDRESS, or skips the test.
func realTemporal(t *testing.T) client.Client {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set")
	}
	c, err := client.Dial(client.Options{HostPort: addr, Logger: sdklog.NewStructuredLogger(quietLogger())})
	require.NoError(t, err, "dial Temporal at %s", addr)
	t.Cleanup(c.Close)
	return c
}

// Salons of the fake YClients the tests' directory reads (see testSalons).
const (
	salonVector = int64(123) // "Test Salon": the reference doc's user_data test vector names it
	salonOdd    = int64(124) // "Салон ~~~ ??? >>>": its base64 has the characters the alphabets differ in
	salonActive = int64(125) // "Салон «Готово»": YClients reports the integration active
)

// testSalonTitles are the salons the fake YClients of testSalons knows, by ID.
var testSalonTitles = map[int64]string{42: "Салон «Бархат»", salonVector: "Test Salon", salonOdd: "Салон ~~~ ??? >>>",
	salonActive: "Салон «Готово»"}

// testSalons is the salon directory over a fake YClients (through the real client and real
// HTTP) that knows salons 42 («Бархат»), 123, 124 and 125 (testSalonTitles); YClients reports
// the integration of 125 active.
func testSalons(t testing.TB) (SalonDirectory, *yclientsfake.Fake) {
	t.Helper()
	// No rate limit to speak of: the fuzzers ask for unknown salons thousands of times a second.
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: testPartnerToken, ApplicationID: 777, RPS: 1_000_000})
	for id, title := range testSalonTitles {
		s := yclientsfake.Salon{ID: id, Title: title}
		if id == salonActive {
			s.Status = "active"
		}
		fake.AddSalon(s)
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(func() { srv.Close(); fake.Close() })
	yc := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: testPartnerToken, ApplicationID: 777,
		Limiter: rate.NewLimiter(rate.Inf, 1)})
	return NewSalonDirectory(yc, nil), fake
}

// startServer runs the router on a real HTTP server.
func startServer(t *testing.T, cfg Config, deps Deps) *httptest.Server {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = quietLogger()
	}
	if deps.Salons == nil {
		deps.Salons, _ = testSalons(t)
	}
	srv := httptest.NewServer(New(cfg, deps))
	t.Cleanup(srv.Close)
	return srv
}

// get performs a GET and returns the status, headers and body.
func get(t *testing.T, url string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

// requireJSONError checks a JSON error answer: the error text for machines and the request's
// reference ID, the one in its X-Request-Id header.
func requireJSONError(t *testing.T, h http.Header, body, wantError string) {
	t.Helper()
	id := h.Get(RequestIDHeader)
	require.NotEmpty(t, id, "X-Request-Id: got none")
	want, err := json.Marshal(map[string]string{"error": wantError, "request_id": id})
	require.NoError(t, err)
	require.JSONEq(t, string(want), body, "body: got %s want %s", body, want)
}

func do(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}
