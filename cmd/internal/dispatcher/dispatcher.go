// Package dispatcher moves YClients entity webhooks from the durable inbox (webhook_inbox,
// filled by the HTTP layer before it answers 2xx) into Temporal: record events become signals
// of the per-record booking workflows, new clients start their welcome when the salon wants
// one. One dispatcher per cluster works at a time (a PostgreSQL advisory lock); the others
// stand by.
package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

// dispatcherLock is the PostgreSQL advisory lock key held by the one active dispatcher:
// a single reader of the inbox keeps each record's events in order.
const dispatcherLock = 0x41494144_494e4258 // "AIADINBX"

// Options configure a Dispatcher.
type Options struct {
	Store     *db.Store
	Temporal  Temporal
	TaskQueue string        // of the booking and client-welcome workflows
	Logger    *slog.Logger  // nil: slog.Default()
	Interval  time.Duration // poll interval when idle (default 200 ms)
	BatchSize int           // rows per transaction (default 100)
}

// Temporal is the part of the Temporal client the dispatcher uses.
type Temporal interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Dispatcher moves inbox rows into Temporal, oldest first, retrying until Temporal accepts
// them, and marks them processed. It survives restarts of either side: the inbox is the
// queue.
type Dispatcher struct {
	store     *db.Store
	temporal  Temporal
	taskQueue string
	log       *slog.Logger
	interval  time.Duration
	batchSize int
}

// New returns a Dispatcher.
func New(o Options) *Dispatcher {
	d := &Dispatcher{store: o.Store, temporal: o.Temporal, taskQueue: o.TaskQueue, log: o.Logger,
		interval: o.Interval, batchSize: o.BatchSize}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.interval <= 0 {
		d.interval = 200 * time.Millisecond
	}
	if d.batchSize <= 0 {
		d.batchSize = 100
	}
	return d
}

// Run dispatches until ctx ends. Several processes may run it; one holds the lock and
// works, the others stand by.
func (d *Dispatcher) Run(ctx context.Context) error {
	log := d.log
	for ctx.Err() == nil {
		err := d.withLock(ctx, func(conn *pgxpool.Conn) error { return d.loop(ctx) })
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Warn("inbox dispatcher", "err", err)
		}
		sleep(ctx, 2*time.Second)
	}
	return nil
}

func (d *Dispatcher) loop(ctx context.Context) error {
	backoff := time.Second
	for ctx.Err() == nil {
		n, err := d.DispatchOnce(ctx)
		if err != nil {
			d.log.Warn("inbox: Temporal did not accept an event; will retry", "err", err, "retryIn", backoff)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		if n < d.batchSize {
			sleep(ctx, d.interval)
		}
	}
	return nil
}

// withLock runs fn while holding the dispatcher's session advisory lock; it returns nil at
// once when another process holds it.
func (d *Dispatcher) withLock(ctx context.Context, fn func(*pgxpool.Conn) error) error {
	conn, err := d.store.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(dispatcherLock)).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(dispatcherLock))
	}()
	return fn(conn)
}

// DispatchOnce hands one batch of pending rows to Temporal, in order, and reports how many
// it finished. It stops at the first row Temporal does not accept, so later events of the
// same record never overtake it.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	done := 0
	var stop error
	err := d.store.InTx(ctx, func(q *sqlc.Queries) error {
		rows, err := q.ClaimPendingInbox(ctx, int32(d.batchSize))
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := d.dispatch(ctx, q, row); err != nil {
				stop = err
				return q.RecordInboxAttempt(ctx, sqlc.RecordInboxAttemptParams{ID: row.ID, LastError: err.Error()})
			}
			done++
		}
		return nil
	})
	if err != nil {
		return done, err
	}
	return done, stop
}

func (d *Dispatcher) dispatch(ctx context.Context, q *sqlc.Queries, row sqlc.WebhookInbox) error {
	env, _, err := yclients.ParseWebhook(row.Body)
	if err != nil {
		return q.MarkInboxFailed(ctx, sqlc.MarkInboxFailedParams{ID: row.ID, LastError: err.Error()})
	}
	switch env.Resource {
	case "record":
		ev, err := recordEvent(row, env)
		if err != nil {
			return q.MarkInboxFailed(ctx, sqlc.MarkInboxFailedParams{ID: row.ID, LastError: err.Error()})
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = d.temporal.SignalWithStartWorkflow(sctx, workflows.BookingID(row.SalonID, row.ResourceID),
			workflows.SignalRecordEvent, ev, client.StartWorkflowOptions{
				ID: workflows.BookingID(row.SalonID, row.ResourceID), TaskQueue: d.taskQueue,
				WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
				TypedSearchAttributes: temporal.NewSearchAttributes(
					workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(row.SalonID, 10))),
			}, workflows.BookingWorkflowName, workflows.BookingInput{SalonID: row.SalonID, RecordID: row.ResourceID})
		if err != nil {
			return fmt.Errorf("signal %s: %w", workflows.BookingID(row.SalonID, row.ResourceID), err)
		}
		return q.MarkInboxProcessed(ctx, row.ID)
	case "client":
		if env.Status != "delete" {
			if c, err := yclients.DecodeClient(env.Data); err == nil {
				phone, _ := whatsapp.NormalizePhone(c.Phone)
				if err := q.UpsertClient(ctx, sqlc.UpsertClientParams{SalonID: row.SalonID, YClientsID: c.ID, Name: c.Name, Phone: phone}); err != nil {
					return err
				}
				if env.Status == "create" {
					if err := d.welcome(ctx, q, row.SalonID, c, phone); err != nil {
						return err
					}
				}
			}
		}
		return q.MarkInboxProcessed(ctx, row.ID)
	default:
		return q.MarkInboxIgnored(ctx, sqlc.MarkInboxIgnoredParams{ID: row.ID, Reason: "resource " + env.Resource + " not handled"})
	}
}

// recordEvent turns a record webhook into the booking workflow's signal.
func recordEvent(row sqlc.WebhookInbox, env yclients.Webhook) (workflows.RecordEvent, error) {
	ev := workflows.RecordEvent{InboxID: row.ID, Status: env.Status, ReceivedAt: row.ReceivedAt}
	rec, err := yclients.DecodeRecord(env.Data)
	if err != nil {
		if env.Status == "delete" {
			ev.Deleted = true
			return ev, nil
		}
		return ev, err
	}
	ev.Attendance, ev.Deleted = rec.Attendance, rec.Deleted
	ev.Visit = activities.Visit{Start: rec.Datetime, StaffID: rec.StaffID, StaffName: rec.Staff.Name}
	if ev.Visit.StaffID == 0 {
		ev.Visit.StaffID = rec.Staff.ID
	}
	services := slices.Clone(rec.Services)
	slices.SortFunc(services, func(a, b yclients.RecordService) int { return int(a.ID - b.ID) })
	for _, s := range services {
		ev.Visit.ServiceIDs = append(ev.Visit.ServiceIDs, s.ID)
		ev.Visit.Services = append(ev.Visit.Services, s.Title)
	}
	if rec.Client != nil {
		ev.Visit.ClientName, ev.Visit.ClientPhone = rec.Client.Name, rec.Client.Phone
	}
	return ev, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// welcome starts the new client's welcome when the salon enabled it (off by default): one
// workflow per client, whatever the number of duplicate webhooks.
func (d *Dispatcher) welcome(ctx context.Context, q *sqlc.Queries, salonID int64, c yclients.WebhookClient, phone string) error {
	settings, err := q.GetSalonSettings(ctx, salonID)
	if err != nil || !settings.ClientWelcome || phone == "" {
		return nil // unknown salon, welcome off, or nobody to write to
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id := workflows.ClientWelcomeID(salonID, c.ID)
	_, err = d.temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: d.taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(salonID, 10))),
	}, workflows.ClientWelcomeWorkflowName, activities.NewClient{SalonID: salonID, ClientID: c.ID, Name: c.Name, Phone: phone})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // welcomed before
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}
