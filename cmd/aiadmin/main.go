// Command aiadmin is AI Admin's production binary: `api` serves HTTP, `worker` runs the
// Temporal worker (and owns the live WhatsApp connections), `migrate` applies the database
// migrations. It links no fake: the simulated phone and the fake YClients live in the
// development binary (cmd/aiadmin-dev).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
)

const usage = `usage: aiadmin <command>

commands:
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
	cfg, err := config.Load(false)
	if err != nil {
		return err
	}
	logger := app.NewLogger(cfg)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := app.Options{WhatsApp: app.WhatsMeow}
	switch cmd {
	case "migrate":
		return app.Migrate(ctx, cfg)
	case "api":
		return app.Run(ctx, cfg, logger, app.API, opts)
	case "worker":
		return app.Run(ctx, cfg, logger, app.Worker, opts)
	default:
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
