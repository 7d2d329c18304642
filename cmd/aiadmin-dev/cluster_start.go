package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/workflows"
)

const (
	clusterNamespace    = "default"
	clusterPartnerToken = "demo-partner-token"
	clusterAdminToken   = "demo-admin-token"
	// clusterMarkerEnv is set in every child's environment to the cluster's folder, so that a
	// test can tell that none of them is left.
	clusterMarkerEnv = "AIADMIN_CLUSTER"
	clusterStartWait = 90 * time.Second
)

// cluster is a started cluster: its children, in start order, and its addresses.
type cluster struct {
	opts   clusterOptions
	logger *slog.Logger
	Addrs  clusterAddrs
	// env is what every api and worker process gets, besides its own HTTP_ADDR.
	env      []string
	apiAddrs []string
	procs    []*child
	mu       sync.Mutex // guards procs
	exited   chan *child
	stopping atomic.Bool
	stopOnce sync.Once
}

// startCluster starts Temporal on PostgreSQL, the fakes, the api and worker processes and the
// proxy, and returns once every one of them answers; on failure it stops what it started.
func startCluster(ctx context.Context, opts clusterOptions, logger *slog.Logger) (_ *cluster, err error) {
	began := time.Now()
	c, err := newCluster(opts, logger)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, clusterStartWait)
	defer cancel()
	if err := c.prepareDatabases(ctx); err != nil {
		return nil, err
	}
	if err := c.startServices(); err != nil {
		return nil, err
	}
	ready := filepath.Join(c.opts.Dir, "temporal.ready")
	if err := c.waitFor(ctx, "Temporal", func(context.Context) bool { return fileExists(ready) }); err != nil {
		return nil, err
	}
	if err := c.startApp(); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	c.Addrs.ReadyMillis = time.Since(began).Milliseconds()
	logger.Info("cluster ready", "after", time.Since(began).Round(time.Millisecond))
	return c, nil
}

// newCluster resolves the addresses (port 0: a free one), prepares the folder and the keys.
func newCluster(opts clusterOptions, logger *slog.Logger) (*cluster, error) {
	opts.defaults()
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	for _, a := range []*string{&opts.Addr, &opts.TemporalAddr, &opts.UIAddr, &opts.TemporalPProfAddr, &opts.FakeYClientsAddr, &opts.FakeWhatsAppAddr} {
		if *a, err = resolveAddr(*a); err != nil {
			return nil, err
		}
	}
	tdb, err := temporalDatabaseURL(opts.DatabaseURL)
	if err != nil {
		return nil, err
	}
	c := &cluster{opts: opts, logger: logger, exited: make(chan *child, opts.APIs+opts.Workers+4)}
	c.Addrs = clusterAddrs{
		PublicURL: "http://" + opts.Addr, Temporal: opts.TemporalAddr, Namespace: clusterNamespace,
		FakeYClients: "http://" + opts.FakeYClientsAddr, FakeWhatsApp: "http://" + opts.FakeWhatsAppAddr,
		DatabaseURL: opts.DatabaseURL, TemporalDatabase: tdb, Logs: dir, PIDs: map[string]int{},
	}
	if opts.UIAddr != "" {
		c.Addrs.WebUI = "http://" + opts.UIAddr
	}
	c.Addrs.TemporalPProf = opts.TemporalPProfAddr
	if opts.YClientsURL != "" {
		c.Addrs.FakeYClients = opts.YClientsURL
	}
	if opts.WhatsAppURL != "" {
		c.Addrs.FakeWhatsApp = opts.WhatsAppURL
	}
	for range opts.APIs {
		a, err := resolveAddr("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		c.apiAddrs = append(c.apiAddrs, a)
		c.Addrs.APIs = append(c.Addrs.APIs, "http://"+a)
	}
	if err := c.buildEnv(); err != nil {
		return nil, err
	}
	return c, nil
}

// defaults fills in what the zero options leave out: the sizes of `make cluster`.
func (o *clusterOptions) defaults() {
	if o.APIs < 1 {
		o.APIs = 2
	}
	if o.Workers < 1 {
		o.Workers = 3
	}
	if o.Shards < 1 {
		o.Shards = 4
	}
	if o.ShardRetry <= 0 {
		o.ShardRetry = time.Second
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
}

// buildEnv is the configuration every api and worker process shares, as a deployment would
// set it: one database, one Temporal, one public URL, the same keys and shard count.
func (c *cluster) buildEnv() error {
	secret, err := loadOrCreateKey(filepath.Join(c.opts.Dir, "secret.key"))
	if err != nil {
		return err
	}
	session, err := loadOrCreateKey(filepath.Join(c.opts.Dir, "session.key"))
	if err != nil {
		return err
	}
	c.env = []string{
		"DATABASE_URL=" + c.opts.DatabaseURL,
		"TEMPORAL_ADDRESS=" + c.opts.TemporalAddr,
		"TEMPORAL_NAMESPACE=" + clusterNamespace,
		"TEMPORAL_TASK_QUEUE=" + workflows.TaskQueue,
		"PUBLIC_URL=" + c.Addrs.PublicURL,
		"DEMO=false",
		"YCLIENTS_BASE_URL=" + c.Addrs.FakeYClients,
		"YCLIENTS_PARTNER_TOKEN=" + clusterPartnerToken,
		"YCLIENTS_APPLICATION_ID=1",
		"SECRET_KEY=" + secret,
		"SESSION_SECRET=" + session,
		"ADMIN_TOKEN=" + clusterAdminToken,
		"TEMPORAL_UI_ORIGIN=" + c.Addrs.WebUI, // the codec endpoint's CORS (empty: headless)
		"WHATSAPP_MODE=simserver",
		"WHATSAPP_SIM_URL=" + c.Addrs.FakeWhatsApp,
		"WHATSAPP_SHARDS=" + strconv.Itoa(c.opts.Shards),
		"WHATSAPP_SHARD_RETRY=" + c.opts.ShardRetry.String(),
		"DATA_DIR=" + c.opts.Dir,
		"LOG_LEVEL=" + c.opts.LogLevel,
		clusterMarkerEnv + "=" + c.opts.Dir,
	}
	c.env = append(c.env, c.opts.Env...)
	return nil
}

// prepareDatabases drops them first with -fresh, then creates and migrates the application's.
func (c *cluster) prepareDatabases(ctx context.Context) error {
	if c.opts.Fresh {
		if err := dropDatabases(ctx, c.opts.DatabaseURL, clusterDatabases(c.opts.DatabaseURL)...); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(c.opts.Dir, "fake-yclients.json")); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := db.EnsureDatabase(ctx, c.opts.DatabaseURL); err != nil {
		return fmt.Errorf("database: %w (is PostgreSQL running? `make cluster` starts it)", err)
	}
	// Once here, so that the api and worker processes start on a migrated database.
	return app.Migrate(ctx, &config.Config{DatabaseURL: c.opts.DatabaseURL})
}

// startServices starts what the application processes talk to: Temporal, the two fakes, and
// the proxy in front of the api processes.
func (c *cluster) startServices() error {
	ready := filepath.Join(c.opts.Dir, "temporal.ready")
	_ = os.Remove(ready)
	_, port, _ := net.SplitHostPort(c.opts.TemporalAddr)
	targv := []string{c.opts.TemporalBin, "-config", c.opts.TemporalConfig, "-postgres", c.Addrs.TemporalDatabase,
		"-port", port, "-ready-file", ready}
	if c.opts.UIAddr == "" {
		targv = append(targv, "-headless")
	} else {
		_, uiPort, _ := net.SplitHostPort(c.opts.UIAddr)
		targv = append(targv, "-ui-port", uiPort, "-codec-endpoint", c.Addrs.PublicURL+"/codec")
	}
	if c.opts.TemporalPProfAddr != "" {
		_, pprofPort, _ := net.SplitHostPort(c.opts.TemporalPProfAddr)
		targv = append(targv, "-pprof-port", pprofPort)
	}
	if _, err := c.spawn("temporal", tierLast, targv, []string{clusterMarkerEnv + "=" + c.opts.Dir}); err != nil {
		return err
	}
	fakeEnv := append(append([]string{}, c.env...), "FAKE_YCLIENTS_ADDR="+c.opts.FakeYClientsAddr)
	starts := []struct {
		name string
		tier int
		args []string
		env  []string
	}{
		{"fake-yclients", tierFakes, []string{"fake-yclients"}, fakeEnv},
		{"fake-whatsapp", tierFakes, []string{"fake-whatsapp", "-addr", c.opts.FakeWhatsAppAddr, "-restore"}, c.env},
		{"proxy", tierFront, []string{"proxy", "-listen", c.opts.Addr, "-backends", strings.Join(c.apiAddrs, ",")}, c.env},
	}
	for _, s := range starts {
		if (s.name == "fake-yclients" && c.opts.YClientsURL != "") || (s.name == "fake-whatsapp" && c.opts.WhatsAppURL != "") {
			continue // served by the caller
		}
		if _, err := c.spawn(s.name, s.tier, append(append([]string{}, c.opts.Self...), s.args...), s.env); err != nil {
			return err
		}
	}
	return nil
}

// startApp starts the api and worker processes of this binary, each with its own HTTP_ADDR
// (and, for a worker, OPS_ADDR: its metrics and health).
func (c *cluster) startApp() error {
	for i, addr := range c.apiAddrs {
		name := fmt.Sprintf("api-%d", i+1)
		env, err := c.pprofEnv(name, append(append([]string{}, c.env...), "HTTP_ADDR="+addr))
		if err != nil {
			return err
		}
		if _, err := c.spawn(name, tierFront, append(append([]string{}, c.opts.Self...), "api"), env); err != nil {
			return err
		}
	}
	for i := range c.opts.Workers {
		addr, err := resolveAddr("127.0.0.1:0")
		if err != nil {
			return err
		}
		ops, err := resolveAddr("127.0.0.1:0")
		if err != nil {
			return err
		}
		c.Addrs.WorkerOps = append(c.Addrs.WorkerOps, "http://"+ops)
		name := fmt.Sprintf("worker-%d", i+1)
		env, err := c.pprofEnv(name, append(append([]string{}, c.env...), "HTTP_ADDR="+addr, "OPS_ADDR="+ops))
		if err != nil {
			return err
		}
		if _, err := c.spawn(name, tierWorkers, append(append([]string{}, c.opts.Self...), "worker"), env); err != nil {
			return err
		}
	}
	return nil
}

// pprofEnv adds PPROF_ADDR on a free loopback port to a process's environment, and records
// it under the process's name, when the cluster serves profiles (-pprof); otherwise env as
// it is.
func (c *cluster) pprofEnv(name string, env []string) ([]string, error) {
	if !c.opts.PProf {
		return env, nil
	}
	addr, err := resolveAddr("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if c.Addrs.PProf == nil {
		c.Addrs.PProf = map[string]string{}
	}
	c.Addrs.PProf[name] = addr
	return append(env, "PPROF_ADDR="+addr), nil
}

// temporalDatabaseURL is the application's database URL with the database "<name>_temporal".
func temporalDatabaseURL(appURL string) (string, error) {
	u, err := url.Parse(appURL)
	name := strings.TrimPrefix(u.Path, "/")
	if err != nil || name == "" {
		return "", fmt.Errorf("-database %q: want postgres://user@host:port/name", appURL)
	}
	u.Path = "/" + name + "_temporal"
	return u.String(), nil
}

// clusterDatabases are the databases a cluster on appURL uses.
func clusterDatabases(appURL string) []string {
	u, _ := url.Parse(appURL)
	name := strings.TrimPrefix(u.Path, "/")
	return []string{name, name + "_temporal", name + "_temporal_visibility"}
}

// loadOrCreateKey reads a base64 key from path, or writes a new random 32-byte one there.
func loadOrCreateKey(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return "", err
	}
	s := base64.StdEncoding.EncodeToString(k)
	return s, os.WriteFile(path, []byte(s), 0o600)
}
