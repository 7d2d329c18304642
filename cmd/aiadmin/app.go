package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/inbox"
	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/whatsapp/wameow"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
	httpapi "github.com/aiadmin/aiadmin/http"
	"github.com/aiadmin/aiadmin/workflows"
)

type role int

const (
	roleAPI role = 1 << iota
	roleWorker
)

// app holds the process's long-lived components.
type app struct {
	cfg      *Config
	logger   *slog.Logger
	store    *db.Store
	temporal client.Client
	box      *secretbox.Box
	yclients *yclients.Client
	whatsapp whatsapp.Client   // nil in an api-only process
	phone    *simphone.Phone   // demo only
	wa       *wameow.Adapter   // WHATSAPP_MODE=whatsmeow
	sim      *simserver.Client // WHATSAPP_MODE=simserver
	// linkEvents receives the real adapter's link events once the worker runs.
	linkEvents atomic.Pointer[linkForwarder]
	// testInterceptors are added to the workflow worker's interceptors (tests only).
	testInterceptors []interceptor.WorkerInterceptor
}

func migrate(ctx context.Context, cfg *Config) error {
	if err := db.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func runApp(ctx context.Context, cfg *Config, logger *slog.Logger, r role) error {
	if err := migrate(ctx, cfg); err != nil {
		return err
	}
	var phone *simphone.Phone
	if cfg.WhatsAppMode == "sim" {
		if r&roleWorker != 0 && !cfg.Demo {
			logger.Warn("WHATSAPP_MODE=sim: messages go to the simulated phone, not to WhatsApp")
		}
		if r == roleAPI && cfg.Demo {
			return errors.New("demo mode keeps the simulated phone in one process: use `aiadmin dev`")
		}
		phone = simphone.New(simphone.Options{})
	}
	a, err := build(ctx, cfg, logger, phone)
	if err != nil {
		return err
	}
	defer a.close()
	return a.serve(ctx, r)
}

// build connects to PostgreSQL and Temporal and constructs the clients.
func build(ctx context.Context, cfg *Config, logger *slog.Logger, phone *simphone.Phone) (*app, error) {
	store, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	box, err := secretbox.New(cfg.SecretKey)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("SECRET_KEY: %w", err)
	}
	tc, err := client.NewLazyClient(client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		// Clients' names and phones are encrypted in Temporal; the rest stays readable.
		DataConverter: pii.DataConverter(box),
		Logger:        tlog.NewStructuredLogger(logger.With("component", "temporal")),
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	a := &app{cfg: cfg, logger: logger, store: store, temporal: tc, box: box, phone: phone,
		yclients: yclients.New(yclients.Config{
			BaseURL: cfg.YClientsBaseURL, PartnerToken: cfg.YClientsPartnerToken, UserToken: cfg.YClientsUserToken,
			ApplicationID: cfg.YClientsApplicationID, Logger: logger,
		})}
	switch {
	case phone != nil:
		a.whatsapp = phone
	case cfg.WhatsAppMode == "whatsmeow":
		wa, err := wameow.New(ctx, wameow.Options{DSN: cfg.DatabaseURL, Store: store, Logger: logger,
			Events: func(salonID int64, st whatsapp.Status) {
				if f := a.linkEvents.Load(); f != nil {
					f.forward(salonID, st)
				}
			}})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("whatsapp session store: %w", err)
		}
		a.wa, a.whatsapp = wa, wa
	case cfg.WhatsAppMode == "simserver":
		sc, err := simserver.NewClient(simserver.ClientOptions{URL: cfg.WhatsAppSimURL, Logger: logger,
			Events: func(salonID int64, st whatsapp.Status) {
				if f := a.linkEvents.Load(); f != nil {
					f.forward(salonID, st)
				}
			}})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("WHATSAPP_SIM_URL: %w", err)
		}
		a.sim, a.whatsapp = sc, sc
	}
	return a, nil
}

func (a *app) close() {
	if a.wa != nil {
		a.wa.Close()
	}
	if a.sim != nil {
		a.sim.Close()
	}
	a.temporal.Close()
	a.store.Close()
}

// serve runs the worker and/or the API until ctx ends, then stops them gracefully.
func (a *app) serve(ctx context.Context, r role) error {
	errc := make(chan error, 2)
	if r&roleWorker != 0 {
		if a.whatsapp == nil {
			return fmt.Errorf("WHATSAPP_MODE=%q: unknown mode (sim, simserver or whatsmeow)", a.cfg.WhatsAppMode)
		}
		w := worker.New(a.temporal, a.cfg.TaskQueue, a.baseWorkerOptions())
		w.RegisterWorkflowWithOptions(workflows.Installation, workflow.RegisterOptions{Name: workflows.InstallationWorkflowName})
		w.RegisterWorkflowWithOptions(workflows.Booking, workflow.RegisterOptions{Name: workflows.BookingWorkflowName})
		w.RegisterWorkflowWithOptions(workflows.ClientWelcome, workflow.RegisterOptions{Name: workflows.ClientWelcomeWorkflowName})
		acts := &activities.Activities{
			Store: a.store, YClients: a.yclients, Records: a.yclients, WhatsApp: a.whatsapp, Box: a.box,
			Notifier: &activities.OpsNotifier{Store: a.store, Logger: a.logger, WebhookURL: a.cfg.OpsWebhookURL,
				OwnerWebhookURL: a.cfg.OwnerWebhookURL},
			PublicURL: a.cfg.PublicURL, Logger: a.logger, Temporal: a.temporal,
			RelinkURL: func(salonID int64) (string, error) {
				return httpapi.RelinkURL(a.cfg.PublicURL, a.cfg.SessionSecret, salonID, activities.RelinkTTL, time.Now())
			},
		}
		stopShards, err := a.startShards(ctx, acts)
		if err != nil {
			return err
		}
		defer stopShards()
		acts.Register(w)
		if err := w.Start(); err != nil {
			return fmt.Errorf("temporal worker: %w", err)
		}
		defer w.Stop()
		a.whatsapp.SetIncomingHandler(func(ctx context.Context, m whatsapp.Incoming) {
			if err := acts.HandleIncoming(ctx, m); err != nil {
				a.logger.Warn("incoming message", "salonID", m.SalonID, "err", err)
			}
		})
		links := linkForwarder{temporal: a.temporal, logger: a.logger}
		if a.phone != nil {
			changes := a.phone.Subscribe(ctx)
			go func() {
				for ch := range changes {
					links.forward(ch.SalonID, ch.Status)
				}
			}()
		}
		if a.wa != nil || a.sim != nil {
			// The shard manager (shards.go) connects the salons of the shards this process owns.
			a.linkEvents.Store(&links)
		}
		dispatcher := &inbox.Dispatcher{Store: a.store, Temporal: a.temporal, TaskQueue: a.cfg.TaskQueue, Logger: a.logger}
		dctx, stopDispatcher := context.WithCancel(ctx)
		dispatched := make(chan struct{})
		go func() {
			defer close(dispatched)
			_ = dispatcher.Run(dctx)
		}()
		defer func() { stopDispatcher(); <-dispatched }()
		a.logger.Info("worker started", "taskQueue", a.cfg.TaskQueue, "temporal", a.cfg.TemporalAddress)
	}
	if r&roleAPI != 0 {
		deps := httpapi.Deps{
			Temporal: a.temporal,
			Pairing:  pairingFeed{feed: &activities.PairingFeed{Store: a.store, Box: a.box}},
			Health:   healthSource{store: a.store, yclients: a.yclients, whatsapp: a.whatsapp},
			Entity:   entityInbox{intake: &inbox.Intake{Store: a.store}},
			Ready: []httpapi.ReadyCheck{
				{Name: "postgresql", Check: func(ctx context.Context) error { return a.store.Pool.Ping(ctx) }},
				{Name: "temporal", Check: func(ctx context.Context) error {
					_, err := a.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
					return err
				}},
			},
			Logger: a.logger,
		}
		if a.cfg.Demo && a.phone != nil {
			deps.Demo = a.phone
		}
		h := httpapi.New(httpapi.Config{
			PartnerToken: a.cfg.YClientsPartnerToken, ApplicationID: a.cfg.YClientsApplicationID,
			RequireSignedUserData: a.cfg.RequireSignedUserData, SessionSecret: a.cfg.SessionSecret,
			PublicURL: a.cfg.PublicURL, AdminToken: a.cfg.AdminToken, TaskQueue: a.cfg.TaskQueue,
			Timings: a.cfg.Timings, Demo: deps.Demo != nil, WebhookHMACSecret: a.cfg.WebhookHMACSecret,
		}, deps)
		srv := httpapi.NewServer(a.cfg.HTTPAddr, h)
		ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		a.logger.Info("http listening", "addr", a.cfg.HTTPAddr, "publicURL", a.cfg.PublicURL)
	}
	select {
	case <-ctx.Done():
		a.logger.Info("stopping")
		return nil
	case err := <-errc:
		return err
	}
}
