package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/db/inbox"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// websocketsClose bounds the wait for the connect pages' websockets to close on a stop.
const websocketsClose = 2 * time.Second

// startAPI serves the HTTP API on HTTP_ADDR; a serving failure goes to errc. stop shuts the
// server down gracefully, then the entity webhooks' group commit (which the requests still
// being answered need).
func (a *App) startAPI(errc chan<- error) (stop func(), err error) {
	pages := &httpapi.Websockets{}
	batch := inbox.New(a.Store, inbox.Options{})
	deps := httpapi.Deps{
		Temporal: a.Temporal,
		Pairing:  pairing.New(a.Store, a.Box, nil),
		Salons:   httpapi.NewSalonDirectory(a.YClients, a.Store),
		Health:   healthSource{store: a.Store, yclients: &reachProbe{yc: a.YClients}, whatsapp: a.WhatsApp.Client},
		Entity:   httpapi.StoreInbox{Store: a.Store, Batch: batch},
		Cabinet:  httpapi.StoreCabinet{Store: a.Store},
		Bookings: a.YClients,
		Owner:    notify.New(notify.Config{Store: a.Store, Logger: a.Logger, OwnerWebhookURL: a.Cfg.OwnerWebhookURL}),
		// Ready when PostgreSQL answers: webhooks go into the inbox while Temporal is down.
		Ready: []httpapi.ReadyCheck{
			{Name: "postgresql", Check: func(ctx context.Context) error { return a.Store.Pool.Ping(ctx) }},
			{Name: "temporal", Check: a.temporalReachable, Optional: true},
		},
		Metrics:    a.metrics.Handler(),
		Websockets: pages,
		Logger:     a.Logger,
		Routes:     a.opts.Routes,
		Codec:      &pii.Codec{Box: a.Box},
	}
	h := httpapi.New(httpapi.Config{
		PartnerToken: a.Cfg.YClientsPartnerToken, ApplicationID: a.Cfg.YClientsApplicationID,
		RequireSignedUserData: a.Cfg.RequireSignedUserData, SessionSecret: a.Cfg.SessionSecret,
		PublicURL: a.Cfg.PublicURL, AdminToken: a.Cfg.AdminToken, TaskQueue: a.Cfg.TaskQueue,
		Timings: a.Cfg.Timings, WebhookHMACSecret: a.Cfg.WebhookHMACSecret, SupportURL: a.Cfg.SupportURL,
		TemporalUIOrigin: a.Cfg.TemporalUIOrigin,
		RequestQREvery:   a.Cfg.RequestQREvery, CodePatience: a.Cfg.CodePatience, RegisterTimeout: a.Cfg.RegisterTimeout,
		TrustedProxies: a.Cfg.TrustedProxies, IPRequestEvery: a.Cfg.IPRequestEvery(),
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
		// The connect pages first: Shutdown does not see their hijacked connections.
		wctx, wcancel := context.WithTimeout(context.Background(), websocketsClose)
		pages.Close(wctx)
		wcancel()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		batch.Close()
	}, nil
}
