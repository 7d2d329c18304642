package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

// chaosEnv selects the fault-injection suite's size: "full" (`make chaos`) or "short"
// (`make test`); without it TestChaos skips.
const chaosEnv = "AIADMIN_CHAOS"

// chaosSize is how much each scenario does.
type chaosSize struct {
	name                   string
	r1Installs, r1Bookings int
	r1Kills                int
	r2Installs             int
	r3Bookings             int
	r4Down                 time.Duration
	r4Webhooks             int
	r5Restarts, r5Bookings int
	r6Mutations            int
	r9Bookings             int
	// settle bounds how long a scenario waits for everything to be delivered.
	settle time.Duration
}

var chaosSizes = map[string]chaosSize{
	"full": {name: "full", r1Installs: 100, r1Bookings: 300, r1Kills: 3, r2Installs: 10, r3Bookings: 200,
		r4Down: 60 * time.Second, r4Webhooks: 500, r5Restarts: 2, r5Bookings: 120, r6Mutations: 400, r9Bookings: 100,
		settle: 4 * time.Minute},
	"short": {name: "short", r1Installs: 10, r1Bookings: 30, r1Kills: 3, r2Installs: 3, r3Bookings: 20,
		r4Down: 20 * time.Second, r4Webhooks: 50, r5Restarts: 1, r5Bookings: 30, r6Mutations: 80, r9Bookings: 10,
		settle: 3 * time.Minute},
}

// TestChaos is the fault-injection suite (`make chaos`; `make test` runs its short size):
// real processes (its own PostgreSQL server, Temporal on it, 2 api and 3 worker processes
// behind the proxy) and the fakes served by this process, so that it can read what they
// received. Each scenario prints one line "R<n>: <figures>" and fails on any loss or
// duplicate, naming the salon, the record and the kind of message. R7 runs after the others:
// it scans what they produced. R9 needs no cluster.
func TestChaos(t *testing.T) {
	size, ok := chaosSizes[os.Getenv(chaosEnv)]
	switch {
	case os.Getenv(clusterChildEnv) != "" || os.Getenv(shardWorkerEnv) != "":
		t.Skip("inside a helper process")
	case !ok:
		t.Skipf("%s=full|short runs the fault-injection suite (make chaos)", chaosEnv)
	case testing.Short():
		t.Skip("starts a cluster of processes")
	}
	s := &chaosSuite{parent: t, size: size}
	scenarios := []struct {
		name string
		run  func(*testing.T, *chaosSuite)
	}{
		{"R1_crash", runR1}, {"R2_flaky_yclients", runR2}, {"R3_reorder", runR3},
		{"R4_temporal_down", runR4}, {"R5_postgres_restart", runR5}, {"R6_bad_input", runR6},
		{"R8_uninstall", runR8}, {"R7_secrets", runR7}, {"R9_long_pause", runR9},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, s) })
	}
}

// chaosSuite is the cluster and the fakes the scenarios share, started by the first scenario
// that needs them. Each scenario uses salons of its own.
type chaosSuite struct {
	parent *testing.T
	size   chaosSize
	once   sync.Once
	ready  bool

	pg       *ownPostgres
	c        *cluster
	temporal client.Client
	store    *db.Store
	hc       *http.Client

	fake    *yclientsfake.Fake
	fakeURL string
	apiLog  *requestTimes // every YClients API request the fake received, for its rate
	hookLog *hookTimes    // how long our webhook endpoint took to answer the fake
	sim     *simserver.Server
	simURL  string
	owners  *chaosOwners // the owners' second channel (OWNER_WEBHOOK_URL): re-link links

	nextSalon, nextPhone atomic.Int64
	// ownerRestarts counts the times an owner had to open the connect page again (a failed
	// installation, a page that stalled).
	ownerRestarts atomic.Int64
	seen          seenSecrets // what the suite saw that must never be in clear (R7)
	activeMu      sync.Mutex
	activeSeen    map[int64]bool // installations seen active
	lostMu        sync.Mutex
	lostAt        map[int64]time.Time // when a booking's state was last asked for (lost)
}

// up starts the cluster once; a scenario that needs it calls up first.
func (s *chaosSuite) up(t *testing.T) {
	t.Helper()
	s.once.Do(func() { s.start(t) })
	if !s.ready {
		t.Fatal("the chaos cluster did not start (see the first scenario)")
	}
}

func (s *chaosSuite) start(t *testing.T) {
	began := time.Now()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	temporalBin := filepath.Join(root, "bin", "temporal-dev")
	if _, err := os.Stat(temporalBin); err != nil {
		t.Fatalf("%s is missing: run `make temporal-dev` (make chaos does)", temporalBin)
	}
	if s.pg, err = startOwnPostgres(s.parent.Cleanup); errors.Is(err, errNoPostgres) {
		t.Skip(err)
	}
	require.NoError(t, err)
	s.hc = &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	publicAddr, err := resolveAddr("127.0.0.1:0")
	require.NoError(t, err)
	s.startFakes(t, publicAddr)
	dir := os.Getenv("AIADMIN_CHAOS_LOGS") // keep the children's logs there (default: a temporary folder)
	if dir == "" {
		dir = s.parent.TempDir()
	}
	opts := clusterOptions{
		Addr: publicAddr, TemporalAddr: "127.0.0.1:0", DatabaseURL: s.pg.URL("aiadmin_chaos"), Dir: dir,
		APIs: 2, Workers: 3, Shards: 4, ShardRetry: time.Second,
		TemporalBin: temporalBin, TemporalConfig: filepath.Join(root, "temporal-dev.yaml"),
		Self:        []string{os.Args[0], "-test.run=^TestClusterChildProcess$", "-test.count=1"},
		YClientsURL: s.fakeURL, WhatsAppURL: s.simURL,
		// IP_RATE_LIMIT=0: every owner of the suite comes from 127.0.0.1 through one proxy; in
		// production each comes from an address of their own. NOTICE_MERGE_WINDOW=2s: a change
		// notice waits 2 s (not 2 min) for more changes, so the suite need not wait minutes.
		Env: []string{clusterChildEnv + "=1", "OWNER_WEBHOOK_URL=" + s.owners.url, "IP_RATE_LIMIT=0",
			"NOTICE_MERGE_WINDOW=2s"},
	}
	c, err := startCluster(context.Background(), opts, testLogger(slog.LevelInfo))
	if err != nil {
		t.Logf("cluster logs (%s):\n%s", dir, clusterLogTails(dir))
	}
	require.NoError(t, err)
	s.c = c
	s.parent.Cleanup(func() {
		c.Stop()
		if s.parent.Failed() {
			s.parent.Logf("cluster logs (%s):\n%s", dir, clusterLogTails(dir))
		}
	})
	box, err := secretbox.New(s.secretKey(t))
	require.NoError(t, err)
	s.temporal, err = client.Dial(client.Options{HostPort: c.Addrs.Temporal, Namespace: c.Addrs.Namespace,
		DataConverter: pii.DataConverter(box), Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	require.NoError(t, err)
	s.parent.Cleanup(s.temporal.Close)
	s.store, err = db.Open(context.Background(), opts.DatabaseURL)
	require.NoError(t, err)
	s.parent.Cleanup(s.store.Close)
	s.nextSalon.Store(3_000_000 + int64(time.Now().Unix()%1000)*1000)
	s.ready = true
	t.Logf("chaos cluster ready in %s (%s size): %s, logs in %s", time.Since(began).Round(time.Millisecond), s.size.name,
		c.Addrs.PublicURL, dir)
}

// startFakes serves the fake YClients (YClients' real 5 requests/s limit, webhooks 1 s after
// a change, Altegio's retries), the fake WhatsApp server and the owners' webhook receiver in
// this process, on real HTTP.
func (s *chaosSuite) startFakes(t *testing.T, publicAddr string) {
	public := "http://" + publicAddr
	s.hookLog = &hookTimes{}
	s.fake = yclientsfake.New(yclientsfake.Options{
		PartnerToken: clusterPartnerToken, ApplicationID: 1, EntityDelay: time.Second,
		HTTPClient:  &http.Client{Timeout: 10 * time.Second, Transport: s.hookLog},
		RegisterURL: public + "/marketplace/register", LifecycleURL: public + "/marketplace/webhook",
	})
	s.fake.SeedDemo()
	s.apiLog = &requestTimes{}
	s.fakeURL = serveLocal(t, s.parent, s.apiLog.wrap(s.fake))
	s.parent.Cleanup(s.fake.Close)
	s.sim = simserver.New(simserver.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.simURL = serveLocal(t, s.parent, s.sim)
	s.owners = &chaosOwners{}
	s.owners.url = serveLocal(t, s.parent, s.owners)
}

// serveLocal serves h on a free port until the test owner ends.
func serveLocal(t *testing.T, owner testing.TB, h http.Handler) string {
	addr, err := resolveAddr("127.0.0.1:0")
	require.NoError(t, err)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	owner.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// secretKey is the cluster's SECRET_KEY, to read the encrypted payloads of its workflows.
func (s *chaosSuite) secretKey(t *testing.T) []byte {
	for _, kv := range s.c.env {
		if v, ok := strings.CutPrefix(kv, "SECRET_KEY="); ok {
			k, err := base64.StdEncoding.DecodeString(v)
			require.NoError(t, err)
			return k
		}
	}
	t.Fatal("the cluster has no SECRET_KEY")
	return nil
}

// report prints a scenario's line for `make chaos` (`make test` shows it when the test fails).
func report(_ *testing.T, format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

// salonID hands out salon IDs no other scenario uses (consecutive: spread over the shards).
func (s *chaosSuite) salonID() int64 { return s.nextSalon.Add(1) }
