package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeHealth struct {
	h   Health
	err error
}

func (f fakeHealth) Health(context.Context, int64) (Health, error) { return f.h, f.err }

func TestHealthz(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	status, _, body := get(t, srv.URL+"/healthz", nil)
	require.Equal(t, http.StatusOK, status, "status: got %d want 200", status)
	require.JSONEq(t, `{"status":"ok"}`, body, "body: got %s", body)
}

func TestReadyz(t *testing.T) {
	ok := ReadyCheck{Name: "PostgreSQL", Check: func(context.Context) error { return nil }}
	down := ReadyCheck{Name: "Temporal", Check: func(context.Context) error { return errors.New("dial tcp: refused") }}
	hang := ReadyCheck{Name: "Temporal", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	stuck := ReadyCheck{Name: "Temporal", Check: func(context.Context) error { time.Sleep(5 * time.Second); return nil }}

	cases := []struct {
		name       string
		checks     []ReadyCheck
		want       int
		wantFailed []any
	}{
		{"all ok", []ReadyCheck{ok}, http.StatusOK, nil},
		{"one down", []ReadyCheck{ok, down}, http.StatusServiceUnavailable, []any{"Temporal"}},
		{"one hangs until the timeout", []ReadyCheck{ok, hang}, http.StatusServiceUnavailable, []any{"Temporal"}},
		{"one ignores its context", []ReadyCheck{stuck, ok}, http.StatusServiceUnavailable, []any{"Temporal"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Ready: tc.checks})
			start := time.Now()
			status, _, raw := get(t, srv.URL+"/readyz", nil)
			took := time.Since(start)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %s", status, tc.want, raw)
			require.Less(t, took, 4*time.Second, "took %s, want the 2 s check timeout to apply", took)
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &body))
			if tc.wantFailed != nil {
				require.Equal(t, tc.wantFailed, body["failed"], "failed: got %v want %v", body["failed"], tc.wantFailed)
				require.NotContains(t, raw, "refused", "body: got %s, want no error details", raw)
			}
		})
	}
}

func TestAdminHealthAuth(t *testing.T) {
	oldest := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Health: fakeHealth{h: Health{Status: "active",
		Inbox: &InboxHealth{Pending: 2, Dead: 1, OldestPendingAt: &oldest}}}})
	url := srv.URL + "/api/installations/42/health"
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer admin-secreT", http.StatusUnauthorized},
		{"not bearer", "Basic admin-secret", http.StatusUnauthorized},
		{"prefix of the token", "Bearer admin", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set("Authorization", tc.header)
			}
			status, hdr, body := get(t, url, h)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %s", status, tc.want, body)
			requireJSONError(t, hdr, body, "unauthorized")
		})
	}

	auth := http.Header{"Authorization": {"Bearer admin-secret"}}
	status, _, body := get(t, srv.URL+"/api/installations/abc/health", auth)
	require.Equal(t, http.StatusBadRequest, status, "bad id: got %d want 400; body %s", status, body)

	// The health report comes back, with the workflow part marked unavailable (Temporal is down).
	status, _, body = get(t, url, auth)
	require.Equal(t, http.StatusOK, status, "status: got %d want 200; body %s", status, body)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	require.Equal(t, "active", out["status"], "status field: got %v want active", out["status"])
	require.Equal(t, float64(42), out["salon_id"], "salon_id: got %v want 42", out["salon_id"])
	require.Equal(t, "temporal unavailable", out["workflow_error"], "workflow_error: got %v", out["workflow_error"])
	require.Equal(t, map[string]any{"pending": float64(2), "dead": float64(1), "oldest_pending_at": "2026-03-01T10:00:00Z"},
		out["inbox"], "inbox: got %v", out["inbox"])
}

func TestAdminHealthEmptyTokenAdmitsNobody(t *testing.T) {
	cfg := testConfig()
	cfg.AdminToken = ""
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t)})
	status, _, _ := get(t, srv.URL+"/api/installations/42/health", http.Header{"Authorization": {"Bearer "}})
	require.Equal(t, http.StatusUnauthorized, status, "status: got %d want 401", status)
}

// Neither the database nor Temporal knows the salon: 404.
func TestAdminHealthUnknownSalon(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: realTemporal(t), Health: fakeHealth{err: ErrUnknownSalon}})
	status, _, body := get(t, srv.URL+"/api/installations/987654321/health", http.Header{"Authorization": {"Bearer admin-secret"}})
	require.Equal(t, http.StatusNotFound, status, "status: got %d want 404; body %s", status, body)
}
