package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

func TestDemoRoutes(t *testing.T) {
	phone := simphone.New(simphone.Options{})
	srv := startServer(t, phone)

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

	status, raw := get(t, srv.URL+"/demo/whatsapp/42/messages")
	require.Equal(t, http.StatusOK, status, "messages: got %d want 200", status)
	var msgs []message
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

func TestDemoIncoming(t *testing.T) {
	phone := simphone.New(simphone.Options{ConnectDelay: time.Millisecond})
	var mu sync.Mutex
	var handled []whatsapp.Incoming
	phone.SetIncomingHandler(func(_ context.Context, m whatsapp.Incoming) {
		mu.Lock()
		defer mu.Unlock()
		handled = append(handled, m)
	})
	srv := startServer(t, phone)
	url := srv.URL + "/demo/whatsapp/42/incoming"

	cases := []struct {
		name, url, body string
		want            int
	}{
		{"bad JSON", url, `{"from":`, http.StatusBadRequest},
		{"bad phone", url, `{"from":"call me","text":"стоп"}`, http.StatusBadRequest},
		{"no text", url, `{"from":"79990001122","text":"  "}`, http.StatusBadRequest},
		{"bad salon", srv.URL + "/demo/whatsapp/x/incoming", `{"from":"79990001122","text":"стоп"}`, http.StatusBadRequest},
		{"no linked device", url, `{"from":"79990001122","text":"стоп"}`, http.StatusConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postJSON(t, tc.url, tc.body, nil)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %v", status, tc.want, body)
			require.NotEmpty(t, body["error"], "body: got %v want an error field", body)
		})
	}

	// Link salon 42, then a client writes to it.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	items, err := phone.PairQR(ctx, 42)
	require.NoError(t, err)
	<-items
	require.NoError(t, phone.Scan(42, "79161234567", "Салон"))
	require.Eventually(t, func() bool {
		st, err := phone.Status(t.Context(), 42)
		return err == nil && st.State == whatsapp.StateLinked
	}, 5*time.Second, 10*time.Millisecond, "the salon did not link")

	status, body := postJSON(t, url, `{"from":"+7 999 000-11-22","text":"стоп"}`, nil)
	require.Equal(t, http.StatusOK, status, "incoming: got %d want 200; body %v", status, body)
	require.Equal(t, map[string]any{"ok": true}, body, "body: got %v want {ok: true}", body)
	got := phone.Incoming(42)
	require.Len(t, got, 1, "incoming: got %v want one message", got)
	require.Equal(t, "79990001122", got[0].From, "from: got %s want the normalised number", got[0].From)
	require.Equal(t, "стоп", got[0].Text, "text: got %q want «стоп»", got[0].Text)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, got, handled, "handler: got %v want the same message", handled)
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

func startServer(t *testing.T, phone *simphone.Phone) *httptest.Server {
	t.Helper()
	e := gin.New()
	Routes(e, phone)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func postJSON(t *testing.T, url, body string, _ http.Header) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
