// Package app assembles an AI Admin process from its configuration: it connects PostgreSQL
// and Temporal, builds the YClients and WhatsApp clients, and serves the roles the process
// has (the HTTP API, the Temporal worker, or both). The production main and the development
// main share it; they differ only in the WhatsApp clients they can build (Options.WhatsApp)
// and the development main's extra routes.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/activities/reqid"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

// Role is what a process serves.
type Role int

// Roles; `dev` serves both.
const (
	API Role = 1 << iota
	Worker
)

// WhatsApp is a worker's WhatsApp client and how the shard manager opens and closes its
// salons' sessions.
type WhatsApp struct {
	Client whatsapp.Client
	// Sessions is nil for a client that keeps everything in this process (the simulated
	// phone): nothing to open or close.
	Sessions shard.Sessions
	Close    func()
}

// LinkEvents receives the changes of salons' WhatsApp links (logged out on the phone, bans,
// restrictions, …) that a WhatsApp client reports.
type LinkEvents func(salonID int64, st whatsapp.Status)

// WhatsAppFunc builds a worker's WhatsApp client for cfg.WhatsAppMode; it reports the link
// events to events for as long as ctx lives.
type WhatsAppFunc func(ctx context.Context, a *App, events LinkEvents) (WhatsApp, error)

// Options are what a main adds to the configuration.
type Options struct {
	// WhatsApp builds the worker's WhatsApp client (required for Worker).
	WhatsApp WhatsAppFunc
	// Routes adds routes to the HTTP API (the development main's simulated phone).
	Routes func(*gin.Engine)
	// YClients replaces the YClients client built from the configuration (tests).
	YClients *yclients.Client
	// Interceptors are added to the workers' (the workflow worker's and the shard workers'; tests).
	Interceptors []interceptor.WorkerInterceptor
}

// App is one process's long-lived components.
type App struct {
	Cfg      *config.Config
	Logger   *slog.Logger
	Store    *db.Store
	Temporal client.Client
	Box      *secretbox.Box
	YClients *yclients.Client
	// WhatsApp is the worker's WhatsApp client; zero in an API-only process.
	WhatsApp WhatsApp

	opts  Options
	links linkForwarder

	metrics        *processMetrics
	collectorsOnce sync.Once
	// identity is this process's Temporal identity: its workers poll under it (readiness).
	identity string
	// worker is what a running worker role reports on its ops listener; nil before it starts.
	worker atomic.Pointer[workerRuntime]
}

// New connects PostgreSQL and Temporal and builds the clients the roles need. The database
// must be migrated (Migrate).
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, roles Role, opts Options) (*App, error) {
	store, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	box, err := secretbox.NewKeyring(cfg.SecretKeys()...)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("SECRET_KEY: %w", err)
	}
	logger = reqid.Logger(logger) // log lines written for a request name its ID
	pm := newProcessMetrics(logger)
	identity := newIdentity()
	topts := TemporalOptions(cfg, box, logger)
	topts.Identity, topts.MetricsHandler = identity, pm.handler
	tc, err := client.NewLazyClient(topts)
	if err != nil {
		_ = pm.closer.Close()
		store.Close()
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	a := &App{Cfg: cfg, Logger: logger, Store: store, Temporal: tc, Box: box, YClients: opts.YClients, opts: opts,
		links: linkForwarder{temporal: tc, logger: logger}, metrics: pm, identity: identity}
	if a.YClients == nil {
		a.YClients = yclients.New(yclients.Config{
			BaseURL: cfg.YClientsBaseURL, PartnerToken: cfg.YClientsPartnerToken, UserToken: cfg.YClientsUserToken,
			ApplicationID: cfg.YClientsApplicationID, Limiter: yclients.NewBudget(store),
		})
	}
	if roles&Worker != 0 {
		if opts.WhatsApp == nil {
			a.Close()
			return nil, errors.New("a worker needs a WhatsApp client")
		}
		if a.WhatsApp, err = opts.WhatsApp(ctx, a, a.links.forward); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// TemporalOptions are the Temporal client's options: clients' names and phones encrypted,
// request IDs carried into workflows and activities, the SDK logging through logger.
func TemporalOptions(cfg *config.Config, box *secretbox.Box, logger *slog.Logger) client.Options {
	return client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		DataConverter:      pii.DataConverter(box),
		ContextPropagators: []workflow.ContextPropagator{reqid.Propagator{}},
		Logger:             tlog.NewStructuredLogger(logger.With("component", "temporal")),
		ConnectionOptions:  client.ConnectionOptions{GrpcCompression: Compression(cfg)},
	}
}

// Compression is the gRPC compression of the process's requests to Temporal
// (TEMPORAL_GRPC_COMPRESSION). The Temporal server answers a request in the compression it came
// in, so this decides both directions.
func Compression(cfg *config.Config) client.GrpcCompression {
	if cfg.Compression() == "gzip" {
		return &client.GrpcCompressionGzip{}
	}
	return &client.GrpcCompressionNone{}
}

// Close releases the clients.
func (a *App) Close() {
	if a.WhatsApp.Close != nil {
		a.WhatsApp.Close()
	}
	a.Temporal.Close()
	_ = a.metrics.closer.Close()
	a.Store.Close()
}

// newIdentity is the process's Temporal identity, as the SDK would make it (pid@host) with a
// short random tail: several Apps in one test process poll under their own.
func newIdentity() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d@%s@%s", os.Getpid(), host, hex.EncodeToString(b))
}

// Migrate applies the database migrations.
func Migrate(ctx context.Context, cfg *config.Config) error {
	if err := db.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Serve runs the roles until ctx ends, then stops them gracefully: the API first (the
// connect pages are told to reconnect), then the worker, then its ops listener, then the
// profiles' listener (PPROF_ADDR), when one was asked for.
func (a *App) Serve(ctx context.Context, roles Role) error {
	errc := make(chan error, 4)
	a.registerCollectors(roles)
	go a.checkSearchAttributes(ctx, errc)
	if a.Cfg.PProfAddr != "" {
		stop, _, err := servePProf(a.Cfg.PProfAddr, a.Logger, errc)
		if err != nil {
			return err
		}
		defer stop()
	}
	if roles&Worker != 0 {
		if a.Cfg.OpsAddr != "" {
			stop, err := a.startOps(errc)
			if err != nil {
				return err
			}
			defer stop()
		}
		stop, err := a.startWorker(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}
	if roles&API != 0 {
		stop, err := a.startAPI(errc)
		if err != nil {
			return err
		}
		defer stop()
	}
	select {
	case <-ctx.Done():
		a.Logger.Info("stopping")
		return nil
	case err := <-errc:
		return err
	}
}

// registerCollectors adds the cached product numbers to the process's registry and, for a
// worker, its shards and dispatcher state; once per process.
func (a *App) registerCollectors(roles Role) {
	a.collectorsOnce.Do(func() {
		a.metrics.reg.MustRegister(metrics.StatsCollector(a.loadStats, statsTTL, statsTimeout, a.Logger))
		if roles&Worker != 0 {
			a.metrics.reg.MustRegister(metrics.WorkerState(a.Cfg.ShardCount(), a.shardsOwned, a.dispatcherActive))
		}
	})
}

// Run is a main's `api` or `worker` command: migrate, build, serve until ctx ends.
func Run(ctx context.Context, cfg *config.Config, logger *slog.Logger, roles Role, opts Options) error {
	if err := Migrate(ctx, cfg); err != nil {
		return err
	}
	a, err := New(ctx, cfg, logger, roles, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Serve(ctx, roles)
}

// NewLogger is the process's slog logger: LOG_LEVEL, and LOG_FORMAT json or text, on stderr.
func NewLogger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// Main is a binary's command line: its usage text, the default command (none: one is
// required), the WhatsApp clients it can build, and the commands it has besides api, worker
// and migrate.
type Main struct {
	Usage    string
	Default  string
	WhatsApp WhatsAppFunc
	// Dev marks the configuration's defaults for this command as the development ones.
	Dev      map[string]bool
	Commands map[string]func(ctx context.Context, cfg *config.Config, logger *slog.Logger) error
	// Local is the development binary's leniency (config.Options.Local).
	Local bool
}

// Run reads the configuration and runs the command args names.
func (m Main) Run(args []string) error {
	cmd := m.Default
	switch {
	case len(args) == 1:
		cmd = args[0]
	case len(args) > 1 || cmd == "":
		fmt.Fprintln(os.Stderr, m.Usage)
		return errors.New("one command expected")
	}
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		fmt.Println(m.Usage)
		return nil
	}
	cfg, err := config.LoadWith(config.Options{Dev: m.Dev[cmd], Local: m.Local})
	if err != nil {
		return err
	}
	logger := NewLogger(cfg)
	slog.SetDefault(logger)
	for _, p := range cfg.Problems {
		logger.Warn("configuration: "+p.Message, "variable", p.Var)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go exitOnSecondSignal(ctx, logger)
	opts := Options{WhatsApp: m.WhatsApp}
	switch cmd {
	case "migrate":
		return Migrate(ctx, cfg)
	case "api":
		return Run(ctx, cfg, logger, API, opts)
	case "worker":
		return Run(ctx, cfg, logger, Worker, opts)
	}
	if fn, ok := m.Commands[cmd]; ok {
		return fn(ctx, cfg, logger)
	}
	fmt.Fprintln(os.Stderr, m.Usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// forcedExit holds what must happen before the process exits on a second Ctrl-C (e.g. the
// development binary kills the Temporal dev server it started).
var forcedExit struct {
	mu  sync.Mutex
	fns map[int]func()
	n   int
}

// AtForcedExit registers fn to run when a second Ctrl-C (or SIGTERM) makes the process exit
// at once; remove unregisters it.
func AtForcedExit(fn func()) (remove func()) {
	forcedExit.mu.Lock()
	defer forcedExit.mu.Unlock()
	if forcedExit.fns == nil {
		forcedExit.fns = map[int]func(){}
	}
	forcedExit.n++
	id := forcedExit.n
	forcedExit.fns[id] = fn
	return func() {
		forcedExit.mu.Lock()
		delete(forcedExit.fns, id)
		forcedExit.mu.Unlock()
	}
}

// exitOnSecondSignal waits for the first signal (ctx ends: the graceful stop begins), then
// for a second one, on which the process exits at once.
func exitOnSecondSignal(ctx context.Context, logger *slog.Logger) {
	<-ctx.Done()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	<-again
	logger.Warn("second signal: exiting at once")
	forcedExit.mu.Lock()
	for _, fn := range forcedExit.fns {
		fn()
	}
	forcedExit.mu.Unlock()
	os.Exit(130)
}
