package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/aiadmin/aiadmin/db/inbox"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// startAPI serves the HTTP API on HTTP_ADDR; a serving failure goes to errc. stop shuts the
// server down gracefully, then the entity webhooks' group commit (which the requests still
// being answered need).
func (a *App) startAPI(errc chan<- error) (stop func(), err error) {
	batch := inbox.New(a.Store, inbox.Options{})
	deps := httpapi.Deps{
		Temporal: a.Temporal,
		Pairing:  pairing.New(a.Store, a.Box, nil),
		Salons:   httpapi.NewSalonDirectory(a.YClients),
		Health:   healthSource{store: a.Store, yclients: a.YClients, whatsapp: a.WhatsApp.Client},
		Entity:   httpapi.StoreInbox{Store: a.Store, Batch: batch},
		Ready: []httpapi.ReadyCheck{
			{Name: "postgresql", Check: func(ctx context.Context) error { return a.Store.Pool.Ping(ctx) }},
			{Name: "temporal", Check: func(ctx context.Context) error {
				_, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
				return err
			}},
		},
		Logger: a.Logger,
		Routes: a.opts.Routes,
	}
	h := httpapi.New(httpapi.Config{
		PartnerToken: a.Cfg.YClientsPartnerToken, ApplicationID: a.Cfg.YClientsApplicationID,
		RequireSignedUserData: a.Cfg.RequireSignedUserData, SessionSecret: a.Cfg.SessionSecret,
		PublicURL: a.Cfg.PublicURL, AdminToken: a.Cfg.AdminToken, TaskQueue: a.Cfg.TaskQueue,
		Timings: a.Cfg.Timings, WebhookHMACSecret: a.Cfg.WebhookHMACSecret, SupportURL: a.Cfg.SupportURL,
		RequestQREvery: a.Cfg.RequestQREvery, TrustedProxies: a.Cfg.TrustedProxies, IPRequestEvery: a.Cfg.IPRequestEvery(),
	}, deps)
	srv := httpapi.NewServer(a.Cfg.HTTPAddr, h)
	ln, err := net.Listen("tcp", a.Cfg.HTTPAddr)
	if err != nil {
		batch.Close()
		return nil, fmt.Errorf("http: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	a.Logger.Info("http listening", "addr", a.Cfg.HTTPAddr, "publicURL", a.Cfg.PublicURL)
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		batch.Close()
	}, nil
}
