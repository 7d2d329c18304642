package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

func TestDemoRoutesAbsentWhenOff(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Demo: simphone.New(simphone.Options{})})
	status, _ := postJSON(t, srv.URL+"/demo/whatsapp/42/scan", `{"phone":"79990001122","name":"Салон"}`, nil)
	require.Equal(t, http.StatusNotFound, status, "scan: got %d want 404", status)
	status, _, body := get(t, srv.URL+"/demo/whatsapp/42/messages", nil)
	require.Equal(t, http.StatusNotFound, status, "messages: got %d want 404; body %s", status, body)
	require.JSONEq(t, `{"error":"not found"}`, body, "body: got %s", body)
}

func TestDemoRoutes(t *testing.T) {
	cfg := testConfig()
	cfg.Demo = true
	phone := simphone.New(simphone.Options{})
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t), Demo: phone})

	cases := []struct {
		name, path, body string
		want             int
	}{
		{"bad JSON", "/demo/whatsapp/42/scan", `{"phone":`, http.StatusBadRequest},
		{"bad phone", "/demo/whatsapp/42/scan", `{"phone":"call me","name":"Салон"}`, http.StatusBadRequest},
		{"bad salon", "/demo/whatsapp/x/scan", `{"phone":"79990001122","name":"Салон"}`, http.StatusBadRequest},
		{"no pairing attempt", "/demo/whatsapp/42/scan", `{"phone":"79990001122","name":"Салон"}`, http.StatusConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postJSON(t, srv.URL+tc.path, tc.body, nil)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %v", status, tc.want, body)
			require.NotEmpty(t, body["error"], "body: got %v want an error field", body)
		})
	}

	status, _, raw := get(t, srv.URL+"/demo/whatsapp/42/messages", nil)
	require.Equal(t, http.StatusOK, status, "messages: got %d want 200", status)
	var msgs []demoMessage
	require.NoError(t, json.Unmarshal([]byte(raw), &msgs), "body: got %s want a JSON list", raw)
	require.Empty(t, msgs, "messages: got %v want none", msgs)
	require.Equal(t, "[]", raw, "body: got %s want []", raw)

	// With a QR code on screen the scan links the phone.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	items, err := phone.PairQR(ctx, 42)
	require.NoError(t, err)
	select {
	case it := <-items:
		require.Equal(t, whatsapp.PairQR, it.Kind, "first item: got %s want qr", it.Kind)
	case <-time.After(5 * time.Second):
		t.Fatal("got no QR item within 5 s, want one")
	}
	status, body := postJSON(t, srv.URL+"/demo/whatsapp/42/scan", `{"phone":"+7 999 000-11-22","name":"Салон"}`, nil)
	require.Equal(t, http.StatusOK, status, "scan: got %d want 200; body %v", status, body)
	status, body = postJSON(t, srv.URL+"/demo/whatsapp/42/scan", `{"phone":"79990001122","name":"Салон"}`, nil)
	require.Equal(t, http.StatusConflict, status, "second scan: got %d want 409; body %v", status, body)
}
