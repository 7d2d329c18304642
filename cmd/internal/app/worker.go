package app

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/reqid"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/cmd/internal/incoming"
	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/db"
	httpapi "github.com/aiadmin/aiadmin/http"
	"github.com/aiadmin/aiadmin/workflows"
)

// workerStopTimeout is how long a stopping Temporal worker (shutdown, or a shard handed
// over) lets its running activities finish before their contexts are cancelled. A pairing
// attempt does not wait for it: it ends as soon as its worker stops (the connect page offers
// a new code), so a process with a pairing open stops within seconds.
const workerStopTimeout = 10 * time.Second

// startWorker runs the Temporal worker of TEMPORAL_TASK_QUEUE (the workflows and the
// activities that need no live WhatsApp connection), the WhatsApp shard manager (the
// connection-bound activities on the shards this process owns), the inbox dispatcher and the
// handler of clients' incoming messages. stop ends them in reverse order.
func (a *App) startWorker(ctx context.Context) (stop func(), err error) {
	setWorkflowCache(a.Cfg.WorkflowCache)
	notifier := notify.New(notify.Config{Store: a.Store, Logger: a.Logger, WebhookURL: a.Cfg.OpsWebhookURL,
		OwnerWebhookURL: a.Cfg.OwnerWebhookURL})
	// The shard manager registers the activities on each shard's worker when it takes the
	// shard, which happens only once it runs: set is built before that, with the manager's
	// ownership guard in front of the WhatsApp client.
	var set activities.Set
	shards, err := a.newShards(func(r activities.Registry) { set.Register(connectionBoundOnly{r}) }, notifier)
	if err != nil {
		return nil, err
	}
	guarded := shards.Guard(a.WhatsApp.Client)
	set, err = activities.NewSet(activities.Deps{
		Store: a.Store, YClients: a.YClients, WhatsApp: guarded, Box: a.Box,
		Notifier: notifier, Temporal: a.Temporal, PublicURL: a.Cfg.PublicURL, Logger: a.Logger, ReviewDelay: a.Cfg.ReviewDelay,
		RelinkURL: func(in activities.RelinkInput) (string, error) {
			return httpapi.RelinkURL(a.Cfg.PublicURL, a.Cfg.SessionSecret,
				httpapi.RelinkLink{SalonID: in.SalonID, InstallID: in.InstallID, Generation: in.Generation}, activities.RelinkTTL, time.Now())
		},
	})
	if err != nil {
		return nil, err
	}
	w := worker.New(a.Temporal, a.Cfg.TaskQueue, worker.Options{WorkerStopTimeout: workerStopTimeout, Interceptors: append(
		[]interceptor.WorkerInterceptor{workflows.NewWhatsAppRouting(a.Cfg.ShardCount()), &redactFailures{}, &reqid.Interceptor{}}, a.opts.Interceptors...)})
	registerWorkflows(w)
	set.Register(w)

	var stops []func()
	stopAll := func() {
		a.worker.Store(nil) // not ready while stopping
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stops = append(stops, a.runBackground(ctx, shards.Run))
	a.Logger.Info("whatsapp shards: standing by for shards", "shards", a.Cfg.ShardCount(),
		"queues", workflows.WhatsAppShardQueue(a.Cfg.TaskQueue, 0)+"…")
	if err := w.Start(); err != nil {
		stopAll()
		return nil, fmt.Errorf("temporal worker: %w", err)
	}
	stops = append(stops, w.Stop)
	replies := incoming.New(incoming.Options{Store: a.Store, Ledger: ledger.New(a.Store, guarded, nil),
		Temporal: a.Temporal, TaskQueue: a.Cfg.TaskQueue, RefKey: a.Cfg.SecretKey, Logger: a.Logger})
	a.WhatsApp.Client.SetIncomingHandler(func(ctx context.Context, m whatsapp.Incoming) {
		if err := replies.Handle(ctx, m); err != nil {
			a.Logger.Warn("incoming message", "salonID", m.SalonID, "err", err)
		}
	})
	d := dispatcher.New(dispatcher.Options{Store: a.Store, Temporal: a.Temporal, TaskQueue: a.Cfg.TaskQueue, NoticeMerge: a.Cfg.NoticeMerge, Logger: a.Logger,
		Alerts: notifier, Name: processName(), Retention: a.Cfg.InboxRetention,
		RowRetention: a.Cfg.InboxRowRetention, MessageRetention: a.Cfg.MessageRetention,
		MessageRowRetention: a.Cfg.MessageRowRetention})
	stops = append(stops, a.runBackground(ctx, d.Run))
	a.worker.Store(&workerRuntime{shards: shards, dispatcher: d})
	a.Logger.Info("worker started", "taskQueue", a.Cfg.TaskQueue, "temporal", a.Cfg.TemporalAddress)
	return stopAll, nil
}

var cacheOnce sync.Once

// setWorkflowCache sizes the process's sticky workflow cache (the SDK's is process-wide and
// must be set before the first worker starts; the first worker of a process sets it).
func setWorkflowCache(n int) {
	if n > 0 {
		cacheOnce.Do(func() { worker.SetStickyWorkflowCacheSize(n) })
	}
}

// registerWorkflows registers every workflow under its stable name.
func registerWorkflows(w worker.Worker) {
	w.RegisterWorkflowWithOptions(workflows.Installation, workflow.RegisterOptions{Name: workflows.InstallationWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.Booking, workflow.RegisterOptions{Name: workflows.BookingWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.ClientWelcome, workflow.RegisterOptions{Name: workflows.ClientWelcomeWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.SendSample, workflow.RegisterOptions{Name: workflows.SendSampleWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.ClientReplies, workflow.RegisterOptions{Name: workflows.ClientReplyWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.ReviewRequest, workflow.RegisterOptions{Name: workflows.ReviewRequestWorkflowName})
}

// runBackground runs fn until stop is called (or ctx ends); stop waits for it to return.
func (a *App) runBackground(ctx context.Context, fn func(context.Context) error) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = fn(rctx)
	}()
	return func() { cancel(); <-done }
}

// newShards builds the WhatsApp shard manager: this process owns some of the shards
// (PostgreSQL advisory locks), connects their salons and runs a Temporal worker with the
// connection-bound activities on each one's task queue; register registers them. A shard
// without an owner for 2 min is an operator alert (kind shard_ownerless).
func (a *App) newShards(register func(activities.Registry), alerts shard.Alerter) (*shard.Manager, error) {
	n := a.Cfg.ShardCount()
	sessions := a.WhatsApp.Sessions
	if sessions == nil {
		sessions = noSessions{}
	}
	m, err := shard.New(shard.Options{
		DSN: a.Cfg.DatabaseURL, Scope: a.Cfg.TemporalNamespace + "/" + a.Cfg.TaskQueue, Shards: n,
		ShardOf: func(salonID int64) int { return workflows.WhatsAppShard(salonID, n) },
		NewWorker: func(k int) (shard.Worker, error) {
			w := worker.New(a.Temporal, workflows.WhatsAppShardQueue(a.Cfg.TaskQueue, k), worker.Options{
				WorkerStopTimeout: workerStopTimeout, Interceptors: append(
					[]interceptor.WorkerInterceptor{&redactFailures{}, &reqid.Interceptor{}}, a.opts.Interceptors...)})
			register(w)
			return w, nil
		},
		Sessions: sessions,
		Eligible: a.connectable,
		Retry:    a.Cfg.ShardRetry,
		Alerts:   alerts,
		Name:     processName(),
		Logger:   a.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("whatsapp shards: %w", err)
	}
	return m, nil
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

// connectable tells whether a linked salon's connection should be open: not while frozen,
// uninstalled or otherwise over.
func (a *App) connectable(ctx context.Context, salonID int64) (bool, error) {
	c, err := a.Store.GetCompany(ctx, salonID)
	if db.IsNotFound(err) {
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

// noSessions is the in-process simulated phone's: one process holds everything, nothing to
// open or close.
type noSessions struct{}

func (noSessions) Linked(context.Context) ([]int64, error) { return nil, nil }
func (noSessions) Connect(context.Context, []int64) error  { return nil }
func (noSessions) Release(context.Context, []int64) error  { return nil }
