// Command aiadmin is AI Admin's production binary: `api` serves HTTP, `worker` runs the
// Temporal worker (and owns the live WhatsApp connections), `migrate` applies the database
// migrations. It links no fake: the simulated phone and the fake YClients live in the
// development binary (cmd/aiadmin-dev).
package main

import (
	"fmt"
	"os"

	"github.com/aiadmin/aiadmin/cmd/internal/app"
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
	return app.Main{Usage: usage, WhatsApp: app.WhatsMeow}.Run(args)
}
