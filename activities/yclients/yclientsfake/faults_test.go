package yclientsfake_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// A fault with after: the request is served (the activation takes effect), then its answer is
// replaced or delayed: "YClients did it, but our request failed".
func TestFaultAfter(t *testing.T) {
	t.Run("the status replaces the answer", func(t *testing.T) {
		f, srv := start(t, yclientsfake.Options{})
		a := do(t, srv, call{method: http.MethodPost, path: "/_fake/faults",
			body: `{"path_prefix":"/marketplace/partner/callback","status":504,"after":true,"count":1}`})
		require.Equal(t, http.StatusCreated, a.status, a.raw)

		resp, err := postCallback(t, srv.URL, http.DefaultClient, "100001")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "the client sees the fault")
		require.Equal(t, yclientsfake.StatusActive, f.Status(100001), "but the activation took effect")
		require.Equal(t, http.StatusCreated, f.Callbacks()[0].StatusCode)
		reqs := f.Requests()
		require.Equal(t, yclientsfake.RequestLog{Method: http.MethodPost, Path: "/marketplace/partner/callback",
			Status: 504, Served: 201, At: reqs[0].At}, reqs[0])

		resp, err = postCallback(t, srv.URL, http.DefaultClient, "100001")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a retry is told the app is already installed")
	})

	t.Run("the delay outlasts the client's timeout", func(t *testing.T) {
		f, srv := start(t, yclientsfake.Options{})
		require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", DelayMS: 2000, After: true}))
		startAt := time.Now()
		_, err := postCallback(t, srv.URL, &http.Client{Timeout: 200 * time.Millisecond}, "100002")
		require.Error(t, err)
		var timeout interface{ Timeout() bool }
		require.True(t, errors.As(err, &timeout) && timeout.Timeout(), "got %v", err)
		require.Less(t, time.Since(startAt), time.Second)
		require.Equal(t, yclientsfake.StatusActive, f.Status(100002), "the activation took effect all the same")
		require.Eventually(t, func() bool { return len(f.Requests()) == 1 }, 3*time.Second, 10*time.Millisecond)
		got := f.Requests()[0]
		require.Equal(t, 0, got.Status, "no answer reached the client")
		require.Equal(t, http.StatusCreated, got.Served)
	})

	t.Run("a delay alone answers the real answer late", func(t *testing.T) {
		f, srv := start(t, yclientsfake.Options{})
		require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/company/", DelayMS: 150, After: true}))
		startAt := time.Now()
		a := do(t, srv, call{path: "/api/v1/company/100001", api: true})
		require.GreaterOrEqual(t, time.Since(startAt), 140*time.Millisecond)
		require.Equal(t, `Салон красоты "Бархат"`, a.dataObject(t)["title"])
		require.Equal(t, 0, f.Requests()[0].Served, "nothing was replaced")
	})

	t.Run("a fault before serving changes nothing", func(t *testing.T) {
		f, srv := start(t, yclientsfake.Options{})
		require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", Status: 504, Count: 1}))
		resp, err := postCallback(t, srv.URL, http.DefaultClient, "100003")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
		require.Equal(t, yclientsfake.StatusPending, f.Status(100003))
		require.Empty(t, f.Callbacks())
	})
}

// A lingering fault: the request is served only after the delay, even though the client gave
// up before: "YClients did it, later than our request lasted".
func TestFaultLinger(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	a := do(t, srv, call{method: http.MethodPost, path: "/_fake/faults",
		body: `{"path_prefix":"/marketplace/partner/callback","delay_ms":600,"linger":true,"count":1}`})
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	_, err := postCallback(t, srv.URL, &http.Client{Timeout: 200 * time.Millisecond}, "100002")
	require.Error(t, err, "the client gave up")
	require.Equal(t, yclientsfake.StatusPending, f.Status(100002), "not served yet when the client gave up")
	require.Eventually(t, func() bool { return f.Status(100002) == yclientsfake.StatusActive }, 3*time.Second, 10*time.Millisecond,
		"served after the delay all the same")
	require.Len(t, f.Callbacks(), 1)
	require.Equal(t, http.StatusCreated, f.Callbacks()[0].StatusCode)

	// skip: the next callback passes, the one after it fails.
	require.NoError(t, f.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", Status: 503, Skip: 1, Count: 1}))
	for i, want := range []int{http.StatusCreated, http.StatusServiceUnavailable, http.StatusForbidden} {
		resp, err := postCallback(t, srv.URL, http.DefaultClient, "100001")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, "callback %d", i+1)
	}

	for _, bad := range []yclientsfake.Fault{{Linger: true, Status: 504, DelayMS: 10}, {Linger: true, After: true, DelayMS: 10},
		{Status: 503, Skip: -1}} {
		require.Error(t, f.AddFault(bad), "%+v", bad)
	}
}

// postCallback sends an activation callback for the salon with client.
func postCallback(t *testing.T, srv string, client *http.Client, salonID string) (*http.Response, error) {
	t.Helper()
	body := `{"salon_id":` + salonID + `,"application_id":18289,"api_key":"k-0001","webhook_urls":[]}`
	req, err := http.NewRequest(http.MethodPost, srv+"/marketplace/partner/callback", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.yclients.v2+json")
	return client.Do(req)
}

func TestMaxRate(t *testing.T) {
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(ms ...int) []yclientsfake.RequestLog {
		var out []yclientsfake.RequestLog
		for _, m := range ms {
			out = append(out, yclientsfake.RequestLog{At: base.Add(time.Duration(m) * time.Millisecond)})
		}
		return out
	}
	t.Run("the densest window", func(t *testing.T) {
		// Out of order, as the log is written when answers finish.
		reqs := at(0, 900, 200, 1000, 1100, 1150, 1199, 3000)
		require.Equal(t, 6.0, yclientsfake.MaxRequestRate(reqs, time.Second), "[200 ms, 1200 ms) holds six")
		require.Equal(t, 3.0/0.1, yclientsfake.MaxRequestRate(reqs, 100*time.Millisecond), "1100, 1150, 1199")
		require.Equal(t, 0.0, yclientsfake.MaxRequestRate(nil, time.Second))
		require.Equal(t, 0.0, yclientsfake.MaxRequestRate(reqs, 0))
		require.Equal(t, 1.0, yclientsfake.MaxRequestRate(at(0, 1000, 2000), time.Second), "a window is half-open")
	})
	t.Run("of real requests", func(t *testing.T) {
		f, srv := start(t, yclientsfake.Options{})
		for range 8 {
			do(t, srv, call{path: "/api/v1/company/100001", api: true})
		}
		time.Sleep(1100 * time.Millisecond)
		for range 3 {
			do(t, srv, call{path: "/api/v1/company/100001", api: true})
		}
		require.Equal(t, 8.0, f.MaxRate(time.Second))
		a := do(t, srv, call{path: "/_fake/requests"})
		require.Len(t, a.list, 11)
		var logged []yclientsfake.RequestLog
		require.NoError(t, json.Unmarshal([]byte(a.raw), &logged))
		require.Equal(t, 8.0, yclientsfake.MaxRequestRate(logged, time.Second), "the control API's log gives the same")
	})
}
