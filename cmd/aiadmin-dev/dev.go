package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/http/demo"
)

// runDev runs the whole product in one process: it makes sure PostgreSQL has the database
// and the migrations, starts the local Temporal dev server when none is reachable, serves the
// fake YClients and the simulated phone in demo mode, and runs the worker and the API.
func runDev(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	if err := db.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("database: %w (is PostgreSQL running? `make dev` starts it)", err)
	}
	stopTemporal, err := ensureTemporal(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopTemporal()

	var phone *simphone.Phone
	opts := app.Options{WhatsApp: whatsAppFor(nil)}
	if cfg.Demo {
		stopFake, err := startFakeYClients(cfg, logger)
		if err != nil {
			return err
		}
		defer stopFake()
		phone = simphone.New(simphone.Options{})
		opts = app.Options{WhatsApp: whatsAppFor(phone), Routes: func(e *gin.Engine) { demo.Routes(e, phone) }}
	}
	if err := app.Migrate(ctx, cfg); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, logger, app.API|app.Worker, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	if phone != nil {
		if err := restoreDevices(ctx, a.Store, phone.Restore); err != nil {
			return err
		}
	}
	printDevBanner(cfg)
	return a.Serve(ctx, app.API|app.Worker)
}

// startFakeYClients serves the fake YClients on FAKE_YCLIENTS_ADDR with the demo salons. It
// keeps its state across `make dev` runs, as YClients would, in the data folder. tune may
// change the fake's options (its rate limit, the webhook delay).
func startFakeYClients(cfg *config.Config, logger *slog.Logger, tune ...func(*yclientsfake.Options)) (stop func(), err error) {
	opts := yclientsfake.Options{
		PartnerToken:  cfg.YClientsPartnerToken,
		ApplicationID: cfg.YClientsApplicationID,
		RegisterURL:   cfg.PublicURL + "/marketplace/register",
		LifecycleURL:  cfg.PublicURL + "/marketplace/webhook",
	}
	for _, t := range tune {
		t(&opts)
	}
	fake := yclientsfake.New(opts)
	fake.SeedDemo()
	stateFile := filepath.Join(cfg.DataDir, "fake-yclients.json")
	if _, err := fake.Load(stateFile); err != nil {
		logger.Warn("fake YClients state not restored", "err", err)
	}
	ln, err := net.Listen("tcp", cfg.FakeAddr)
	if err != nil {
		fake.Close()
		return nil, fmt.Errorf("fake YClients: %w", err)
	}
	fakeSrv := &http.Server{Addr: cfg.FakeAddr, Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = fakeSrv.Serve(ln) }()
	saveCtx, stopSaving := context.WithCancel(context.Background())
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-saveCtx.Done():
				_ = fake.Save(stateFile)
				return
			case <-tick.C:
				_ = fake.Save(stateFile)
			}
		}
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = fakeSrv.Shutdown(sctx)
		stopSaving()
		<-saved
		fake.Close()
	}, nil
}

// restoreDevices gives a simulated WhatsApp, which lives in memory, back the devices paired in
// an earlier run, as the real adapter does from its session store.
func restoreDevices(ctx context.Context, store *db.Store, restore func(salonID int64, phone, name string, frozen bool)) error {
	linked, err := store.ListLinkedCompanies(ctx)
	if err != nil {
		return fmt.Errorf("linked salons: %w", err)
	}
	for _, c := range linked {
		name := ""
		if c.WhatsappName != nil {
			name = *c.WhatsappName
		}
		restore(c.SalonID, *c.WhatsappPhone, name, c.InstallStatus == "frozen")
	}
	return nil
}

func printDevBanner(cfg *config.Config) {
	fmt.Println()
	fmt.Println("AI Admin is running. Open:")
	if cfg.Demo {
		fmt.Printf("  Install a demo salon:  http://%s/_fake/marketplace/redirect?salon_id=100001\n", cfg.FakeAddr)
		fmt.Printf("  Scan the QR (demo):    curl -X POST %s/demo/whatsapp/100001/scan -d '{\"phone\":\"79990001122\",\"name\":\"Салон\"}'\n", cfg.PublicURL)
		fmt.Printf("  Sent messages (demo):  %s/demo/whatsapp/100001/messages\n", cfg.PublicURL)
		fmt.Printf("  Fake YClients:         http://%s/_fake/callbacks  (activation callbacks)\n", cfg.FakeAddr)
		fmt.Printf("  Lifecycle events:      curl -X POST http://%s/_fake/salons/100001/lifecycle -d '{\"event\":\"freeze\"}'\n", cfg.FakeAddr)
	}
	fmt.Printf("  Temporal Web UI:       http://127.0.0.1:8233/namespaces/%s/workflows\n", cfg.TemporalNamespace)
	fmt.Printf("  Clients' data in it:   sign in once at %s/codec/login with ADMIN_TOKEN%s\n", cfg.PublicURL,
		map[bool]string{true: " (demo: " + cfg.AdminToken + ")", false: ""}[cfg.Demo && cfg.AdminToken == "demo-admin-token"])
	fmt.Printf("  Health:                %s/readyz, worker: http://%s/readyz\n", cfg.PublicURL, cfg.OpsAddr)
	fmt.Printf("  Metrics:               %s/metrics, worker: http://%s/metrics\n", cfg.PublicURL, cfg.OpsAddr)
	fmt.Println("Press Ctrl-C to stop.")
	fmt.Println()
}

// temporalStopGrace is how long `dev` waits for the Temporal dev server it started to stop
// before killing it, so that Ctrl-C stops everything within 5 s. On a busy machine its
// graceful stop takes 1.5–5.5 s; a kill is a crash it recovers from (SQLite commits are
// atomic, and Temporal's persistence is written for crashes).
const temporalStopGrace = 3 * time.Second

// ensureTemporal returns at once when a Temporal server answers at TEMPORAL_ADDRESS;
// otherwise it starts the dev server binary (built by `make dev`) and waits for it.
func ensureTemporal(ctx context.Context, cfg *config.Config, logger *slog.Logger) (func(), error) {
	if reachable(cfg.TemporalAddress) {
		return func() {}, nil
	}
	if _, err := os.Stat(cfg.TemporalDevBin); err != nil {
		return nil, fmt.Errorf("no Temporal server at %s and no dev server binary at %s (run `make dev`)",
			cfg.TemporalAddress, cfg.TemporalDevBin)
	}
	_, port, err := net.SplitHostPort(cfg.TemporalAddress)
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_ADDRESS: %w", err)
	}
	ready := filepath.Join(cfg.DataDir, "temporal.ready")
	_ = os.Remove(ready)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.TemporalDevBin, "-config", cfg.TemporalDevConfig, "-port", port, "-ready-file", ready)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // we stop it ourselves, after the worker
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start temporal dev server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// A second Ctrl-C exits at once: the server, in a process group of its own, is told to
	// stop too rather than left running.
	forget := app.AtForcedExit(func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	stop := func() {
		forget()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(temporalStopGrace):
			logger.Warn("the Temporal dev server is slow to stop; killing it", "after", temporalStopGrace)
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	logger.Info("starting the Temporal dev server", "address", cfg.TemporalAddress)
	deadline := time.Now().Add(60 * time.Second)
	for !fileExists(ready) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("temporal dev server exited: %v", err)
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("temporal dev server did not start within 60 s")
		}
	}
	return stop, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func reachable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
