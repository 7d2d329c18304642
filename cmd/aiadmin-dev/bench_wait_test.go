package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
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

// TestOpenConnectPageErrorNamesNoSecret: a register page that does not load in time fails the
// benchmark's install with an error the test framework prints, so it must not carry the page's
// URL: the marketplace's signed user data and, further on, the session token are in it.
func TestOpenConnectPageErrorNamesNoSecret(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	market := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, slow.URL+"/register?salon_id=1&user_data=secret-data&user_data_sign=secret-sign", http.StatusFound)
	}))
	defer market.Close()
	hc := &http.Client{Timeout: 100 * time.Millisecond,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, _, err := openConnectPage(t.Context(), hc, market.URL, 1)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret", "the error names no part of the page's query")
	require.Contains(t, err.Error(), "/register", "the error still says which page")
	require.False(t, stalledPage(err), "a page that did not load is not ridden out as a stalled one: %v", err)
}

// TestKeepLogsCopiesOnlyTheLogs: when a benchmark on the cluster fails, its processes' logs
// outlive the cluster's folder (the stalled connect page of 2026-12-04 went undiagnosed as its
// logs went with it), and the cluster's keys do not.
func TestKeepLogsCopiesOnlyTheLogs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aiadmin-bench-cluster-1")
	require.NoError(t, os.Mkdir(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "worker-1.log"), []byte("pairing waited\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "api-1.log"), []byte("ready\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.key"), []byte("k"), 0o600))
	kept, err := keepLogs(dir)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(dir))
	got, err := os.ReadFile(filepath.Join(kept, "worker-1.log"))
	require.NoError(t, err)
	require.Equal(t, "pairing waited\n", string(got))
	entries, err := os.ReadDir(kept)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"api-1.log", "worker-1.log"}, names)
}

// TestSplitBySalon: P4 on the cluster tells its salon's YClients calls from those of other
// salons by the path's segments (salon 12 is not salon 123).
func TestSplitBySalon(t *testing.T) {
	reqs := []yclientsfake.RequestLog{{Method: "GET", Path: "/api/v1/records/12", Status: 200}, {Method: "GET", Path: "/api/v1/records/123", Status: 200},
		{Method: "GET", Path: "/api/v1/company/12/services", Status: 200}, {Method: "GET", Path: "/api/v1/book_staff/7", Status: 200}}
	own, others := splitBySalon(reqs, 12)
	require.Equal(t, map[string]int{"GET /api/v1/records/{id}": 1, "GET /api/v1/company/{id}/services": 1}, callsByEndpoint(own))
	require.Equal(t, map[string]int{"GET /api/v1/records/{id}": 1, "GET /api/v1/book_staff/{id}": 1}, callsByEndpoint(others))
}

// TestBenchOwnerAsksAgainAsThePageDoes: P2's owners work the connect page as its script does,
// and the script asks once more by itself when no code comes within its patience
// (TestConnectPageAsksAgainWhenNoCodeComes). So does the benchmark's owner: an attempt that
// shows nothing costs it the page's own second request, not an error. When the second attempt
// shows nothing either, the page tells the owner the code does not come (an error seen), and
// the owner opens the page again and gets a code from there.
func TestBenchOwnerAsksAgainAsThePageDoes(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	s := newStackAt(t, addr, func(su *stackSetup) { su.cfg.CodePatience = 2 * time.Second })
	owners := s.addBenchSalons(2, 0)
	once, twice := owners[0], owners[1]
	s.phone.StallPairing(once.salon, 1)
	s.phone.StallPairing(twice.salon, 2)
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	stalls := benchStalls.Load()
	require.Empty(t, s.installOwners(hc, owners, len(owners), 2*time.Minute), "both owners got to active")

	require.Equal(t, 1, once.askedAgain, "one attempt showed nothing: the page asked once more")
	require.Empty(t, once.errs, "the page's own second request is no error")
	require.Equal(t, 2, s.stateOf(once.salon).Pairing.Attempt, "pairing attempts")

	require.Equal(t, 1, twice.askedAgain, "the page asks once more, then tells the owner")
	require.Len(t, twice.errs, 1, "the code that did not come after asking twice: %v", twice.errs)
	require.Contains(t, twice.errs[0], errPageStalled.Error())
	require.Equal(t, 3, s.stateOf(twice.salon).Pairing.Attempt, "the reopened page asked for a third attempt")
	require.EqualValues(t, 1, benchStalls.Load()-stalls, "stalled pages counted")
}
