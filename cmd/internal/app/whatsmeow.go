package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/aiadmin/aiadmin/activities/whatsapp/wameow"
	"github.com/aiadmin/aiadmin/db"
)

// WhatsMeow builds the real WhatsApp client (WHATSAPP_MODE=whatsmeow): go.mau.fi/whatsmeow
// with its session store in its own database.
func WhatsMeow(ctx context.Context, a *App, events LinkEvents) (WhatsApp, error) {
	if a.Cfg.WhatsAppMode != "whatsmeow" {
		return WhatsApp{}, fmt.Errorf("WHATSAPP_MODE=%q: this binary has only the real WhatsApp client (whatsmeow); "+
			"the simulated ones are in the development binary (bin/aiadmin-dev)", a.Cfg.WhatsAppMode)
	}
	wa, err := wameow.New(ctx, wameow.Options{DSN: a.Cfg.DatabaseURL, Store: a.Store, Logger: a.Logger, Events: events})
	if err != nil {
		return WhatsApp{}, fmt.Errorf("whatsapp session store: %w", err)
	}
	return WhatsApp{Client: wa, Sessions: wameowSessions{wa: wa, store: a.Store}, Close: wa.Close}, nil
}

// wameowSessions drives the real adapter: the salons mapped in whatsapp_devices.
type wameowSessions struct {
	wa    *wameow.Adapter
	store *db.Store
}

func (s wameowSessions) Linked(ctx context.Context) ([]int64, error) {
	rows, err := s.store.ListWhatsAppDevices(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.SalonID
	}
	return ids, nil
}

func (s wameowSessions) Connect(ctx context.Context, salonIDs []int64) error {
	return s.wa.Start(ctx, salonIDs)
}

// Release closes the connections; the adapter has no lighter way than Disconnect, which also
// records the state "disconnected" until the next owner's connect records its own.
func (s wameowSessions) Release(ctx context.Context, salonIDs []int64) error {
	var errs []error
	for _, id := range salonIDs {
		if err := s.wa.Disconnect(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("salon %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
