// Command temporal-dev runs the official Temporal server (go.temporal.io/server) with a SQLite
// store, or with PostgreSQL and SQL visibility (-postgres, for `make cluster`), and the
// Temporal Web UI in one process, configured by the project's temporal-dev.yaml.
// It is a development and test tool only: it lives in its own Go module so that the production
// aiadmin binary never links the server.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/yaml.v3"
)

// Config mirrors temporal-dev.yaml.
type Config struct {
	Server struct {
		IP     string `yaml:"ip"`
		Port   int    `yaml:"port"`
		DBFile string `yaml:"dbFile"`
		// Postgres is a postgres:// URL: PostgreSQL persistence instead of SQLite (DBFile is
		// then unused), with SQL visibility in "<database>_visibility".
		Postgres         string            `yaml:"postgres"`
		Namespaces       []string          `yaml:"namespaces"`
		SearchAttributes map[string]string `yaml:"searchAttributes"`
		LogLevel         string            `yaml:"logLevel"`
		DynamicConfig    map[string]any    `yaml:"dynamicConfig"`
		// PProfPort, when not 0, serves the server's profiles (Go's net/http/pprof) on
		// IP:PProfPort: how a benchmark reads where the server spends its CPU. Off unless a
		// flag asks: a heap profile holds what the server holds, clients' data among it.
		PProfPort int `yaml:"-"`
	} `yaml:"server"`
	UI struct {
		Enabled bool   `yaml:"enabled"`
		IP      string `yaml:"ip"`
		Port    int    `yaml:"port"`
		// Codec is the payload codec endpoint the Web UI decodes payloads with (AI Admin's
		// /codec, behind its admin token: the UI sends the sign-in cookie).
		Codec struct {
			Endpoint           string `yaml:"endpoint"`
			IncludeCredentials bool   `yaml:"includeCredentials"`
		} `yaml:"codec"`
	} `yaml:"ui"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-dev:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, readyFile, err := parseFlags()
	if err != nil {
		return err
	}
	level := zap.NewAtomicLevelAt(parseLevel(cfg.Server.LogLevel))
	zl := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.Lock(os.Stderr), level))

	srv, hostPort, st, err := startServer(cfg, zl)
	if err != nil {
		return err
	}
	var ui *uiserver.Server
	stop := func() {
		if ui != nil {
			ui.Stop()
		}
		level.SetLevel(zapcore.FatalLevel) // shutdown is noisy and harmless
		_ = srv.Stop()
	}
	if err := setupNamespaces(hostPort, cfg); err != nil {
		stop()
		return err
	}
	uiURL := ""
	if cfg.UI.Enabled {
		if ui, uiURL, err = startUI(cfg, hostPort); err != nil {
			stop()
			return err
		}
	}
	fmt.Printf("Temporal server: %s (namespace default, %s persistence)\n", hostPort, st.name)
	if uiURL != "" {
		fmt.Printf("Temporal Web UI: %s\n", uiURL)
	}
	if readyFile != "" {
		if err := os.WriteFile(readyFile, []byte(hostPort), 0o644); err != nil {
			stop()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("temporal-dev: stopping")
	stop()
	return nil
}

// parseFlags reads the flags and the configuration file they name, with the flags' overrides.
func parseFlags() (cfg *Config, readyFile string, err error) {
	cfgPath := flag.String("config", "temporal-dev.yaml", "path to temporal-dev.yaml")
	port := flag.Int("port", 0, "override server.port (gRPC frontend)")
	dbFile := flag.String("db", "", "override server.dbFile; ':memory:' for an in-memory store")
	postgres := flag.String("postgres", "", "override server.postgres: a postgres:// URL for PostgreSQL persistence instead of SQLite")
	headless := flag.Bool("headless", false, "do not start the Web UI")
	uiPort := flag.Int("ui-port", 0, "override ui.port")
	codec := flag.String("codec-endpoint", "", "override ui.codec.endpoint ('none': no codec endpoint)")
	ready := flag.String("ready-file", "", "write host:port to this file once the server is ready")
	pprofPort := flag.Int("pprof-port", 0, "serve the server's profiles (net/http/pprof) on server.ip:PORT, for benchmarks; 0: off")
	flag.Parse()
	if cfg, err = loadConfig(*cfgPath); err != nil {
		return nil, "", err
	}
	if *port != 0 {
		cfg.Server.Port = *port
	}
	switch *dbFile {
	case "":
	case ":memory:":
		cfg.Server.DBFile = ""
	default:
		cfg.Server.DBFile = *dbFile
	}
	if *postgres != "" {
		cfg.Server.Postgres = *postgres
	}
	if *headless {
		cfg.UI.Enabled = false
	}
	if *uiPort != 0 {
		cfg.UI.Port = *uiPort
	}
	switch *codec {
	case "":
	case "none":
		cfg.UI.Codec.Endpoint = ""
	default:
		cfg.UI.Codec.Endpoint = *codec
	}
	cfg.Server.PProfPort = *pprofPort
	return cfg, *ready, nil
}

func loadConfig(path string) (*Config, error) {
	var cfg Config
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if cfg.Server.IP == "" {
		cfg.Server.IP = "127.0.0.1"
	}
	if cfg.Server.Port == 0 {
		cfg.Server.Port = 7233
	}
	if cfg.UI.IP == "" {
		cfg.UI.IP = cfg.Server.IP
	}
	if cfg.UI.Port == 0 {
		cfg.UI.Port = 8233
	}
	hasDefault := false
	for _, ns := range cfg.Server.Namespaces {
		hasDefault = hasDefault || ns == "default"
	}
	if !hasDefault {
		cfg.Server.Namespaces = append([]string{"default"}, cfg.Server.Namespaces...)
	}
	return &cfg, nil
}

func parseLevel(s string) zapcore.Level {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return zapcore.WarnLevel
	}
	return l
}

func searchAttributeTypes(cfg *Config) (map[string]enumspb.IndexedValueType, error) {
	out := map[string]enumspb.IndexedValueType{}
	for name, typ := range cfg.Server.SearchAttributes {
		v, ok := enumspb.IndexedValueType_shorthandValue[typ]
		if !ok {
			return nil, fmt.Errorf("search attribute %s: unknown type %q", name, typ)
		}
		out[name] = enumspb.IndexedValueType(v)
	}
	return out, nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(cfg *Config, zl *zap.Logger) (temporal.Server, string, *stores, error) {
	logger := log.NewZapLogger(zl)
	var st *stores
	var err error
	if cfg.Server.Postgres != "" {
		st, err = postgresStores(cfg.Server.Postgres, logger)
	} else {
		st, err = sqliteStore(cfg)
	}
	if err != nil {
		return nil, "", nil, err
	}
	conf, hosts := serverConfig(cfg, st)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, "", nil, err
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, "", nil, err
	}
	dc, err := dynamicConfig(cfg)
	if err != nil {
		return nil, "", nil, err
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, "", nil, fmt.Errorf("new server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, "", nil, fmt.Errorf("start server: %w", err)
	}
	return srv, conf.PublicClient.HostPort, st, nil
}

// sqliteStore is the SQLite persistence: in memory (a unique database per server) or a file,
// whose schema is set up on first use; the namespaces are created with their search
// attributes (a no-op for existing ones).
func sqliteStore(cfg *Config) (*stores, error) {
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if cfg.Server.DBFile == "" {
		sqlConf.ConnectAttributes["mode"] = "memory"
		sqlConf.ConnectAttributes["cache"] = "shared"
		sqlConf.DatabaseName = strconv.Itoa(rand.IntN(99999999)) // unique per server
	} else {
		sqlConf.ConnectAttributes["mode"] = "rwc"
		sqlConf.DatabaseName = cfg.Server.DBFile
		if err := os.MkdirAll(filepath.Dir(cfg.Server.DBFile), 0o755); err != nil {
			return nil, err
		}
		if _, err := os.Stat(cfg.Server.DBFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return nil, fmt.Errorf("setup sqlite schema: %w", err)
			}
		}
	}
	sas, err := searchAttributeTypes(cfg)
	if err != nil {
		return nil, err
	}
	var nss []*sqliteschema.NamespaceConfig
	for _, name := range cfg.Server.Namespaces {
		ns, err := sqliteschema.NewNamespaceConfig("active", name, false, sas)
		if err != nil {
			return nil, err
		}
		nss = append(nss, ns)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, nss...); err != nil {
		return nil, fmt.Errorf("create namespaces: %w", err)
	}
	return &stores{name: "sqlite", def: sqlConf, vis: sqlConf, shardCount: 1}, nil
}

// serverConfig is one server of every service in this process on local ports, with static
// hosts (no membership ring: faster start) and archival off.
func serverConfig(cfg *Config, st *stores) (*config.Config, map[primitives.ServiceName]static.Hosts) {
	ip := cfg.Server.IP
	hostPort := net.JoinHostPort(ip, strconv.Itoa(cfg.Server.Port))
	httpPort := freePort()
	svc := func(grpc, http int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, HTTPPort: http, BindOnIP: ip}}
	}
	ports := map[primitives.ServiceName]int{
		primitives.FrontendService: cfg.Server.Port,
		primitives.HistoryService:  freePort(),
		primitives.MatchingService: freePort(),
		primitives.WorkerService:   freePort(),
	}
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = ip
	conf.Global.PProf = config.PProf{Host: ip, Port: cfg.Server.PProfPort}
	conf.Persistence.DefaultStore = st.name + "-default"
	conf.Persistence.VisibilityStore = st.name + "-visibility"
	if st.vis == st.def { // SQLite: one database for both
		conf.Persistence.VisibilityStore = conf.Persistence.DefaultStore
	}
	conf.Persistence.NumHistoryShards = st.shardCount
	conf.Persistence.DataStores = map[string]config.DataStore{
		conf.Persistence.DefaultStore: {SQL: st.def}, conf.Persistence.VisibilityStore: {SQL: st.vis}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10, MasterClusterName: "active", CurrentClusterName: "active",
		ClusterInformation: map[string]cluster.ClusterInformation{"active": {
			Enabled: true, InitialFailoverVersion: 1, RPCAddress: hostPort,
			HTTPAddress: net.JoinHostPort(ip, strconv.Itoa(httpPort)), ClusterID: uuid.NewString(),
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		"frontend": svc(ports[primitives.FrontendService], httpPort),
		"history":  svc(ports[primitives.HistoryService], 0),
		"matching": svc(ports[primitives.MatchingService], 0),
		"worker":   svc(ports[primitives.WorkerService], 0),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, p := range ports {
		hosts[name] = static.SingleLocalHost(net.JoinHostPort(ip, strconv.Itoa(p)))
	}
	return &conf, hosts
}

// dynamicConfig is the Temporal CLI's dev-server defaults plus temporal-dev.yaml's overrides. An
// override is a plain value, or a list of constrained values as in the server's own
// dynamic-config files ({value, constraints: {namespace, taskQueueName, taskType}}).
func dynamicConfig(cfg *Config) (dynamicconfig.StaticClient, error) {
	dc := dynamicconfig.StaticClient{
		dynamicconfig.MakeKey("system.forceSearchAttributesCacheRefreshOnRead"): true,
		dynamicconfig.MakeKey("frontend.enableUpdateWorkflowExecution"):         true,
		dynamicconfig.MakeKey("frontend.enableExecuteMultiOperation"):           true,
		dynamicconfig.MakeKey("frontend.persistenceMaxQPS"):                     10000,
		dynamicconfig.MakeKey("history.persistenceMaxQPS"):                      45000,
		dynamicconfig.MakeKey("frontend.workerVersioningDataAPIs"):              true,
	}
	for k, v := range cfg.Server.DynamicConfig {
		list, ok := v.([]any)
		if !ok {
			dc[dynamicconfig.MakeKey(k)] = v
			continue
		}
		cvs := make([]dynamicconfig.ConstrainedValue, 0, len(list))
		for i, item := range list {
			cv, err := constrainedValue(item)
			if err != nil {
				return nil, fmt.Errorf("dynamicConfig %s[%d]: %w", k, i, err)
			}
			cvs = append(cvs, cv)
		}
		dc[dynamicconfig.MakeKey(k)] = cvs
	}
	return dc, nil
}

// constrainedValue reads one {value, constraints} item of a dynamic-config list.
func constrainedValue(item any) (dynamicconfig.ConstrainedValue, error) {
	var cv dynamicconfig.ConstrainedValue
	m, ok := item.(map[string]any)
	if !ok {
		return cv, fmt.Errorf("want {value, constraints}, got %T", item)
	}
	v, ok := m["value"]
	if !ok {
		return cv, errors.New("no value")
	}
	cv.Value = v
	cons, _ := m["constraints"].(map[string]any)
	for name, raw := range cons {
		str, ok := raw.(string)
		if !ok {
			return cv, fmt.Errorf("constraint %s: want a string, got %T", name, raw)
		}
		switch name {
		case "namespace":
			cv.Constraints.Namespace = str
		case "taskQueueName":
			cv.Constraints.TaskQueueName = str
		case "taskType":
			t, ok := enumspb.TaskQueueType_shorthandValue[str]
			if !ok {
				return cv, fmt.Errorf("taskType %q: want Workflow or Activity", str)
			}
			cv.Constraints.TaskQueueType = enumspb.TaskQueueType(t)
		default:
			return cv, fmt.Errorf("constraint %s: want namespace, taskQueueName or taskType", name)
		}
	}
	return cv, nil
}

func startUI(cfg *Config, hostPort string) (*uiserver.Server, string, error) {
	ui := uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host: cfg.UI.IP, Port: cfg.UI.Port, TemporalGRPCAddress: hostPort, EnableUI: true,
		DefaultNamespace: "default", CORS: uiconfig.CORS{CookieInsecure: true},
		HideLogs: true, DisableNewsFetch: true, Codec: uiCodec(cfg),
	}))
	errc := make(chan error, 1)
	go func() { errc <- ui.Start() }()
	addr := net.JoinHostPort(cfg.UI.IP, strconv.Itoa(cfg.UI.Port))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			return nil, "", fmt.Errorf("web UI: %w", err)
		default:
		}
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return ui, "http://" + addr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("web UI did not listen on %s", addr)
}

// uiCodec points the Web UI at the codec endpoint; when decoding fails (not signed in yet) the
// UI's message links to the endpoint's sign-in page.
func uiCodec(cfg *Config) uiconfig.Codec {
	c := cfg.UI.Codec
	if c.Endpoint == "" {
		return uiconfig.Codec{}
	}
	return uiconfig.Codec{Endpoint: c.Endpoint, IncludeCredentials: c.IncludeCredentials,
		DefaultErrorMessage: "Client data is encrypted: sign in with the admin token to decode it",
		DefaultErrorLink:    strings.TrimSuffix(c.Endpoint, "/") + "/login"}
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
