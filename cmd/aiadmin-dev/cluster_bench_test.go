package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// clusterBenchEnv=1 (`make bench CLUSTER=1`) runs the benchmarks that can against one
// production-like cluster (startCluster: Temporal on PostgreSQL, 2 api and 3 worker processes
// behind the round-robin proxy), started by the first of them and stopped after the last
// (TestMain). Without it nothing changes.
const clusterBenchEnv = "AIADMIN_BENCH_CLUSTER"

// benchOnCluster reports whether the benchmarks run against the cluster.
func benchOnCluster() bool {
	return os.Getenv(clusterBenchEnv) == "1" && os.Getenv(clusterChildEnv) == ""
}

// TestMain stops the benchmarks' cluster, if one was started, after all tests and benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := stopBenchCluster(code != 0 || benchStalls.Load() > 0); err != nil {
		fmt.Fprintln(os.Stderr, "bench cluster:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// benchCluster is the cluster the benchmarks share, with the fakes served by this process (as
// the chaos suite does) so that a benchmark can stamp each entity webhook's 2xx and read each
// sent message's time: the fake YClients with YClients' 5 requests/s limit, its entity webhooks
// sent at once through hooks; the fake WhatsApp server that every worker's shards talk to.
type benchCluster struct {
	c        *cluster
	dsn      string
	dir      string
	fake     *yclientsfake.Fake
	fakeURL  string
	hooks    *hookObserver
	sim      *simserver.Server
	simURL   string
	store    *db.Store
	temporal client.Client
	hc       *http.Client
	servers  []*http.Server
	next     atomic.Int64 // salon IDs handed out
}

var benchClusterOnce struct {
	sync.Mutex
	started bool
	bc      *benchCluster
	err     error
}

// clusterForBench starts the cluster on the first call and returns it.
func clusterForBench(b *testing.B) *benchCluster {
	b.Helper()
	st := &benchClusterOnce
	st.Lock()
	defer st.Unlock()
	if !st.started {
		st.started = true
		began := time.Now()
		st.bc, st.err = startBenchCluster()
		if st.err == nil {
			fmt.Printf("bench cluster: ready in %s (Temporal on PostgreSQL, %d api + %d worker processes behind the proxy, "+
				"fake YClients 5 req/s and fake WhatsApp server in the bench process)\n",
				time.Since(began).Round(time.Millisecond), st.bc.c.opts.APIs, st.bc.c.opts.Workers)
		}
	}
	if st.err != nil {
		b.Fatalf("the bench cluster did not start: %v", st.err)
	}
	return st.bc
}

// startBenchCluster starts the fakes and the cluster on databases of its own.
func startBenchCluster() (_ *benchCluster, err error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	temporalBin := filepath.Join(root, "bin", "temporal-dev")
	if _, err := os.Stat(temporalBin); err != nil {
		return nil, fmt.Errorf("%s is missing: run `make temporal-dev` (make bench does)", temporalBin)
	}
	bc := &benchCluster{hc: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	defer func() {
		if err != nil {
			_ = bc.stop()
		}
	}()
	if bc.dsn, err = benchClusterDSN(); err != nil {
		return nil, err
	}
	if bc.dir, err = os.MkdirTemp("", "aiadmin-bench-cluster-"); err != nil {
		return nil, err
	}
	publicAddr, err := resolveAddr("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if err := bc.startFakes("http://" + publicAddr); err != nil {
		return nil, err
	}
	bc.c, err = startCluster(context.Background(), clusterOptions{
		Addr: publicAddr, TemporalAddr: "127.0.0.1:0", TemporalPProfAddr: "127.0.0.1:0", PProf: true, DatabaseURL: bc.dsn, Dir: bc.dir, Fresh: true,
		APIs: 2, Workers: 3, Shards: 4, ShardRetry: time.Second,
		TemporalBin: temporalBin, TemporalConfig: filepath.Join(root, "temporal-dev.yaml"),
		Self:        []string{os.Args[0], "-test.run=^TestClusterChildProcess$", "-test.count=1"},
		YClientsURL: bc.fakeURL, WhatsAppURL: bc.simURL,
		// IP_RATE_LIMIT=0: every owner of a benchmark comes from 127.0.0.1 through one proxy.
		Env: []string{clusterChildEnv + "=1", "IP_RATE_LIMIT=0"},
	}, testLogger(slog.LevelInfo))
	if err != nil {
		return nil, fmt.Errorf("%w; logs:\n%s", err, clusterLogTails(bc.dir))
	}
	if bc.store, err = db.Open(context.Background(), bc.dsn); err != nil {
		return nil, err
	}
	// The cluster's processes' compression (they inherit this environment), for the skeleton.
	compression := app.Compression(&config.Config{TemporalCompression: os.Getenv("TEMPORAL_GRPC_COMPRESSION")})
	bc.temporal, err = client.Dial(client.Options{HostPort: bc.c.Addrs.Temporal, Namespace: bc.c.Addrs.Namespace,
		Logger:            tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: compression}})
	if err != nil {
		return nil, err
	}
	bc.next.Store(4_000_000 + int64(os.Getpid()%1000)*1000)
	return bc, nil
}

// benchClusterDSN is a database of this run's own on DATABASE_URL's server (dbtest's default).
func benchClusterDSN() (string, error) {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = dbtest.DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	u.Path = fmt.Sprintf("/aiadmin_bench_cluster_%d", os.Getpid())
	return u.String(), nil
}

// startFakes serves the fake YClients and the fake WhatsApp server on free ports.
func (bc *benchCluster) startFakes(public string) error {
	bc.hooks = &hookObserver{base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute},
		acked: map[int64]time.Time{}}
	bc.fake = yclientsfake.New(yclientsfake.Options{
		PartnerToken: clusterPartnerToken, ApplicationID: 1, EntityDelay: -1, // RPS: YClients' 5
		HTTPClient:  &http.Client{Timeout: 10 * time.Second, Transport: bc.hooks},
		RegisterURL: public + "/marketplace/register", LifecycleURL: public + "/marketplace/webhook",
	})
	bc.fake.SeedDemo()
	bc.sim = simserver.New(simserver.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var err error
	if bc.fakeURL, err = bc.serve(bc.fake); err != nil {
		return err
	}
	bc.simURL, err = bc.serve(bc.sim)
	return err
}

func (bc *benchCluster) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	bc.servers = append(bc.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

// stopBenchCluster stops the benchmarks' cluster, if one was started, drops its databases and
// checks that none of its processes is left. When a benchmark failed or a connect page stalled
// (keep), the processes' logs are kept (copied out of the cluster's folder, which goes) and
// their folder printed.
func stopBenchCluster(keep bool) error {
	st := &benchClusterOnce
	st.Lock()
	defer st.Unlock()
	if st.bc == nil {
		return nil
	}
	began := time.Now()
	if keep && st.bc.dir != "" {
		why := fmt.Sprintf("a benchmark failed or %d connect pages stalled", benchStalls.Load())
		if kept, err := keepLogs(st.bc.dir); err != nil {
			fmt.Printf("bench cluster: %s; keeping its logs: %v\n", why, err)
		} else {
			fmt.Printf("bench cluster: %s; the cluster's logs are kept in %s\n", why, kept)
		}
	}
	err := st.bc.stop()
	if err == nil {
		fmt.Printf("bench cluster: stopped in %s, no process of it left, its databases dropped\n",
			time.Since(began).Round(time.Millisecond))
	}
	st.bc = nil
	return err
}

func (bc *benchCluster) stop() error {
	if bc.temporal != nil {
		bc.temporal.Close()
	}
	if bc.store != nil {
		bc.store.Close()
	}
	var errs []error
	if bc.c != nil {
		bc.c.Stop()
		if left := markedProcesses(bc.dir); len(left) > 0 {
			errs = append(errs, fmt.Errorf("processes left after the stop: %v", left))
		}
	}
	for _, s := range bc.servers {
		_ = s.Close()
	}
	if bc.fake != nil {
		bc.fake.Close()
	}
	if bc.dsn != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		errs = append(errs, dropDatabases(ctx, bc.dsn, clusterDatabases(bc.dsn)...))
	}
	if bc.dir != "" {
		errs = append(errs, os.RemoveAll(bc.dir))
	}
	return errors.Join(errs...)
}

// installSalon adds a salon to the fake (a copy of the Moscow demo salon) and installs it
// through the public contract as its owner would (marketplace redirect, register page, the
// connect page's websocket, the QR scanned on the fake WhatsApp server); then it turns
// pacing and the daily cap off and returns the salon and its entity webhook URL.
func (bc *benchCluster) installSalon(b *testing.B) (int64, string) {
	b.Helper()
	demo, ok := bc.fake.Salon(yclientsfake.DemoSalonMoscow)
	require.True(b, ok, "the fake has the demo salons")
	demo.ID, demo.Records, demo.Status = bc.next.Add(1), nil, ""
	bc.fake.AddSalon(demo)
	phone := fmt.Sprintf("7998%07d", demo.ID%10_000_000)
	began := time.Now()
	var qrAfter time.Duration // since the owner first opened the page, to the QR the phone scanned
	scan := func() error {
		qrAfter = time.Since(began)
		return bc.sim.Scan(demo.ID, phone, "Салон")
	}
	// A connect page that shows no QR code is opened again, as P2's owners do: a stalled page
	// is a slow install, which the benchmark reports, not a failure of the benchmark.
	var stalls []error
	for {
		err := ownerInstall(bc.hc, bc.fakeURL, bc.c.Addrs.PublicURL, demo.ID, scan)
		if err == nil {
			break
		}
		if !stalledPage(err) || len(stalls) == maxSetupStalls {
			require.NoError(b, err, "install salon %d through the cluster (after %d stalled pages: %v)", demo.ID, len(stalls), stalls)
		}
		stalls = append(stalls, err)
		benchStalls.Add(1)
		fmt.Printf("bench cluster: %s salon %d's connect page stalled (%v); the owner opens it again\n",
			time.Now().Format(time.TimeOnly), demo.ID, err)
	}
	// What the benchmark's own owner waited, printed for every install: the cluster's earlier
	// stalls came after a burst of other work, and this is how a slow page shows before it stalls.
	fmt.Printf("bench cluster: %s salon %d installed through the proxy: QR after %s, active after %s\n",
		time.Now().Format(time.TimeOnly), demo.ID, qrAfter.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	require.NoError(b, bc.store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
		SalonID: demo.ID, ReminderDayHour: 18, QuietFromMinute: 21 * 60, QuietToMinute: 9 * 60,
		PerMinute: 0, DailyCap: 0, Templates: []byte("{}")}))
	for _, cb := range slices.Backward(bc.fake.Callbacks()) {
		if cb.SalonID == demo.ID && len(cb.WebhookURLs) > 0 {
			return demo.ID, cb.WebhookURLs[0]
		}
	}
	b.Fatalf("no activation callback for salon %d", demo.ID)
	return 0, ""
}

// keepLogs copies the *.log files of dir into a new folder beside it and returns that folder.
// Only the logs: the cluster's folder also holds its keys.
func keepLogs(dir string) (string, error) {
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return "", err
	}
	kept, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+"-logs-")
	if err != nil {
		return "", err
	}
	for _, l := range logs {
		if err := copyFile(l, filepath.Join(kept, filepath.Base(l))); err != nil {
			return kept, err
		}
	}
	return kept, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchStalls counts the connect pages that stalled in this run's benchmarks (a websocket that
// showed the owner nothing it waited for).
var benchStalls atomic.Int64

// maxSetupStalls is how many stalled connect pages a benchmark's own install rides out.
const maxSetupStalls = 3

// stalledPage reports whether ownerInstall failed because the connect page's websocket sent
// nothing it waited for (a read that timed out), as opposed to an error the page showed or
// refused. A page load that timed out is not one: openConnectPage reports it as text without
// the URL's query, and a bare *url.Error (which names its URL, signed user data and all) is
// never ridden out, as the benchmark prints the errors it rides out.
func stalledPage(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		return false
	}
	var ne net.Error
	return errors.Is(err, errPageStalled) || errors.As(err, &ne) && ne.Timeout()
}

// inboxPending is how many of the salon's webhooks the cluster's dispatcher has not handed on.
func (bc *benchCluster) inboxPending(b *testing.B, salon int64) int64 {
	n, err := bc.store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: salon, State: "pending"})
	require.NoError(b, err)
	return n
}

// sent is what the fake WhatsApp server recorded as sent for the salon: client phone → times.
func (bc *benchCluster) sent(salon int64) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, m := range bc.sim.Messages(salon) {
		out[m.Phone] = append(out[m.Phone], m.At)
	}
	return out
}

// notOnCluster prints, for `make bench CLUSTER=1`, why a benchmark runs on the single-process
// stack instead (skip false) or is skipped (skip true).
func notOnCluster(b *testing.B, p, why string, skip bool) {
	b.Helper()
	if !benchOnCluster() {
		return
	}
	if skip {
		fmt.Printf("%s [cluster]: skipped on the cluster: %s\n", p, why)
		b.Skipf("not on the cluster: %s", why)
	}
	fmt.Printf("%s [cluster]: runs on the single-process stack, not on the cluster: %s\n", p, why)
}

// clusterMark is the P line's marker: " [cluster]" on the cluster, "" otherwise.
func clusterMark() string {
	if benchOnCluster() {
		return " [cluster]"
	}
	return ""
}

// measure starts measuring the CPU time each of the cluster's processes (api, worker, proxy
// and Temporal grouped by kind), this bench process, PostgreSQL and the whole machine use; the
// function it returns ends the measurement and describes it.
func (bc *benchCluster) measure() func() string {
	done := measureCPU(bc.pids())
	return func() string { return done().String() }
}

// databaseLabels names the cluster's databases for samplePostgres: the application's ("app"),
// Temporal's ("temporal") and its visibility store's ("visibility").
func (bc *benchCluster) databaseLabels() map[string]string {
	names := clusterDatabases(bc.dsn)
	return map[string]string{names[0]: "app", names[1]: "temporal", names[2]: "visibility"}
}

// pids are the processes whose CPU the cluster's benchmarks count, by name: this bench process
// and each of the cluster's.
func (bc *benchCluster) pids() map[string]int {
	pids := map[string]int{"bench process": os.Getpid()}
	for name, pid := range bc.c.Addrs.PIDs {
		pids[name] = pid
	}
	return pids
}

// cpuUse is the CPU time kinds of processes used over one or more measured stretches, and how
// busy the machine was meanwhile.
type cpuUse struct {
	used        map[string]time.Duration // by kind: a name's part before its first "-"
	wall        time.Duration
	busy, total float64 // the machine's busy and total clock ticks
	stretches   int
}

// add adds another measurement's figures to u.
func (u *cpuUse) add(o cpuUse) {
	if u.used == nil {
		u.used = map[string]time.Duration{}
	}
	for k, d := range o.used {
		u.used[k] += d
	}
	u.wall += o.wall
	u.busy += o.busy
	u.total += o.total
	u.stretches += o.stretches
}

func (u cpuUse) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(u.used)) {
		parts = append(parts, fmt.Sprintf("%s %.1f s", k, u.used[k].Seconds()))
	}
	over := fmt.Sprintf("%.1f s", u.wall.Seconds())
	if u.stretches > 1 {
		over += fmt.Sprintf(" (%d rounds)", u.stretches)
	}
	return fmt.Sprintf("CPU over %s: %s; the machine %.0f%% busy (all processes, %d cores)",
		over, strings.Join(parts, ", "), 100*u.busy/max(u.total, 1), runtime.NumCPU())
}

// measureCPU starts measuring the CPU time the processes of pids use, summed by kind (a name's
// part before its first "-": worker-1 and worker-2 are "worker"), PostgreSQL's (every process
// named postgres) and how busy the machine is; the function it returns ends the measurement.
func measureCPU(pids map[string]int) func() cpuUse {
	snap := func() map[string]time.Duration {
		out := map[string]time.Duration{}
		for name, pid := range pids {
			kind, _, _ := strings.Cut(name, "-")
			out[kind] += procCPU(pid)
		}
		// PostgreSQL is every process named postgres, the application's database and (on
		// the cluster) Temporal's alike. A backend that ends during the measurement is gone
		// from the second snapshot, and the postmaster, its parent, has its CPU among its
		// reaped children's: counting each process's children too, the difference holds what
		// every backend used within the measurement, the ended ones included.
		for _, pid := range processesNamed("postgres") {
			out["PostgreSQL"] += procCPUWithChildren(pid)
		}
		return out
	}
	before, began := snap(), time.Now()
	busy0, total0 := machineCPU()
	return func() cpuUse {
		after := snap()
		busy1, total1 := machineCPU()
		u := cpuUse{used: map[string]time.Duration{}, wall: time.Since(began), busy: busy1 - busy0, total: total1 - total0,
			stretches: 1}
		for k, d := range after {
			u.used[k] = d - before[k]
		}
		return u
	}
}

// processesNamed are the IDs of the running processes whose command name is name.
func processesNamed(name string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == name {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procCPU is the CPU time (user and system) a process has used so far; 0 when it is gone.
func procCPU(pid int) time.Duration {
	own, _ := procTimes(pid)
	return own
}

// procCPUWithChildren is procCPU with the CPU time of the process's ended children that it
// has waited for.
func procCPUWithChildren(pid int) time.Duration {
	own, children := procTimes(pid)
	return own + children
}

// procTimes are a process's own CPU time (user and system) and that of its ended, waited-for
// children, from /proc/<pid>/stat; 0 when it is gone.
func procTimes(pid int) (own, children time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0
	}
	ticks := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64) // in clock ticks (USER_HZ 100)
		return time.Duration(n) * (time.Second / 100)
	}
	// utime, stime, cutime, cstime: fields 14 to 17
	return ticks(11) + ticks(12), ticks(13) + ticks(14)
}

// machineCPU is the machine's busy and total CPU time so far, in clock ticks (/proc/stat).
func machineCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}
