// Command aiadmin is AI Admin's production binary: `api` serves HTTP, `worker` runs the
// Temporal worker (and owns the live WhatsApp connections), `migrate` applies the database
// migrations. It links no fake: the simulated phone and the fake YClients live in the
// development binary (cmd/aiadmin-dev).
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // salons' time zones without the system's zoneinfo (a scratch container)

	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/cmd/internal/ops"
)

// version and commit are stamped by `make build` (-ldflags -X); ops.NewBuild falls back to
// the Go toolchain's VCS stamp.
var version, commit string

const usage = `usage: aiadmin <command>

commands:
  api      the HTTP API (marketplace pages, connect page, webhooks, health)
  worker   the Temporal worker (workflows, activities, live WhatsApp connections)
  migrate  apply database migrations and exit

` + ops.Usage + `

configuration comes from environment variables; see README.md`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && ops.Has(args[0]) {
		return ops.Main(args, config.Options{}, ops.NewBuild("aiadmin", version, commit), os.Stdout)
	}
	return app.Main{Usage: usage, WhatsApp: app.WhatsMeow}.Run(args)
}
