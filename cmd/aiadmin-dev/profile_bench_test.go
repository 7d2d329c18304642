package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	httppprof "net/http/pprof"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// measureSingle starts measuring a run on the single-process stack: the CPU this process (API,
// worker, the fakes and the benchmark's own driver) and the Temporal dev server (TEMPORAL_DEV_PID,
// set by with-temporal.sh when it started one) use, how busy the machine is, and a CPU profile
// of this process (written to <tmp>/aiadmin-bench-<name>-cpu.pprof, for `go tool pprof`). What
// it returns ends the measurement and describes it, with the profile's CPU by package (flat:
// the functions' own time, summed over their package).
func measureSingle(b *testing.B, name string) func() string {
	b.Helper()
	stopProfile := profileThisProcess(name)
	stopTemporal := profileTemporal(os.Getenv("TEMPORAL_DEV_PPROF"), name)
	cpu := measureCPU(singlePIDs())
	return func() string {
		out := cpu().String()
		return out + "; " + stopProfile() + "; " + stopTemporal()
	}
}

// singlePIDs are the processes of the single-process stack whose CPU its benchmarks count, by
// name: this process, and the Temporal dev server (TEMPORAL_DEV_PID, set by with-temporal.sh
// when it started one).
func singlePIDs() map[string]int {
	pids := map[string]int{"this process (API, worker, fakes, driver)": os.Getpid()}
	if pid, err := strconv.Atoi(os.Getenv("TEMPORAL_DEV_PID")); err == nil {
		pids["the Temporal dev server"] = pid
	}
	return pids
}

// profileThisProcess starts a CPU profile of this process, written to
// <tmp>/aiadmin-bench-<name>-cpu.pprof; what it returns stops it and describes it by package.
func profileThisProcess(name string) func() string {
	path := filepath.Join(os.TempDir(), "aiadmin-bench-"+name+"-cpu.pprof")
	f, err := os.Create(path)
	if err != nil || pprof.StartCPUProfile(f) != nil {
		if f != nil {
			_ = f.Close()
		}
		return func() string { return "no CPU profile" }
	}
	return func() string {
		pprof.StopCPUProfile()
		_ = f.Close()
		byPkg, err := profileByPackage(path)
		if err != nil {
			return "profile " + path + " not read: " + err.Error()
		}
		return "this process by package (" + path + "): " + byPkg
	}
}

// temporalProfileStretch is how long each of the CPU profiles profileRemote takes in turn
// lasts.
const temporalProfileStretch = 5 * time.Second

// profileTemporal profiles the Temporal server's CPU through its net/http/pprof at addr
// (temporal-dev -pprof-port) until what it returns is called (profileRemote), then describes
// the profiles together by module (the server's own code, SQLite, gRPC, Go's runtime…) and
// the share of its samples through temporalPaths. addr "" (a server started elsewhere): no
// profile.
func profileTemporal(addr, name string) func() string {
	if addr == "" {
		return func() string { return "no profile of the Temporal server (TEMPORAL_DEV_PPROF unset)" }
	}
	return profileRemote(map[string]string{"temporal": addr}, name, func(paths []string, pattern string) string {
		byModule, err := profileBy(moduleOf, paths...)
		if err != nil {
			return "the Temporal server's profiles not read: " + err.Error()
		}
		through, err := sharesThrough(temporalPaths, paths...)
		if err != nil {
			return "the Temporal server's profiles not read: " + err.Error()
		}
		return fmt.Sprintf("the Temporal server by module (%d profiles of %s, %s): %s; its samples through %s", len(paths),
			temporalProfileStretch, pattern, byModule, through)
	})
}

// profileProcesses profiles the cluster's processes of one kind ("api", "worker": the
// processes whose name starts with it, PPROF_ADDR of each, from clusterAddrs.PProf) until
// what it returns is called (profileRemote), then describes their profiles together: by
// package (flat) and the share of their samples through appPaths. No addresses (a cluster
// started without -pprof): no profile.
func profileProcesses(pprofAddrs map[string]string, kind, name string) func() string {
	addrs := map[string]string{}
	for proc, addr := range pprofAddrs {
		if strings.HasPrefix(proc, kind+"-") {
			addrs[proc] = addr
		}
	}
	if len(addrs) == 0 {
		return func() string { return "no profile of the " + kind + " processes (the cluster serves none)" }
	}
	return profileRemote(addrs, name, func(paths []string, pattern string) string {
		byPkg, err := profileByPackage(paths...)
		if err != nil {
			return "the " + kind + " processes' profiles not read: " + err.Error()
		}
		through, err := sharesThrough(appPaths, paths...)
		if err != nil {
			return "the " + kind + " processes' profiles not read: " + err.Error()
		}
		return fmt.Sprintf("the %d %s processes by package (%d profiles of %s, %s): %s; their samples through %s",
			len(addrs), kind, len(paths), temporalProfileStretch, pattern, byPkg, through)
	})
}

// appPaths are the parts of an api's or worker's work whose share of its CPU (the samples
// whose stack passes through them) profileProcesses reports.
var appPaths = []profilePath{
	{"garbage collection's mark workers", `^runtime\.gcBgMarkWorker$`},
	{"serving HTTP (net/http)", `^net/http\.\(\*conn\)\.serve$`},
	{"pgx", `^github\.com/jackc/pgx/v5`},
	{"the Temporal SDK", `^go\.temporal\.io/sdk/`},
	{"JSON", `^encoding/json|^github\.com/go-json-experiment/json`},
}

// profileRemote profiles processes' CPU through their net/http/pprof (host:port by a name
// of each) until what it returns is called, in stretches of temporalProfileStretch, each
// process's stretches taken in turn and written to
// <tmp>/aiadmin-bench-<name>-<process>-<n>.pprof; what it returns lets the stretches under
// way end (so that no process is left profiling, and the measurement's last seconds are in),
// then describes them all with describe (the paths, and the pattern they match).
func profileRemote(addrs map[string]string, name string, describe func(paths []string, pattern string) string) func() string {
	procs := slices.Sorted(maps.Keys(addrs))
	for _, proc := range procs { // an earlier run's, which may have had more
		if old, err := filepath.Glob(filepath.Join(os.TempDir(), "aiadmin-bench-"+name+"-"+proc+"-*.pprof")); err == nil {
			for _, f := range old {
				_ = os.Remove(f)
			}
		}
	}
	pattern := filepath.Join(os.TempDir(), "aiadmin-bench-"+name+"-"+procs[0]+"-*.pprof")
	if len(procs) > 1 {
		pattern = filepath.Join(os.TempDir(), "aiadmin-bench-"+name+"-{"+strings.Join(procs, ",")+"}-*.pprof")
	}
	var stop atomic.Bool
	var mu sync.Mutex
	var paths []string
	var failures []error
	var wg sync.WaitGroup
	for proc, addr := range addrs {
		wg.Go(func() {
			for n := 1; !stop.Load(); n++ {
				path := filepath.Join(os.TempDir(), fmt.Sprintf("aiadmin-bench-%s-%s-%d.pprof", name, proc, n))
				err := fetchProfile(addr, path)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Errorf("%s: %w", proc, err))
				} else {
					paths = append(paths, path)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	return func() string {
		stop.Store(true)
		wg.Wait()
		if len(paths) == 0 {
			return fmt.Sprintf("no profile of %s (%v)", strings.Join(procs, ", "), errors.Join(failures...))
		}
		slices.Sort(paths)
		return describe(paths, pattern)
	}
}

// temporalPaths are the parts of the Temporal server's work whose share of its CPU (the samples
// whose stack passes through them) profileTemporal reports.
var temporalPaths = []profilePath{
	{"its SQL store (database/sql)", `^database/sql\.`},
	{"visibility records (start, search attributes, close)", `visibilityQueueTaskExecutor\)\.Execute$`},
	{"garbage collection's mark workers", `^runtime\.gcBgMarkWorker$`},
}

// profilePath is a part of a process's work, named, and the functions it passes through
// (`go tool pprof -focus`).
type profilePath struct{ name, focus string }

// sharesThrough is "name N%, …": for each part, the share of the profiles' samples whose stack
// passes through it.
func sharesThrough(parts []profilePath, paths ...string) (string, error) {
	out := make([]string, len(parts))
	for i, f := range parts {
		share, err := profileShare(f.focus, paths...)
		if err != nil {
			return "", err
		}
		out[i] = fmt.Sprintf("%s %.0f%%", f.name, share)
	}
	return strings.Join(out, ", "), nil
}

// profileShare is the share (%) of CPU profiles' samples whose stack passes through a function
// matching focus (`go tool pprof -focus`).
func profileShare(focus string, paths ...string) (float64, error) {
	raw, err := pprofTop([]string{"-focus=" + focus}, paths...)
	if err != nil {
		return 0, err
	}
	// With every node shown, "Showing nodes accounting for 3.30s, 22.77% of 14.49s total" is
	// the focused samples' share; no sample matched: "Showing nodes accounting for 0, 0% of …".
	m := regexp.MustCompile(`Showing nodes accounting for [^,]+, ([0-9.]+)% of`).FindSubmatch(raw)
	if m == nil {
		return 0, fmt.Errorf("pprof -focus=%s: no share in its output", focus)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// fetchProfile writes one CPU profile of temporalProfileStretch from the net/http/pprof at
// addr to path.
func fetchProfile(addr, path string) error {
	u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(temporalProfileStretch.Seconds()))
	resp, err := (&http.Client{Timeout: temporalProfileStretch + 30*time.Second}).Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", u, resp.Status)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}

// profileByPackage is CPU profiles' (merged) flat time summed by package, the 10 largest with their
// share of the samples, read with `go tool pprof -top`.
func profileByPackage(paths ...string) (string, error) {
	return profileBy(funcPackage, paths...)
}

// profileBy is the flat time of CPU profiles (merged) summed by what group names a function
// after, the 10 largest with their share of the samples, read with `go tool pprof -top`.
func profileBy(group func(fn string) string, paths ...string) (string, error) {
	raw, err := pprofTop(nil, paths...)
	if err != nil {
		return "", err
	}
	flat := map[string]time.Duration{}
	var total time.Duration
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") {
			continue
		}
		d, err := time.ParseDuration(f[0])
		if err != nil {
			continue
		}
		flat[group(strings.Join(f[5:], " "))] += d
		total += d
	}
	if total == 0 {
		return "", fmt.Errorf("no samples")
	}
	return fmt.Sprintf("%.1f s sampled: %s", total.Seconds(), topShares(flat, 10)), nil
}

// funcPackage is the package of a function as pprof names it:
// "github.com/jackc/pgx/v5/pgconn.(*PgConn).Exec" → "github.com/jackc/pgx/v5/pgconn".
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}

// pprofTop is `go tool pprof -top` of CPU profiles (merged), every node listed, none
// dropped as too small, with options added.
func pprofTop(options []string, paths ...string) ([]byte, error) {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0"}, options...)
	return exec.Command("go", append(args, paths...)...).Output()
}

// moduleOf is the module a function's package belongs to, as far as its path tells: a
// github.com or golang.org/x package by its first three elements, another host's by its first
// two ("go.temporal.io/server/service/history.(*x).y" → "go.temporal.io/server",
// "modernc.org/sqlite/lib.f" → "modernc.org/sqlite"), the standard library's by its first
// ("internal/runtime/syscall/linux.Syscall6" → "internal", "runtime.mallocgc" → "runtime").
func moduleOf(fn string) string {
	parts := strings.Split(funcPackage(fn), "/")
	n := 1
	switch {
	case parts[0] == "github.com" || parts[0] == "gitlab.com" || (parts[0] == "golang.org" && len(parts) > 1 && parts[1] == "x"):
		n = 3
	case strings.Contains(parts[0], "."):
		n = 2
	}
	return strings.Join(parts[:min(n, len(parts))], "/")
}

// TestFuncPackage: how a profile's functions are grouped, by package and by module.
func TestFuncPackage(t *testing.T) {
	for _, c := range []struct{ fn, pkg, module string }{
		{"github.com/jackc/pgx/v5/pgconn.(*PgConn).Exec", "github.com/jackc/pgx/v5/pgconn", "github.com/jackc/pgx"},
		{"runtime.mallocgc", "runtime", "runtime"},
		{"encoding/json.(*decodeState).object", "encoding/json", "encoding"},
		{"go.temporal.io/sdk/internal.func1", "go.temporal.io/sdk/internal", "go.temporal.io/sdk"},
		{"go.temporal.io/server/service/history.(*historyEngineImpl).Start", "go.temporal.io/server/service/history", "go.temporal.io/server"},
		{"modernc.org/sqlite/lib.Xsqlite3VdbeExec", "modernc.org/sqlite/lib", "modernc.org/sqlite"},
		{"golang.org/x/net/http2.(*Framer).ReadFrame", "golang.org/x/net/http2", "golang.org/x/net"},
		{"google.golang.org/grpc.(*Server).serveStreams", "google.golang.org/grpc", "google.golang.org/grpc"},
		{"internal/runtime/syscall/linux.Syscall6", "internal/runtime/syscall/linux", "internal"},
	} {
		if got := funcPackage(c.fn); got != c.pkg {
			t.Errorf("funcPackage(%q) = %q, want %q", c.fn, got, c.pkg)
		}
		if got := moduleOf(c.fn); got != c.module {
			t.Errorf("moduleOf(%q) = %q, want %q", c.fn, got, c.module)
		}
	}
}

// TestProfileProcesses: the cluster's processes of one kind are profiled through their
// net/http/pprof until the measurement ends, and described together by package, as the
// Temporal server is by module, each profile's files under the benchmark's name left alone by
// the other's; a kind the cluster serves no profiles of says so.
func TestProfileProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a 5 s profile")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	addrs := map[string]string{"api-1": strings.TrimPrefix(srv.URL, "http://"), "worker-1": "127.0.0.1:1"}

	busy := func() { // something for a profile to see
		until := time.Now().Add(time.Second)
		for n := 0; time.Now().Before(until); n++ {
			_ = strconv.Itoa(n)
		}
	}
	// One after the other: a process takes one CPU profile at a time.
	stop := profileProcesses(addrs, "api", "test-profile-processes")
	busy()
	got := stop()
	stopTemporal := profileTemporal(addrs["api-1"], "test-profile-processes") // the same server, as the Temporal server's
	busy()
	gotTemporal := stopTemporal()
	require.Contains(t, gotTemporal, "the Temporal server by module (1 profiles of 5s, ")
	require.Regexp(t, `its samples through its SQL store \(database/sql\) \d+%`, gotTemporal)
	require.Contains(t, got, "the 1 api processes by package (1 profiles of 5s, ")
	require.Regexp(t, `s sampled: .*%`, got)
	require.Regexp(t, `their samples through garbage collection's mark workers \d+%, serving HTTP \(net/http\) \d+%`, got)
	files, err := filepath.Glob(filepath.Join(os.TempDir(), "aiadmin-bench-test-profile-processes-api-1-*.pprof"))
	require.NoError(t, err)
	require.Len(t, files, 1, "one stretch, written for go tool pprof")
	temporalFiles, err := filepath.Glob(filepath.Join(os.TempDir(), "aiadmin-bench-test-profile-processes-temporal-*.pprof"))
	require.NoError(t, err)
	require.Len(t, temporalFiles, 1, "the api's files and the server's under one name do not remove each other")
	for _, f := range append(files, temporalFiles...) {
		_ = os.Remove(f)
	}

	require.Equal(t, "no profile of the api processes (the cluster serves none)",
		profileProcesses(map[string]string{"worker-1": "127.0.0.1:1"}, "api", "test-profile-processes")())
}
