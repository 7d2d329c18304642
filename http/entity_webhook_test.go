package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/inbox"
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
	t.Run("no secret: 404, not a redirect", func(t *testing.T) {
		// Found by the fault-injection suite (R6): gin answered 307 to the trailing slash.
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Post(fmt.Sprintf("%s/webhook/yclients/%d/", srv.URL, salon), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
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

// The entity webhook on the group commit: concurrent deliveries, each answered for itself
// (200 with its own row, 403 for a wrong secret or an uninstalled salon, 400 for a bad body
// with the right secret and 403 with a wrong one), then 503 while the inbox table is locked.
func TestEntityWebhookBatched(t *testing.T) {
	store, dsn := dbtest.New(t)
	ctx := context.Background()
	const salon, gone, secret = int64(515151), int64(525252), "batched-secret-0123456789abcdef"
	for _, s := range []int64{salon, gone} {
		sum := sha256.Sum256([]byte(secret))
		require.NoError(t, store.UpsertWebhookSecret(ctx, sqlc.UpsertWebhookSecretParams{SalonID: s, WebhookSecretHash: sum[:]}))
	}
	require.NoError(t, store.DeleteSalonSecrets(ctx, gone)) // uninstalled
	batch := inbox.New(store, inbox.Options{Timeout: 300 * time.Millisecond})
	t.Cleanup(batch.Close)
	srv := httptest.NewServer(New(testConfig(), Deps{Temporal: closedTemporal(t), Entity: StoreInbox{Store: store, Batch: batch},
		Logger: quietLogger()}))
	t.Cleanup(srv.Close)
	post := func(salonID int64, secret, body string) (int, int64) {
		resp, err := http.Post(fmt.Sprintf("%s/webhook/yclients/%d/%s", srv.URL, salonID, secret), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var ok struct{ ID int64 }
		_ = json.NewDecoder(resp.Body).Decode(&ok)
		return resp.StatusCode, ok.ID
	}
	record := func(i int) string {
		return fmt.Sprintf(`{"company_id":%d,"resource":"record","resource_id":%d,"status":"update","data":{"id":%d}}`, salon, i+1, i+1)
	}

	type call struct {
		salon          int64
		secret, body   string
		wantStatus     int
		gotStatus      int
		gotID          int64
		storedBodyWant string
	}
	var calls []*call
	for i := range 60 {
		c := &call{salon: salon, secret: secret, body: record(i), wantStatus: http.StatusOK}
		switch i % 6 {
		case 1:
			c.secret, c.wantStatus = "wrong", http.StatusForbidden
		case 2:
			c.salon, c.wantStatus = gone, http.StatusForbidden
		case 3:
			c.body, c.wantStatus = `{"resource":"record","status":"explode"}`, http.StatusBadRequest
		case 4:
			c.secret, c.body, c.wantStatus = "wrong", `{"resource":`, http.StatusForbidden
		}
		calls = append(calls, c)
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() { c.gotStatus, c.gotID = post(c.salon, c.secret, c.body) })
	}
	wg.Wait()
	stored := 0
	for i, c := range calls {
		require.Equal(t, c.wantStatus, c.gotStatus, "call %d", i)
		if c.wantStatus != http.StatusOK {
			continue
		}
		stored++
		var body []byte
		var salonID int64
		require.NoError(t, store.Pool.QueryRow(ctx, `SELECT salon_id, body FROM webhook_inbox WHERE id = $1`, c.gotID).Scan(&salonID, &body))
		require.Equal(t, c.body, string(body), "call %d got another call's row", i)
		require.Equal(t, salon, salonID)
	}
	var rows int
	require.NoError(t, store.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox`).Scan(&rows))
	require.Equal(t, stored, rows)
	batches, carried := batch.Stats()
	require.Positive(t, batches)
	require.EqualValues(t, 40, carried, "the 20 bad bodies never reach the database's batch")

	t.Run("storage down 503", func(t *testing.T) {
		locker, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer locker.Close(ctx)
		tx, err := locker.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE`)
		require.NoError(t, err)
		got, _ := post(salon, secret, record(1000))
		require.Equal(t, http.StatusServiceUnavailable, got)
		require.NoError(t, tx.Rollback(ctx))
		got, _ = post(salon, secret, record(1001))
		require.Equal(t, http.StatusOK, got, "stored again once the table is free")
	})
}
