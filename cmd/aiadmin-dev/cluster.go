package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// flagCommands are the development binary's commands that take flags rather than only the
// application's environment: the pieces of a production-like cluster and the cluster itself.
var flagCommands = map[string]func(args []string) error{
	"cluster":       runCluster,
	"proxy":         runProxy,
	"fake-yclients": runFakeYClients,
	"fake-whatsapp": runFakeWhatsApp,
}

// clusterOptions is what `cluster` starts, and where. An address with port 0 gets a free port.
type clusterOptions struct {
	// Addr is the proxy's address: PUBLIC_URL is http://Addr.
	Addr         string
	TemporalAddr string
	UIAddr       string // the Temporal Web UI; "" for none (the host is temporal-dev.yaml's)
	// TemporalPProfAddr serves the Temporal server's profiles (temporal-dev -pprof-port; the
	// host is temporal-dev.yaml's): for benchmarks; "" for none.
	TemporalPProfAddr string
	// PProf gives each api and worker process PPROF_ADDR on a free loopback port: their Go
	// profiles, for benchmarks and for a look at a process at work.
	PProf            bool
	FakeYClientsAddr string
	FakeWhatsAppAddr string
	APIs, Workers    int
	Shards           int // WHATSAPP_SHARDS
	// ShardRetry is WHATSAPP_SHARD_RETRY: the workers share the shards out one retry after
	// the last of them starts.
	ShardRetry time.Duration
	// DatabaseURL is the application's database; Temporal's are "<its name>_temporal" and
	// "<its name>_temporal_visibility" on the same server. All are created if missing.
	DatabaseURL string
	// Dir holds the children's logs, the fake YClients' state and the cluster's keys.
	Dir            string
	TemporalBin    string
	TemporalConfig string
	// Self runs this binary's commands: [path to aiadmin-dev]; tests put their own binary here.
	Self []string
	// Fresh drops the cluster's databases and the fake YClients' state before starting.
	Fresh    bool
	LogLevel string
	// YClientsURL and WhatsAppURL, when set, name fakes already running (a test serves them
	// itself to inspect what they received): the cluster starts none and points every process
	// at these.
	YClientsURL, WhatsAppURL string
	// Env is added to every api and worker process's environment (e.g. OWNER_WEBHOOK_URL).
	Env []string
}

// clusterAddrs is what a started cluster prints, and writes to -ready-file as JSON for a
// benchmark to read.
type clusterAddrs struct {
	PublicURL     string   `json:"public_url"`
	Temporal      string   `json:"temporal"`
	Namespace     string   `json:"namespace"`
	WebUI         string   `json:"web_ui,omitempty"`
	TemporalPProf string   `json:"temporal_pprof,omitempty"` // host:port of the server's net/http/pprof
	FakeYClients  string   `json:"fake_yclients"`
	FakeWhatsApp  string   `json:"fake_whatsapp"`
	APIs          []string `json:"apis"`
	WorkerOps     []string `json:"worker_ops"` // each worker's metrics and health
	// PProf is each api's and worker's net/http/pprof host:port, by process name ("api-1",
	// "worker-2"…), when the cluster was started with -pprof.
	PProf            map[string]string `json:"pprof,omitempty"`
	DatabaseURL      string            `json:"database_url"`
	TemporalDatabase string            `json:"temporal_database"`
	Logs             string            `json:"logs"`
	PIDs             map[string]int    `json:"pids"`
	ReadyMillis      int64             `json:"ready_ms"`
}

// runCluster is the `cluster` command: it starts the cluster, prints its addresses, and
// stops every child on SIGINT or SIGTERM, or as soon as one of them dies.
func runCluster(args []string) error {
	opts, readyFile, err := parseClusterFlags(args)
	if err != nil {
		return err
	}
	if readyFile != "" {
		_ = os.Remove(readyFile) // left by a cluster that was killed: it must not look ready
	}
	logger := toolLogger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := startCluster(ctx, opts, logger)
	if err != nil {
		return err
	}
	defer c.Stop()
	printClusterBanner(c.Addrs)
	if readyFile != "" {
		if err := writeReadyFile(readyFile, c.Addrs); err != nil {
			return err
		}
		defer os.Remove(readyFile)
	}
	select {
	case <-ctx.Done():
		fmt.Println("Stopping the cluster…")
		c.Stop()
		fmt.Println("Stopped; nothing left running.")
		return nil
	case ch := <-c.exited:
		return fmt.Errorf("cluster: %s exited unexpectedly (%v); its log: %s", ch.name, ch.err, ch.log)
	}
}

func parseClusterFlags(args []string) (clusterOptions, string, error) {
	self, err := os.Executable()
	if err != nil {
		return clusterOptions{}, "", err
	}
	o := clusterOptions{Self: []string{self}}
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8180", "the public address (the proxy in front of the api processes)")
	fs.StringVar(&o.TemporalAddr, "temporal", "127.0.0.1:7243", "Temporal frontend (gRPC)")
	fs.StringVar(&o.UIAddr, "ui", "127.0.0.1:8243", "Temporal Web UI; empty for none")
	fs.StringVar(&o.FakeYClientsAddr, "fake-yclients", "127.0.0.1:8190", "the fake YClients")
	fs.StringVar(&o.FakeWhatsAppAddr, "fake-whatsapp", "127.0.0.1:8191", "the fake WhatsApp server")
	fs.IntVar(&o.APIs, "apis", 2, "number of aiadmin api processes")
	fs.IntVar(&o.Workers, "workers", 3, "number of aiadmin worker processes")
	fs.IntVar(&o.Shards, "shards", 4, "WHATSAPP_SHARDS")
	fs.DurationVar(&o.ShardRetry, "shard-retry", time.Second,
		"WHATSAPP_SHARD_RETRY (production default 5s; shorter here so that the workers share the shards soon after the start)")
	fs.StringVar(&o.DatabaseURL, "database", "postgres://postgres@127.0.0.1:5432/aiadmin_cluster?sslmode=disable",
		"the application's database (Temporal's: <name>_temporal, <name>_temporal_visibility)")
	fs.StringVar(&o.Dir, "dir", filepath.Join(".data", "cluster"), "folder of the logs and the fakes' state")
	fs.StringVar(&o.TemporalBin, "temporal-bin", filepath.Join("bin", "temporal-dev"), "the Temporal server binary")
	fs.StringVar(&o.TemporalConfig, "temporal-config", "temporal-dev.yaml", "its configuration")
	fs.BoolVar(&o.Fresh, "fresh", false, "drop the cluster's databases and the fakes' state first")
	fs.BoolVar(&o.PProf, "pprof", false, "serve each api's and worker's Go profiles (PPROF_ADDR) on a free loopback port")
	fs.StringVar(&o.LogLevel, "log-level", "info", "the children's LOG_LEVEL")
	readyFile := fs.String("ready-file", "", "write the addresses as JSON to this file once everything is ready")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if o.APIs < 1 || o.Workers < 1 || o.Shards < 1 {
		return o, "", errors.New("cluster: -apis, -workers and -shards must be at least 1")
	}
	return o, *readyFile, nil
}

// writeReadyFile writes the addresses atomically: a reader never sees half a file.
func writeReadyFile(path string, addrs clusterAddrs) error {
	b, err := json.MarshalIndent(addrs, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil { // the database URLs may carry a password
		return fmt.Errorf("ready file: %w", err)
	}
	return os.Rename(tmp, path)
}

func printClusterBanner(a clusterAddrs) {
	fmt.Println()
	fmt.Printf("The cluster is ready (%d ms). Open:\n", a.ReadyMillis)
	fmt.Printf("  Public URL (proxy):    %s  → api %v\n", a.PublicURL, a.APIs)
	fmt.Printf("  Workers' metrics:      %v  (/metrics, /readyz)\n", a.WorkerOps)
	for _, name := range slices.Sorted(maps.Keys(a.PProf)) {
		fmt.Printf("  Profiles of %-9s  http://%s/debug/pprof/\n", name+":", a.PProf[name])
	}
	fmt.Printf("  Install a demo salon:  %s/_fake/marketplace/redirect?salon_id=100001\n", a.FakeYClients)
	fmt.Printf("  Fake WhatsApp server:  %s  (scan: POST /control/scan, sent: GET /messages?salon_id=)\n", a.FakeWhatsApp)
	fmt.Printf("  Temporal:              %s (namespace %s, PostgreSQL %s)\n", a.Temporal, a.Namespace, redactURL(a.TemporalDatabase))
	if a.WebUI != "" {
		fmt.Printf("  Temporal Web UI:       %s/namespaces/%s/workflows\n", a.WebUI, a.Namespace)
	}
	fmt.Printf("  Application database:  %s\n", redactURL(a.DatabaseURL))
	fmt.Printf("  Logs:                  %s/*.log\n", a.Logs)
	fmt.Println("Press Ctrl-C to stop.")
	fmt.Println()
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
