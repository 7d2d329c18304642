package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// logSink keeps log lines to check that secrets never reach them.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestEntityWebhook(t *testing.T) {
	store, _ := dbtest.New(t)
	const salon, secret = int64(424242), "s3cr3t-url-part-0123456789abcdef"
	sum := sha256.Sum256([]byte(secret))
	require.NoError(t, store.UpsertWebhookSecret(context.Background(), sqlc.UpsertWebhookSecretParams{SalonID: salon, WebhookSecretHash: sum[:]}))
	logs := &logSink{}
	cfg := testConfig()
	srv := httptest.NewServer(New(cfg, Deps{Temporal: closedTemporal(t), Entity: StoreInbox{Store: store},
		Logger: slog.New(slog.NewTextHandler(logs, nil))}))
	t.Cleanup(srv.Close)
	body := `{"company_id":424242,"resource":"record","resource_id":77,"status":"update","data":{"id":77,"datetime":"2026-12-12T14:30:00+03:00"}}`
	post := func(path, payload string, hdr map[string]string) int {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(payload))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	count := func() int64 {
		n, err := store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: salon, State: "pending"})
		require.NoError(t, err)
		return n
	}

	t.Run("stored before 2xx, with Temporal unreachable", func(t *testing.T) {
		require.Equal(t, http.StatusOK, post(fmt.Sprintf("/webhook/yclients/%d/%s", salon, secret), body, nil))
		require.EqualValues(t, 1, count())
	})
	t.Run("wrong secret 403", func(t *testing.T) {
		require.Equal(t, http.StatusForbidden, post(fmt.Sprintf("/webhook/yclients/%d/wrong", salon), body, nil))
		require.Equal(t, http.StatusForbidden, post(fmt.Sprintf("/webhook/yclients/%d/%s", salon+1, secret), body, nil), "another salon's URL")
	})
	t.Run("missing secret", func(t *testing.T) {
		got := post(fmt.Sprintf("/webhook/yclients/%d/", salon), body, nil)
		require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, got, "got %d", got)
	})
	t.Run("malformed 400", func(t *testing.T) {
		for _, bad := range []string{`{"resource":`, `[]`, `{"resource":"record","status":"explode"}`, `{"status":"create"}`,
			`{"resource":"rec\u0000ord","resource_id":1,"status":"create","data":{}}`} {
			require.Equal(t, http.StatusBadRequest, post(fmt.Sprintf("/webhook/yclients/%d/%s", salon, secret), bad, nil), bad)
		}
		require.EqualValues(t, 1, count(), "nothing stored for bad input")
	})
	t.Run("bad salon id 400", func(t *testing.T) {
		require.Equal(t, http.StatusBadRequest, post("/webhook/yclients/abc/"+secret, body, nil))
	})
	t.Run("secret never logged", func(t *testing.T) {
		require.NotContains(t, logs.String(), secret)
		require.Contains(t, logs.String(), "/webhook/yclients/")
	})

	t.Run("optional HMAC signature", func(t *testing.T) {
		hcfg := testConfig()
		hcfg.WebhookHMACSecret = "hmac-key"
		hsrv := httptest.NewServer(New(hcfg, Deps{Temporal: closedTemporal(t), Entity: StoreInbox{Store: store}, Logger: quietLogger()}))
		t.Cleanup(hsrv.Close)
		mac := hmac.New(sha256.New, []byte("hmac-key"))
		mac.Write([]byte(body))
		sign := hex.EncodeToString(mac.Sum(nil))
		postTo := func(hdr map[string]string) int {
			req, _ := http.NewRequest(http.MethodPost, hsrv.URL+fmt.Sprintf("/webhook/yclients/%d/%s", salon, secret), strings.NewReader(body))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		require.Equal(t, http.StatusForbidden, postTo(nil), "unsigned")
		require.Equal(t, http.StatusForbidden, postTo(map[string]string{"X-Webhook-Signature": strings.Repeat("0", 64)}), "wrong signature")
		require.Equal(t, http.StatusOK, postTo(map[string]string{"X-Webhook-Signature": sign}))
		require.Equal(t, http.StatusOK, postTo(map[string]string{"X-Yclients-Signature": "sha256=" + sign}))
	})
}
