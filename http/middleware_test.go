package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	e.Use(requestLog(log), renderErrors(log, mustPages()), recovery(log))
	e.GET("/hook/:salon_id/:secret", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	e.GET("/boom", func(*gin.Context) { panic("kaboom") })
	srv := httptest.NewServer(e)
	defer srv.Close()

	status, _, _ := get(t, srv.URL+"/hook/42/s3cr3t-url-part?token=tok-value", nil)
	require.Equal(t, http.StatusNoContent, status, "status: got %d want 204", status)
	status, _, body := get(t, srv.URL+"/boom?token=tok-value", nil)
	require.Equal(t, http.StatusInternalServerError, status, "panic: got %d want 500", status)
	require.JSONEq(t, `{"error":"internal error"}`, body, "panic body: got %s", body)

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
