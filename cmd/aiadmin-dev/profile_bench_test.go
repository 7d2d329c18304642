package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
	cpu := measureCPU(singlePIDs())
	return func() string {
		out := cpu().String()
		return out + "; " + stopProfile()
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

// profileByPackage is a CPU profile's flat time summed by package, the 10 largest with their
// share of the samples, read with `go tool pprof -top`.
func profileByPackage(path string) (string, error) {
	raw, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=1000000", path).Output()
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
		flat[funcPackage(strings.Join(f[5:], " "))] += d
		total += d
	}
	if total == 0 {
		return "", fmt.Errorf("no samples")
	}
	pkgs := slices.Collect(maps.Keys(flat))
	slices.SortFunc(pkgs, func(a, b string) int { return cmp.Or(cmp.Compare(flat[b], flat[a]), cmp.Compare(a, b)) })
	var parts []string
	for _, p := range pkgs[:min(10, len(pkgs))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", p, 100*float64(flat[p])/float64(total)))
	}
	return fmt.Sprintf("%.1f s sampled: %s", total.Seconds(), strings.Join(parts, ", ")), nil
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

func TestFuncPackage(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/jackc/pgx/v5/pgconn.(*PgConn).Exec": "github.com/jackc/pgx/v5/pgconn",
		"runtime.mallocgc":                    "runtime",
		"encoding/json.(*decodeState).object": "encoding/json",
		"go.temporal.io/sdk/internal.func1":   "go.temporal.io/sdk/internal",
	} {
		if got := funcPackage(fn); got != want {
			t.Errorf("funcPackage(%q) = %q, want %q", fn, got, want)
		}
	}
}
