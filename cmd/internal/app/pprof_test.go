package app

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The profiles' listener serves the index, a CPU profile (a gzipped protobuf, as
// `go tool pprof` reads it) and the heap, on its own address; once stopped it answers nothing.
func TestServePProf(t *testing.T) {
	errc := make(chan error, 1)
	stop, addr, err := servePProf("127.0.0.1:0", slog.New(slog.DiscardHandler), errc)
	require.NoError(t, err)
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, []byte) {
		resp, err := hc.Get("http://" + addr + path)
		require.NoError(t, err, path)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, path)
		return resp.StatusCode, body
	}
	status, body := get("/debug/pprof/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(body), "goroutine")
	status, body = get("/debug/pprof/profile?seconds=1")
	require.Equal(t, http.StatusOK, status, "%s", body)
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err, "a CPU profile is gzipped")
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.NotEmpty(t, raw)
	status, _ = get("/debug/pprof/heap")
	require.Equal(t, http.StatusOK, status)
	status, _ = get("/metrics")
	require.Equal(t, http.StatusNotFound, status, "only the profiles are served there")

	stop()
	_, err = hc.Get("http://" + addr + "/debug/pprof/")
	require.Error(t, err, "stopped: the listener is closed")
	select {
	case err := <-errc:
		t.Fatalf("closing is not a serving failure: %v", err)
	default:
	}
}
