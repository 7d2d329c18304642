package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The logs carry neither query strings (tokens travel in ?token=) nor secret route parameters,
// also when a handler panics.
func TestLogsHideSecrets(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	e := gin.New()
	e.Use(requestID, requestLog(log), renderErrors(log, mustPages("")), recovery(log))
	e.GET("/hook/:salon_id/:secret", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	e.GET("/boom", func(*gin.Context) { panic("kaboom") })
	srv := httptest.NewServer(e)
	defer srv.Close()

	status, _, _ := get(t, srv.URL+"/hook/42/s3cr3t-url-part?token=tok-value", nil)
	require.Equal(t, http.StatusNoContent, status, "status: got %d want 204", status)
	status, h, body := get(t, srv.URL+"/boom?token=tok-value", nil)
	require.Equal(t, http.StatusInternalServerError, status, "panic: got %d want 500", status)
	requireJSONError(t, h, body, "internal error")

	out := buf.String()
	require.Contains(t, out, "path=/hook/42/:secret", "log: got %s, want the route with the salon filled in", out)
	require.Contains(t, out, "kaboom", "log: got %s, want the panic", out)
	for _, secret := range []string{"tok-value", "token=", "s3cr3t-url-part"} {
		require.NotContains(t, out, secret, "log: got %q in %s", secret, out)
	}
}

// TestUnmatchedPathsAreMasked: a GET or HEAD on an entity webhook URL matches no route (it is
// POST only) and used to log the raw path with the salon's secret.
func TestUnmatchedPathsAreMasked(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Logger: log})
	const secret = "Zq9xV3kLm2Np8Rt4Yw6Ab1Cd"
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
		req, err := http.NewRequest(method, srv.URL+"/webhook/yclients/42/"+secret, nil)
		require.NoError(t, err)
		status, _, _ := do(t, req)
		require.Equal(t, http.StatusNotFound, status, "%s: got %d want 404", method, status)
	}
	status, _, _ := get(t, srv.URL+"/webhook/yclients/42/"+secret+"/extra", nil)
	require.Equal(t, http.StatusNotFound, status)
	status, _, _ = get(t, srv.URL+"/lookup/79161234567", nil)
	require.Equal(t, http.StatusNotFound, status)
	out := buf.String()
	require.NotContains(t, out, secret, "the webhook secret in the log: %s", out)
	require.NotContains(t, out, "79161234567", "a phone number in the log: %s", out)
	require.Contains(t, out, "path=/webhook/yclients/42/:secret", "the masked path is logged: %s", out)
}

func TestMaskPath(t *testing.T) {
	for in, want := range map[string]string{
		"/webhook/yclients/42/abc":                      "/webhook/yclients/42/:secret",
		"/webhook/yclients/42/abc/def":                  "/webhook/yclients/42/:secret/:secret",
		"/connect/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9": "/connect/:redacted",
		"/healthz":            "/healthz",
		"/x/+7 916 123-45-67": "/x/•••67",
	} {
		require.Equal(t, want, maskPath(in), in)
	}
}

// Every answer carries a reference ID: a sane one from X-Request-Id, else a new short one. It is
// on the request's log lines, in the request's context, and in JSON errors.
func TestRequestID(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	e := gin.New()
	e.Use(requestID, requestLog(log), renderErrors(log, mustPages("")), recovery(log))
	e.GET("/ctx", func(c *gin.Context) { c.String(http.StatusOK, RequestID(c.Request.Context())) })
	e.GET("/fail", func(c *gin.Context) { abort(c, fail(kindConflict, "busy")) })
	srv := httptest.NewServer(e)
	defer srv.Close()

	generated := regexp.MustCompile(`^[A-Z2-7]{10}$`)
	for _, tc := range []struct {
		name, header string
		kept         bool
	}{
		{"none", "", false},
		{"from a proxy", "5f2b8c1e-7d4a-4e0b-9a51-3c6f0d2e8b17", true},
		{"short", "abc.DEF_1:2-3", true},
		{"too long", strings.Repeat("a", 65), false},
		{"markup", "<b>x</b>", false},
		{"spaces", "a b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set(RequestIDHeader, tc.header)
			}
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/ctx", nil)
			require.NoError(t, err)
			req.Header = h
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			id := resp.Header.Get(RequestIDHeader)
			if tc.kept {
				require.Equal(t, tc.header, id, "X-Request-Id: got %q want the one sent", id)
			} else {
				require.Regexp(t, generated, id, "X-Request-Id: got %q want a new short ID", id)
			}
			require.Equal(t, id, string(body), "RequestID(ctx): got %q want %q", body, id)
			require.Contains(t, buf.String(), "requestID="+id, "log: got %s, want requestID=%s", buf.String(), id)
		})
	}

	status, h, body := get(t, srv.URL+"/fail", nil)
	require.Equal(t, http.StatusConflict, status, "status: got %d want 409", status)
	requireJSONError(t, h, body, "busy")
	id := h.Get(RequestIDHeader)
	lines := 0
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "requestID="+id) {
			require.Regexp(t, `msg="(http request|request failed)"`, line, "line with the ID: got %s", line)
			lines++
		}
	}
	require.Equal(t, 2, lines, "log lines with requestID=%s: got %d want 2 (request failed, http request)", id, lines)

	_, h1, _ := get(t, srv.URL+"/ctx", nil)
	_, h2, _ := get(t, srv.URL+"/ctx", nil)
	require.NotEqual(t, h1.Get(RequestIDHeader), h2.Get(RequestIDHeader), "two requests: got the same ID twice")
}
