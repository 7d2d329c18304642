package yclientsfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// webhookSink is our side of the lifecycle webhook: it records what YClients posts.
type webhookSink struct {
	mu     sync.Mutex
	status int
	got    []sinkHit
}

type sinkHit struct {
	method, path, contentType string
	body                      map[string]any
	raw                       string
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, sinkHit{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body, string(raw)})
	w.WriteHeader(s.status)
}

func (s *webhookSink) hits() []sinkHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkHit(nil), s.got...)
}

func TestLifecycle(t *testing.T) {
	sink := &webhookSink{status: http.StatusOK}
	ours := httptest.NewServer(sink)
	defer ours.Close()
	f, srv := start(t, yclientsfake.Options{LifecycleURL: ours.URL + "/marketplace/webhook"})
	f.SetStatus(100001, yclientsfake.StatusActive)

	steps := []struct {
		event, sent, status string
	}{
		{"freeze", "freeze", "freezed"},
		{"unfreeze", "payment", "active"},
		{"uninstall", "uninstall", "uninstalled"},
	}
	for i, s := range steps {
		t.Run(s.event, func(t *testing.T) {
			a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100001/lifecycle", body: map[string]string{"event": s.event}})
			require.Equal(t, http.StatusOK, a.status, a.raw)
			require.Equal(t, map[string]any{"salon_id": 100001.0, "status": s.status, "event": s.sent, "webhook_status": 200.0}, a.json)
			require.NotContains(t, a.raw, token, "the control API never returns the partner token")
			require.Equal(t, s.status, f.Status(100001))

			hits := sink.hits()
			require.Len(t, hits, i+1)
			h := hits[i]
			require.Equal(t, http.MethodPost, h.method)
			require.Equal(t, "/marketplace/webhook", h.path)
			require.Equal(t, "application/json", h.contentType)
			require.JSONEq(t, `{"salon_id":100001,"application_id":18289,"event":"`+s.sent+`","partner_token":"`+token+`"}`, h.raw)
		})
	}

	t.Run("not allowed from uninstalled", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100001/lifecycle", body: map[string]string{"event": "freeze"}})
		require.Equal(t, http.StatusConflict, a.status)
		require.Len(t, sink.hits(), 3, "no webhook for a refused event")
	})
	t.Run("uninstall may repeat, as duplicate deliveries do", func(t *testing.T) {
		res, err := f.Lifecycle(context.Background(), 100001, "uninstall")
		require.NoError(t, err)
		require.Equal(t, 200, res.WebhookStatus)
		require.Len(t, sink.hits(), 4)
	})
	t.Run("bad requests", func(t *testing.T) {
		require.Equal(t, http.StatusUnprocessableEntity, do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100002/lifecycle", body: `{"event":"delete"}`}).status)
		require.Equal(t, http.StatusNotFound, do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/9/lifecycle", body: `{"event":"freeze"}`}).status)
		require.Equal(t, http.StatusConflict, do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100002/lifecycle", body: `{"event":"freeze"}`}).status, "pending cannot freeze")
	})
	t.Run("the webhook's failure is reported", func(t *testing.T) {
		sink.mu.Lock()
		sink.status = http.StatusServiceUnavailable
		sink.mu.Unlock()
		f.SetStatus(100003, yclientsfake.StatusActive)
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/salons/100003/lifecycle", body: `{"event":"freeze"}`})
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, 503.0, a.json["webhook_status"])
		require.Equal(t, "freezed", f.Status(100003))
	})
}

func TestLifecycleWithoutURL(t *testing.T) {
	f, _ := start(t, yclientsfake.Options{})
	f.SetStatus(100001, yclientsfake.StatusActive)
	res, err := f.Lifecycle(context.Background(), 100001, "freeze")
	require.NoError(t, err)
	require.Equal(t, 0, res.WebhookStatus)
	require.NotEmpty(t, res.WebhookError)
	require.Equal(t, "freezed", f.Status(100001))
}
