// Package dispatcher moves YClients entity webhooks from the durable inbox (webhook_inbox,
// filled by the HTTP layer before it answers 2xx) into Temporal: record events become signals
// of the per-record booking workflows, new clients start their welcome when the salon wants
// one.
//
// The inbox is handed on in lanes, one per (salon, resource, resource ID): within a lane in
// inbox order, the lanes in parallel (Options.Parallel). Rows are leased for a short time
// rather than locked in a transaction held open across Temporal calls. A row Temporal refuses
// waits, longer after each attempt, and holds back only the later rows of its own lane; after
// Options.MaxAttempts it goes dead, with an operator alert, and its lane goes on. A delivery
// byte-identical to the lane's previous one costs no signal. The dispatcher looks at the
// inbox as soon as the intake announces committed webhooks (a NOTIFY on inbox.Channel, heard
// on its lock connection), and every Options.Interval in any case.
//
// One dispatcher per cluster works at a time: it holds a PostgreSQL advisory lock on a
// connection of its own, watched continuously and verified every Options.LockCheck; when the
// connection is gone it stops at once, and a standby (retrying every Options.LockRetry) takes
// over. In its idle time the working dispatcher purges the bodies of rows finished more than
// Options.Retention ago, deletes those rows Options.RowRetention after they finished, deletes
// expired pairing events, and ages the message ledger (Options.MessageRetention,
// Options.MessageRowRetention).
package dispatcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/db"
)

// Defaults for Options.
const (
	DefaultInterval     = 200 * time.Millisecond
	DefaultWakeGap      = 25 * time.Millisecond
	DefaultBatchSize    = 100
	DefaultParallel     = 8
	DefaultMaxAttempts  = 10
	DefaultRetryBase    = time.Second
	DefaultRetryMax     = 5 * time.Minute
	DefaultRetention    = 7 * 24 * time.Hour
	DefaultRowRetention = 90 * 24 * time.Hour
	DefaultPurgeEvery   = 10 * time.Minute
	DefaultLockRetry    = 2 * time.Second
	DefaultLockCheck    = time.Second
	DefaultLockTimeout  = 5 * time.Second
)

// Options configure a Dispatcher.
type Options struct {
	Store     *db.Store
	Temporal  Temporal
	TaskQueue string // of the booking and client-welcome workflows
	// NoticeMerge is given to the booking workflows (BookingInput.MergeWindow); zero: theirs.
	NoticeMerge time.Duration
	Logger      *slog.Logger // nil: slog.Default()
	// Alerts receives the alert of a dead row; nil: a notify.Notifier on Store (ops_alerts
	// and the log).
	Alerts Alerter
	// Name identifies this process among the dispatchers (pg_stat_activity.application_name
	// of the lock connection is "aiadmin-inbox <Name>"); default: host and pid.
	Name         string
	Interval     time.Duration // poll interval when idle and not told of stored webhooks (default 200 ms)
	WakeGap      time.Duration // shortest time between the beginnings of two looks when told (default 25 ms)
	BatchSize    int           // rows claimed at once (default 100)
	Parallel     int           // lanes handed on at once (default 8)
	MaxAttempts  int           // attempts before a refused row goes dead (default 10)
	RetryBase    time.Duration // wait after a row's first refusal, doubled after each (default 1 s)
	RetryMax     time.Duration // longest wait between a row's attempts (default 5 min)
	Retention    time.Duration // finished rows keep their body this long (default 7 days)
	RowRetention time.Duration // and are deleted this long after they finished, dead rows excepted (default 90 days)
	PurgeEvery   time.Duration // how often idle time is used to purge (default 10 min)
	LockRetry    time.Duration // how often a standby tries the dispatcher lock (default 2 s)
	LockCheck    time.Duration // how often the lock is verified on its connection (default 1 s)
	LockTimeout  time.Duration // a verification slower than this counts as a lost lock (default 5 s)

	// MessageRetention: an ended message keeps its number and text this long after it was
	// written, ended and visited (default ledger.DefaultRetention, 90 days).
	MessageRetention time.Duration
	// MessageRowRetention: a visit's message row is deleted this long after it was written
	// and visited (default ledger.DefaultRowRetention, 365 days).
	MessageRowRetention time.Duration
}

// Temporal is the part of the Temporal client the dispatcher uses.
type Temporal interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Alerter raises operator alerts (notify.Notifier fits).
type Alerter interface {
	Notify(ctx context.Context, a notify.Alert) error
}

// Dispatcher moves inbox rows into Temporal and marks them. It survives restarts of either
// side: the inbox is the queue.
type Dispatcher struct {
	store        *db.Store
	temporal     Temporal
	taskQueue    string
	log          *slog.Logger
	alerts       Alerter
	name         string
	token        string // marks this dispatcher's leases
	interval     time.Duration
	wakeGap      time.Duration
	batchSize    int
	parallel     int
	maxAttempts  int
	retryBase    time.Duration
	retryMax     time.Duration
	retention    time.Duration
	rowRetention time.Duration
	purgeEvery   time.Duration
	msgRetention time.Duration
	msgRows      time.Duration
	lockRetry    time.Duration
	lockCheck    time.Duration
	lockTimeout  time.Duration

	active    atomic.Bool
	wake      chan struct{} // buffered 1: webhooks were stored since the loop last looked
	lastPurge time.Time     // used by the working loop only
	clocks    salonClocks
	merge     time.Duration

	finishStatements atomic.Int64 // statements that recorded rows' ends, for tests
}

// New returns a Dispatcher.
func New(o Options) *Dispatcher {
	d := &Dispatcher{merge: o.NoticeMerge, clocks: salonClocks{store: o.Store}, store: o.Store, temporal: o.Temporal, taskQueue: o.TaskQueue, log: o.Logger, alerts: o.Alerts,
		name: o.Name, interval: o.Interval, wakeGap: o.WakeGap, batchSize: o.BatchSize, parallel: o.Parallel, maxAttempts: o.MaxAttempts,
		retryBase: o.RetryBase, retryMax: o.RetryMax, retention: o.Retention, rowRetention: o.RowRetention, purgeEvery: o.PurgeEvery,
		msgRetention: o.MessageRetention, msgRows: o.MessageRowRetention,
		lockRetry: o.LockRetry, lockCheck: o.LockCheck, lockTimeout: o.LockTimeout}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.alerts == nil {
		d.alerts = notify.New(notify.Config{Store: o.Store, Logger: d.log})
	}
	if d.name == "" {
		host, _ := os.Hostname()
		d.name = fmt.Sprintf("%s pid %d", host, os.Getpid())
	}
	d.token = d.name + " " + randomHex(6)
	d.wake = make(chan struct{}, 1)
	orDefault(&d.interval, DefaultInterval)
	orDefault(&d.wakeGap, DefaultWakeGap)
	orDefault(&d.batchSize, DefaultBatchSize)
	orDefault(&d.parallel, DefaultParallel)
	orDefault(&d.maxAttempts, DefaultMaxAttempts)
	orDefault(&d.retryBase, DefaultRetryBase)
	orDefault(&d.retryMax, DefaultRetryMax)
	orDefault(&d.retention, DefaultRetention)
	orDefault(&d.rowRetention, DefaultRowRetention)
	orDefault(&d.purgeEvery, DefaultPurgeEvery)
	orDefault(&d.msgRetention, ledger.DefaultRetention)
	orDefault(&d.msgRows, ledger.DefaultRowRetention)
	orDefault(&d.lockRetry, DefaultLockRetry)
	orDefault(&d.lockCheck, DefaultLockCheck)
	orDefault(&d.lockTimeout, DefaultLockTimeout)
	return d
}

func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Active reports whether this process holds the dispatcher lock and works the inbox now.
func (d *Dispatcher) Active() bool {
	return d.active.Load()
}

// Run dispatches until ctx ends. Several processes may run it; one holds the lock and
// works, the others stand by.
func (d *Dispatcher) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := d.lead(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("inbox dispatcher", "err", err)
		}
		sleep(ctx, d.lockRetry)
	}
	return nil
}

// loop works the inbox until ctx ends (shutdown, or the lock is lost).
func (d *Dispatcher) loop(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		began := time.Now()
		claimed, _, err := d.pass(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("inbox: Temporal or PostgreSQL unreachable; will retry", "err", err, "retryIn", backoff)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if claimed < d.batchSize { // keeping up: time to spare
			d.tidy(ctx)
			d.idle(ctx, began, claimed <= d.parallel)
		}
	}
}

// idle waits for the next look at the inbox: interval, or, after a look that found the inbox
// quiet (no more rows than lanes handed on at once), less when the intake announces stored
// webhooks (watch), though not before wakeGap after the last look began. A look costs its
// claim and the rows' ends, two commits, whatever it finds: while webhooks come in numbers a
// look every interval takes them in fuller claims, and when they come one by one each is
// handed on at once.
func (d *Dispatcher) idle(ctx context.Context, last time.Time, quiet bool) {
	t := time.NewTimer(d.interval)
	defer t.Stop()
	wake := d.wake
	if !quiet {
		wake = nil
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
		sleep(ctx, time.Until(last.Add(d.wakeGap)))
	}
}

// wakeUp ends the working loop's current or next idle wait.
func (d *Dispatcher) wakeUp() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
