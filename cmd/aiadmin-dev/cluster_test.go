package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// clusterChildEnv marks the test binary re-executed as one of the cluster's processes.
const clusterChildEnv = "AIADMIN_CLUSTER_CHILD"

// TestClusterChildProcess is not a test of its own: it is this binary's main (run, with the
// arguments after the test flags) in a child process of a cluster that startTestCluster
// starts, so that the cluster's api, worker, fake and proxy processes run the code under test.
func TestClusterChildProcess(t *testing.T) {
	if os.Getenv(clusterChildEnv) != "1" {
		t.Skip("a helper process of startTestCluster")
	}
	if err := run(flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin-dev:", err)
		os.Exit(1)
	}
}

// startTestCluster starts a cluster through the `cluster` command's code (startCluster) on
// databases of its own (dropped afterwards), on free ports, headless, and stops it when the
// test ends. The Temporal server is bin/temporal-dev (`make temporal-dev`); the other
// processes are this test binary (TestClusterChildProcess). Benchmarks can use it too.
func startTestCluster(tb testing.TB, tune ...func(*clusterOptions)) *cluster {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(tb, err)
	temporalBin := filepath.Join(root, "bin", "temporal-dev")
	if _, err := os.Stat(temporalBin); err != nil {
		tb.Fatalf("%s is missing: run `make temporal-dev` (make test does)", temporalBin)
	}
	_, dsn := dbtest.New(tb) // the application's database, migrated; dropped after the cleanups below
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		names := clusterDatabases(dsn)
		require.NoError(tb, dropDatabases(ctx, dsn, names[1:]...)) // Temporal's two
	})
	tb.Setenv(clusterChildEnv, "1") // inherited by the children
	opts := clusterOptions{
		Addr: "127.0.0.1:0", TemporalAddr: "127.0.0.1:0", FakeYClientsAddr: "127.0.0.1:0", FakeWhatsAppAddr: "127.0.0.1:0",
		DatabaseURL: dsn, Dir: tb.TempDir(),
		TemporalBin: temporalBin, TemporalConfig: filepath.Join(root, "temporal-dev.yaml"),
		Self: []string{os.Args[0], "-test.run=^TestClusterChildProcess$", "-test.count=1"},
	}
	for _, t := range tune {
		t(&opts)
	}
	c, err := startCluster(context.Background(), opts, testLogger(slog.LevelInfo))
	if err != nil {
		tb.Logf("cluster logs (%s):\n%s", opts.Dir, clusterLogTails(opts.Dir))
	}
	require.NoError(tb, err)
	tb.Cleanup(func() {
		c.Stop()
		if tb.Failed() {
			tb.Logf("cluster logs (%s):\n%s", c.opts.Dir, clusterLogTails(c.opts.Dir))
		}
	})
	return c
}

// clusterLogTails is the end of every child's log.
func clusterLogTails(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, l := range logs {
		out, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "--- %s:\n%s\n", filepath.Base(l), tail(out, 3000))
	}
	return b.String()
}

// TestClusterInstallsAndConfirms starts the production-like cluster (Temporal on PostgreSQL,
// the fakes, 2 api and 3 worker processes behind the proxy), installs a demo salon through
// the public URL as its owner would, books a client in the fake YClients, waits for the
// client's confirmation on the fake WhatsApp server, stops the cluster and checks that none
// of its processes is left.
func TestClusterInstallsAndConfirms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes (about 20 s)")
	}
	if os.Getenv(clusterChildEnv) != "" || os.Getenv(shardWorkerEnv) != "" {
		t.Skip("inside a helper process")
	}
	began := time.Now()
	c := startTestCluster(t, func(o *clusterOptions) { o.PProf = true })
	a := c.Addrs
	t.Logf("cluster ready in %d ms: %s → %v", a.ReadyMillis, a.PublicURL, a.APIs)
	require.Len(t, a.APIs, 2)
	require.Len(t, a.PIDs, 9, "temporal, 2 fakes, proxy, 2 api, 3 workers: %v", a.PIDs)

	hc := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// -pprof: each api and worker serves its profiles on an address of its own, and the
	// public URL does not.
	require.Len(t, a.PProf, 5, "2 api and 3 workers: %v", a.PProf)
	for name, addr := range a.PProf {
		cmdline := httpGet(t, hc, "http://"+addr+"/debug/pprof/cmdline", http.StatusOK)
		role := strings.SplitN(name, "-", 2)[0]
		require.Contains(t, strings.Split(cmdline, "\x00"), role, "%s's profiles come from a process started as %q: %q", name, role, cmdline)
	}
	httpGet(t, hc, a.PublicURL+"/debug/pprof/", http.StatusNotFound)
	salon := yclientsfake.DemoSalonMoscow
	require.NoError(t, ownerInstall(hc, a.FakeYClients, a.PublicURL, salon, func() error {
		return postJSON(hc, a.FakeWhatsApp+"/control/scan", map[string]any{"salon_id": salon, "phone": "79990001122", "name": "Салон"})
	}))
	t.Logf("salon installed: %s", time.Since(began).Round(time.Millisecond))

	const client = "79161234567"
	at := time.Now().In(moscowTime(t)).AddDate(0, 0, 3).Format("2006-01-02") + " 14:30:00"
	require.NoError(t, postJSON(hc, fmt.Sprintf("%s/_fake/salons/%d/records", a.FakeYClients, salon),
		map[string]any{"client": map[string]string{"name": "Анна", "phone": client}, "datetime": at}))
	var confirmations []simserver.Message
	require.Eventually(t, func() bool {
		confirmations = nil
		for _, m := range clusterMessages(t, hc, a.FakeWhatsApp, salon) {
			if m.Phone == client && strings.Contains(m.Text, "Вы записаны") {
				confirmations = append(confirmations, m)
			}
		}
		return len(confirmations) > 0
	}, 45*time.Second, 200*time.Millisecond, "the client's confirmation on the fake WhatsApp server")
	require.Len(t, confirmations, 1, "one confirmation: %+v", confirmations)
	require.Contains(t, confirmations[0].Text, "14:30")
	t.Logf("confirmation sent: %s", time.Since(began).Round(time.Millisecond))

	stopped := time.Now()
	c.Stop()
	t.Logf("cluster stopped in %s", time.Since(stopped).Round(time.Millisecond))
	for name, pid := range a.PIDs {
		require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "%s (pid %d) is still running", name, pid)
	}
	require.Empty(t, markedProcesses(c.opts.Dir), "processes left with %s=%s", clusterMarkerEnv, c.opts.Dir)
	_, err := net.DialTimeout("tcp", strings.TrimPrefix(a.PublicURL, "http://"), time.Second)
	require.Error(t, err, "the public address still answers")
	t.Logf("done: %s", time.Since(began).Round(time.Millisecond))
}

// httpGet is a GET's body, once it has answered with status.
func httpGet(t *testing.T, hc *http.Client, url string, status int) string {
	t.Helper()
	resp, err := hc.Get(url)
	require.NoError(t, err, url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, url)
	require.Equal(t, status, resp.StatusCode, "GET %s: %s", url, body)
	return string(body)
}

func moscowTime(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	return loc
}

func postJSON(hc *http.Client, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := hc.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d", url, resp.StatusCode)
	}
	return nil
}

// clusterMessages is what the fake WhatsApp server recorded as sent for the salon.
func clusterMessages(t *testing.T, hc *http.Client, simURL string, salon int64) []simserver.Message {
	resp, err := hc.Get(fmt.Sprintf("%s/messages?salon_id=%d", simURL, salon))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out []simserver.Message
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// markedProcesses lists the processes whose environment carries the cluster's marker.
func markedProcesses(dir string) []string {
	marker := []byte(clusterMarkerEnv + "=" + dir + "\x00")
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	var out []string
	for _, e := range envs {
		b, err := os.ReadFile(e)
		if err != nil {
			continue // gone, or not ours to read
		}
		if bytes.Contains(b, marker) {
			out = append(out, e)
		}
	}
	return out
}
