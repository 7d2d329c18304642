// Package ops is the operators' commands of both binaries: version, check-config,
// setup-temporal, status, resync, relink-link, alerts and inbox. Each reads the same
// configuration as api and worker, talks to PostgreSQL and Temporal directly, prints text for
// people (or JSON with --json) on stdout and returns an error for a non-zero exit.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

// Usage lists the commands, for the mains' usage texts.
const Usage = `operating it (configuration as for api and worker; --json for JSON):
  version                     the build's version and commit
  check-config                the effective configuration, secrets masked; exits 1 on errors
  setup-temporal              register the namespace (if missing) and the search attributes
  status <salon>              an installation's state: workflow, WhatsApp, sync, inbox, alerts
  resync <salon>              ask the installation for a catalogue sync now
  relink-link <salon>         a fresh signed re-link link for the owner (support)
  alerts [--since 24h]        operator alerts, newest first (--salon N, --limit N)
  inbox dead-letters          webhooks refused too often (--salon N)
  inbox retry <id>            hand a dead webhook to the dispatcher again`

// commands are the ops commands by name.
var commands = map[string]func(ctx context.Context, e *env, args []string) error{
	"status":         status,
	"resync":         resync,
	"relink-link":    relinkLink,
	"alerts":         alerts,
	"inbox":          inbox,
	"setup-temporal": setupTemporal,
}

// Has reports whether name is an ops command.
func Has(name string) bool {
	_, ok := commands[name]
	return ok || name == "version" || name == "check-config"
}

// Main runs the ops command args names: it reads the configuration (o) itself; out is stdout.
func Main(args []string, o config.Options, b Build, out io.Writer) error {
	switch args[0] {
	case "version":
		return version(b, args[1:], out)
	case "check-config":
		return checkConfig(o, args[1:], out)
	}
	cfg, err := config.LoadWith(o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Exec(ctx, cfg, args, out)
}

// Exec runs an ops command that talks to PostgreSQL or Temporal with cfg (tests call it with
// their stack's configuration).
func Exec(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	fn, ok := commands[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q", args[0])
	}
	e := &env{cfg: cfg, out: out, logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	defer e.close()
	return fn(ctx, e, args[1:])
}

// env is one command's connections, opened when first used.
type env struct {
	cfg      *config.Config
	out      io.Writer
	logger   *slog.Logger
	store    *db.Store
	temporal client.Client
}

func (e *env) db(ctx context.Context) (*db.Store, error) {
	if e.store == nil {
		s, err := db.Open(ctx, e.cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		e.store = s
	}
	return e.store, nil
}

// tc is the Temporal client, with the api's and worker's data converter and propagators.
func (e *env) tc() (client.Client, error) {
	if e.temporal == nil {
		box, err := secretbox.New(e.cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("SECRET_KEY: %w", err)
		}
		c, err := client.NewLazyClient(app.TemporalOptions(e.cfg, box, e.logger))
		if err != nil {
			return nil, fmt.Errorf("temporal client: %w", err)
		}
		e.temporal = c
	}
	return e.temporal, nil
}

func (e *env) close() {
	if e.temporal != nil {
		e.temporal.Close()
	}
	if e.store != nil {
		e.store.Close()
	}
}

// printJSON writes v as indented JSON.
func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// parse parses flags wherever they stand among the arguments (`status 100001 --json` as well
// as `status --json 100001`) and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// salonArg parses the one positional argument: a salon ID.
func salonArg(cmd string, pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, fmt.Errorf("usage: %s <salon ID>", cmd)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s: want a salon ID (a positive number), got %q", cmd, pos[0])
	}
	return id, nil
}

// errUsage is returned for arguments a command does not take.
var errUsage = errors.New("see `aiadmin help`")
