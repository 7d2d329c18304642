// Command aiadmin-dev is AI Admin's development binary: `dev` runs the whole product in one
// process for local development and demos (the fake YClients and the simulated phone when no
// YClients credentials are set); `api`, `worker` and `migrate` are the production commands,
// with the simulated WhatsApp clients available too (WHATSAPP_MODE=sim or simserver), for tests
// that run several processes; `cluster` runs a production-like cluster of those processes on
// this machine. Production runs bin/aiadmin, which links none of the fakes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/cmd/internal/ops"
)

// version and commit are stamped by `make build-dev` (-ldflags -X).
var version, commit string

const usage = `usage: aiadmin-dev [command]

commands:
  dev      (default) everything in one process: migrations, worker, API; demo mode (fake YClients
           on FAKE_YCLIENTS_ADDR and a simulated phone) when no YClients credentials are set;
           starts the local Temporal dev server (bin/temporal-dev) when none is reachable
  api      the HTTP API
  worker   the Temporal worker; WHATSAPP_MODE may also be sim or simserver
  migrate  apply database migrations and exit

a production-like cluster on this machine (see README.md):
  cluster        Temporal on PostgreSQL, the fakes, 2 api and 3 worker processes behind a proxy
                 (-ready-file F writes the addresses as JSON; -h lists the flags)
  fake-yclients  the fake YClients with the demo salons (FAKE_YCLIENTS_ADDR, PUBLIC_URL)
  fake-whatsapp  the fake WhatsApp server that WHATSAPP_MODE=simserver workers share (-addr)
  proxy          a round-robin reverse proxy, websockets included (-listen, -backends)

` + ops.Usage + `
(without YClients credentials these read make dev's demo configuration, keys from DATA_DIR)

configuration comes from environment variables; see README.md`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin-dev:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && flagCommands[args[0]] != nil {
		if err := flagCommands[args[0]](args[1:]); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	if len(args) > 0 && ops.Has(args[0]) {
		return ops.Main(args, config.Options{Dev: true, Local: true}, ops.NewBuild("aiadmin-dev", version, commit), os.Stdout)
	}
	return app.Main{Usage: usage, Default: "dev", WhatsApp: whatsAppFor(nil), Local: true,
		Dev: map[string]bool{"dev": true}, Commands: map[string]func(context.Context, *config.Config, *slog.Logger) error{
			"dev": runDev,
		}}.Run(args)
}

// whatsAppFor builds the WhatsApp client WHATSAPP_MODE names: phone (or a new simulated
// phone) for sim, a client of the fake WhatsApp server for simserver, the real one otherwise.
func whatsAppFor(phone *simphone.Phone) app.WhatsAppFunc {
	return func(ctx context.Context, a *app.App, events app.LinkEvents) (app.WhatsApp, error) {
		switch a.Cfg.WhatsAppMode {
		case "sim":
			if phone == nil {
				phone = simphone.New(simphone.Options{})
			}
			changes := phone.Subscribe(ctx)
			go func() {
				for ch := range changes {
					events(ch.SalonID, ch.Status)
				}
			}()
			return app.WhatsApp{Client: phone}, nil
		case "simserver":
			sc, err := simserver.NewClient(simserver.ClientOptions{URL: a.Cfg.WhatsAppSimURL, Logger: a.Logger, Events: events})
			if err != nil {
				return app.WhatsApp{}, fmt.Errorf("WHATSAPP_SIM_URL: %w", err)
			}
			return app.WhatsApp{Client: sc, Sessions: sc, Close: sc.Close}, nil
		case "whatsmeow":
			return app.WhatsMeow(ctx, a, events)
		}
		return app.WhatsApp{}, fmt.Errorf("WHATSAPP_MODE=%q: unknown mode (sim, simserver or whatsmeow)", a.Cfg.WhatsAppMode)
	}
}
