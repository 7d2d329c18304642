package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp/shard"
	"github.com/aiadmin/aiadmin/activities/whatsapp/wameow"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/workflows"
)

// shardDrain is how long a shard handed over (rebalancing, shutdown) waits for the activities
// it is running before they are cancelled. A pairing attempt lasts up to 160 s; one cut short
// ends with «try again» on the connect page.
const shardDrain = 30 * time.Second

// shardCount is WHATSAPP_SHARDS, or the default for a Config built without it.
func (c *Config) shardCount() int {
	if c.WhatsAppShards > 0 {
		return c.WhatsAppShards
	}
	return workflows.DefaultWhatsAppShards
}

// baseWorkerOptions are the options of the worker on TEMPORAL_TASK_QUEUE, which runs the
// workflows: its interceptor sends the connection-bound activities to the shard queues.
func (a *app) baseWorkerOptions() worker.Options {
	icpts := []interceptor.WorkerInterceptor{workflows.NewWhatsAppRouting(a.cfg.shardCount())}
	return worker.Options{Interceptors: append(icpts, a.testInterceptors...)}
}

// startShards puts the ownership guard in front of the activities' WhatsApp client and runs
// the shard manager: this process owns some of the WhatsApp shards (PostgreSQL advisory locks),
// connects their salons and runs a Temporal worker with the connection-bound activities on each
// one's task queue. stop hands every shard over and returns when done.
func (a *app) startShards(ctx context.Context, acts *activities.Activities) (stop func(), err error) {
	n := a.cfg.shardCount()
	m, err := shard.New(shard.Options{
		DSN: a.cfg.DatabaseURL, Scope: a.cfg.TemporalNamespace + "/" + a.cfg.TaskQueue, Shards: n,
		ShardOf: func(salonID int64) int { return workflows.WhatsAppShard(salonID, n) },
		NewWorker: func(k int) (shard.Worker, error) {
			w := worker.New(a.temporal, workflows.WhatsAppShardQueue(a.cfg.TaskQueue, k), worker.Options{WorkerStopTimeout: shardDrain})
			acts.Register(connectionBoundOnly{w})
			return w, nil
		},
		Sessions: a.sessions(),
		Eligible: a.connectable,
		Retry:    a.cfg.ShardRetry,
		Name:     processName(),
		Logger:   a.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("whatsapp shards: %w", err)
	}
	acts.WhatsApp = m.Guard(acts.WhatsApp)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(rctx)
	}()
	a.logger.Info("whatsapp shards: standing by for shards", "shards", n,
		"queues", workflows.WhatsAppShardQueue(a.cfg.TaskQueue, 0)+"…")
	return func() { cancel(); <-done }, nil
}

// processName identifies this process among the shard owners (pg_stat_activity).
func processName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("worker %s pid %d", host, os.Getpid())
}

// connectionBoundOnly registers only the activities that need a salon's live connection.
type connectionBoundOnly struct{ r activities.Registry }

func (c connectionBoundOnly) RegisterActivityWithOptions(fn any, opts activity.RegisterOptions) {
	if workflows.ConnectionBound(opts.Name) {
		c.r.RegisterActivityWithOptions(fn, opts)
	}
}

// sessions is how this process opens and closes salons' live connections.
func (a *app) sessions() shard.Sessions {
	switch {
	case a.sim != nil:
		return a.sim
	case a.wa != nil:
		return wameowSessions{wa: a.wa, store: a.store}
	}
	// The in-process simulated phone: one process holds everything, nothing to open or close.
	return noSessions{}
}

// connectable tells whether a linked salon's connection should be open: not while frozen,
// uninstalled or otherwise over.
func (a *app) connectable(ctx context.Context, salonID int64) (bool, error) {
	c, err := a.store.GetCompany(ctx, salonID)
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch workflows.Status(c.InstallStatus) {
	case workflows.StatusFrozen, workflows.StatusUninstalled, workflows.StatusExpired, workflows.StatusFailed:
		return false, nil
	}
	return true, nil
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

type noSessions struct{}

func (noSessions) Linked(context.Context) ([]int64, error) { return nil, nil }
func (noSessions) Connect(context.Context, []int64) error  { return nil }
func (noSessions) Release(context.Context, []int64) error  { return nil }
