package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// TestBenchWaitProgressWaitsWhileSendsArrive: a benchmark waits for its last sends while they
// keep arriving, past its minimum wait (a backlog on a slow machine is slow, not lost: `make
// bench` failed P4 when the skeleton's last sends came after 2 minutes), and stops waiting
// once none has come for the stall time.
func TestBenchWaitProgressWaitsWhileSendsArrive(t *testing.T) {
	var sent atomic.Int64
	go func() {
		for range 10 {
			time.Sleep(30 * time.Millisecond)
			sent.Add(1)
		}
	}()
	benchWaitProgress(50*time.Millisecond, 200*time.Millisecond, 10*time.Second, 10, func() int { return int(sent.Load()) })
	require.EqualValues(t, 10, sent.Load(), "sends that kept arriving past the minimum wait were waited for")

	start := time.Now()
	benchWaitProgress(50*time.Millisecond, 200*time.Millisecond, 10*time.Second, 10, func() int { return 3 })
	waited := time.Since(start)
	require.GreaterOrEqual(t, waited, 200*time.Millisecond, "the stall is waited out")
	require.Less(t, waited, 5*time.Second, "sends that stopped coming are not waited for until the limit")
}

// TestStalledPageIsATimeout: the benchmarks' own installs open a connect page again when it
// stalled (a websocket read that timed out, as in the `make bench CLUSTER=1` of 2026-12-04
// 19:37, which failed P4's setup on it), and fail on anything else the page says.
func TestStalledPageIsATimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		_, _, _ = c.ReadMessage() // sends nothing, reads until the client goes
	}))
	defer srv.Close()
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	var f frame
	err = conn.ReadJSON(&f)
	require.Error(t, err)
	require.True(t, stalledPage(fmt.Errorf("salon 1: waiting for qr: %w", err)), "a page that sent nothing: %v", err)
	require.False(t, stalledPage(fmt.Errorf("salon 1: error frame: %s", "Сервер подключения временно недоступен")))
	require.False(t, stalledPage(errors.New("websocket: bad handshake")))
	// A page load that timed out names its URL (with the session token): not ridden out, not printed.
	hc := &http.Client{Timeout: time.Nanosecond}
	_, err = hc.Get(srv.URL + "/connect?token=secret-token")
	require.Error(t, err)
	require.False(t, stalledPage(fmt.Errorf("open connect page: %w", err)), "%v", err)
}
