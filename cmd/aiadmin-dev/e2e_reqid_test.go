package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/aiadmin/aiadmin/activities/reqid"
	"github.com/aiadmin/aiadmin/workflows"
)

// logBuffer is a log destination tests can read while the stack writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// line returns the first log line with msg="<msg>", or "".
func (b *logBuffer) line(msg string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, `msg="`+msg+`"`) || strings.Contains(l, "msg="+msg+" ") {
			return l
		}
	}
	return ""
}

// TestRequestIDReachesActivityLogs: the request IDs of the marketplace redirect and of the
// connect page reach the log lines of the activities they cause, in the worker of the main
// queue and in the WhatsApp shard's; a booking webhook's ID goes through the inbox and the
// dispatcher into the booking workflow's start and its activities' headers.
func TestRequestIDReachesActivityLogs(t *testing.T) {
	logs := &logBuffer{}
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	s := newStackAt(t, addr, func(st *stackSetup) {
		st.logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	salon := s.moscow

	req, err := http.NewRequest(http.MethodGet, s.redirectFor(salon), nil)
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "e2e-register-1")
	resp, err := s.http.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	m := tokenRE.FindStringSubmatch(string(body))
	require.Len(t, m, 2)

	wsURL := "ws" + strings.TrimPrefix(s.cfg.PublicURL, "http") + "/ws/connect?token=" + m[1]
	conn, wsResp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {s.cfg.PublicURL}, "X-Request-Id": {"e2e-connect-1"}})
	require.NoError(t, err)
	wsResp.Body.Close()
	defer conn.Close()
	s.scanOn(conn, salon, "active")
	s.waitSalonStatus(salon, workflows.StatusActive)

	// pair-whatsapp runs on the salon's shard queue, from the request-pairing update;
	// activate-integration on the main queue, scheduled after it.
	for msg, want := range map[string]string{"whatsapp paired": "e2e-connect-1", "integration activated": "e2e-connect-1"} {
		var l string
		require.Eventually(t, func() bool { l = logs.line(msg); return l != "" }, 10*time.Second, 20*time.Millisecond, "log line %q", msg)
		require.Contains(t, l, "requestID="+want, "log line: %s", l)
	}

	// A booking webhook: its request ID is stored with it and carried by the dispatcher.
	s.noPacing(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "15:00")
	rec := s.bookRecord(salon, local)
	// The fake posts the webhook on its own goroutine: wait for the row, then for its hand-on.
	var headers []byte
	require.Eventually(t, func() bool {
		return s.app.Store.Pool.QueryRow(context.Background(),
			`SELECT headers FROM webhook_inbox WHERE salon_id = $1 AND resource_id = $2 ORDER BY id LIMIT 1`, salon, rec.ID).Scan(&headers) == nil
	}, 10*time.Second, 20*time.Millisecond, "the booking's webhook is stored")
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)
	var h map[string]string
	require.NoError(t, json.Unmarshal(headers, &h))
	hookID := h["X-Request-Id"]
	require.NotEmpty(t, hookID, "the webhook's request ID is stored with it: %s", headers)

	bookingID := workflows.BookingID(salon, rec.ID)
	s.waitClientTexts(salon, 1)
	events := s.historyOf(bookingID, "")
	started := events[0].GetWorkflowExecutionStartedEventAttributes()
	require.Equal(t, hookID, requestIDIn(t, started.GetHeader().GetFields()), "the booking workflow's start carries it")
	scheduled := 0
	for _, ev := range events {
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled++
			require.Equal(t, hookID, requestIDIn(t, a.GetHeader().GetFields()), "activity %s", a.GetActivityType().GetName())
		}
	}
	require.Positive(t, scheduled)
}

// requestIDIn decodes the request ID header field, "" when there is none.
func requestIDIn(t *testing.T, fields map[string]*commonpb.Payload) string {
	t.Helper()
	p, ok := fields[reqid.HeaderKey]
	if !ok {
		return ""
	}
	var id string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &id))
	return id
}
