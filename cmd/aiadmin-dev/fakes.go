package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db"
)

// toolLogger is the logger of the commands that take flags rather than the application's
// configuration: LOG_LEVEL and LOG_FORMAT, on stderr.
func toolLogger() *slog.Logger {
	return app.NewLogger(&config.Config{LogLevel: os.Getenv("LOG_LEVEL"), LogJSON: os.Getenv("LOG_FORMAT") == "json"})
}

// runFakeYClients is the `fake-yclients` command: the fake YClients of `make dev` in a process
// of its own, configured like `dev` (FAKE_YCLIENTS_ADDR, PUBLIC_URL for the marketplace
// redirect and the webhooks, YCLIENTS_PARTNER_TOKEN, DATA_DIR for its state).
func runFakeYClients(args []string) error {
	fs := flag.NewFlagSet("fake-yclients", flag.ContinueOnError)
	rps := fs.Int("rps", 0, "the fake's rate limit, requests/s (0: YClients' 5)")
	delay := fs.Duration("entity-delay", 0, "delay of the entity webhooks (0: YClients' ~5 s; negative: at once)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadWith(config.Options{Dev: true, Local: true})
	if err != nil {
		return err
	}
	logger := app.NewLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopFake, err := startFakeYClients(cfg, logger, func(o *yclientsfake.Options) {
		o.RPS, o.EntityDelay = *rps, *delay
	})
	if err != nil {
		return err
	}
	logger.Info("fake YClients listening", "addr", cfg.FakeAddr, "publicURL", cfg.PublicURL)
	<-ctx.Done()
	stopFake()
	logger.Info("fake YClients stopped")
	return nil
}

// runFakeWhatsApp is the `fake-whatsapp` command: the fake WhatsApp server
// (activities/whatsapp/simserver) that workers with WHATSAPP_MODE=simserver share. With
// -restore it first gets back the devices of the salons linked in DATABASE_URL, as WhatsApp
// keeps a linked device across our restarts.
func runFakeWhatsApp(args []string) error {
	fs := flag.NewFlagSet("fake-whatsapp", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8191", "address to listen on")
	restore := fs.Bool("restore", false, "give the salons linked in DATABASE_URL their devices back")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := toolLogger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sim := simserver.New(simserver.Options{Logger: logger})
	if *restore {
		if err := restoreSimServer(ctx, os.Getenv("DATABASE_URL"), sim); err != nil {
			return err
		}
	}
	return serveUntil(ctx, *addr, sim, logger, "fake WhatsApp server")
}

func restoreSimServer(ctx context.Context, dsn string, sim *simserver.Server) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := db.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("-restore: DATABASE_URL: %w", err)
	}
	defer store.Close()
	return restoreDevices(ctx, store, sim.Restore)
}
