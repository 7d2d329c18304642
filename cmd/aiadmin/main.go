// Command aiadmin is AI Admin's one binary: `api` serves HTTP, `worker` runs the Temporal
// worker (and owns the live WhatsApp connections), `migrate` applies the database migrations,
// and `dev` runs the whole product in one process for local development and demos.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: aiadmin <command>

commands:
  dev      everything in one process: migrations, worker, API; demo mode (fake YClients on
           FAKE_YCLIENTS_ADDR and a simulated phone) when no YClients credentials are set;
           starts the local Temporal dev server (bin/temporal-dev) when none is reachable
  api      the HTTP API (marketplace pages, connect page, webhooks, health)
  worker   the Temporal worker (workflows, activities, live WhatsApp connections)
  migrate  apply database migrations and exit

configuration comes from environment variables; see README.md`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, usage)
		return errors.New("exactly one command expected")
	}
	cmd := args[0]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		fmt.Println(usage)
		return nil
	}
	cfg, err := loadConfig(cmd == "dev")
	if err != nil {
		return err
	}
	logger := newLogger(cfg)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "migrate":
		return migrate(ctx, cfg)
	case "api":
		return runApp(ctx, cfg, logger, roleAPI)
	case "worker":
		return runApp(ctx, cfg, logger, roleWorker)
	case "dev":
		return runDev(ctx, cfg, logger)
	default:
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func newLogger(cfg *Config) *slog.Logger {
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
