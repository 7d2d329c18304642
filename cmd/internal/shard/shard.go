// Package shard gives every salon's live WhatsApp connection exactly one owner among the
// worker processes. Two processes holding one session push each other off («stream
// replaced», see shared/reference/whatsapp-whatsmeow.md §8), so salons are spread over N
// shards and each shard is owned by one process at a time, enforced by a PostgreSQL session
// advisory lock held on a dedicated connection: PostgreSQL releases it by itself when the
// process dies and its connection drops.
//
// The owner of a shard connects the shard's linked salons and runs a Temporal worker on the
// shard's task queue, where the activities that need a salon's connection are scheduled (see
// workflows.WhatsAppRouting). Every manager retries the shards it does not own every
// Options.Retry, so a standby takes over a dead owner's shards within about one retry interval
// and reconnects their salons. Shards are spread evenly: a manager owns at most ceil(N /
// running managers) and hands surplus shards over gracefully (stop the worker after its
// running activities, disconnect, unlock), one at a time.
//
// A manager that loses its lock connection stops using the shards at once (Guard refuses
// their salons, pairing attempts are cancelled), then stops their workers and disconnects.
// The connection is watched continuously (a closed socket is seen at once) and verified every
// Options.Retry; a verification that cannot reach PostgreSQL within LockTimeout counts as a
// loss, so a process cut off from PostgreSQL fences itself long before PostgreSQL notices the
// dead peer and lets another process take over.
package shard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aiadmin/aiadmin/activities/notify"
)

// Defaults for Options.
const (
	DefaultRetry       = 5 * time.Second
	DefaultLockTimeout = 10 * time.Second
	sessionOpTimeout   = 30 * time.Second
)

// Worker is a shard's Temporal worker (worker.Worker fits). Stop waits for the activities it
// is running, up to the worker's own stop timeout.
type Worker interface {
	Start() error
	Stop()
}

// Sessions opens and closes salons' live connections in this process.
type Sessions interface {
	// Linked lists the salons with kept credentials that should be connected (not frozen).
	Linked(ctx context.Context) ([]int64, error)
	// Connect connects the salons' kept devices; salons without one are skipped.
	Connect(ctx context.Context, salonIDs []int64) error
	// Release closes the salons' connections in this process without forgetting anything
	// (the shard goes to another process).
	Release(ctx context.Context, salonIDs []int64) error
}

// Options configures a Manager.
type Options struct {
	// DSN is the PostgreSQL database holding the locks; the manager keeps one connection.
	DSN string
	// Scope names the set of managers sharing the shards (e.g. namespace + base task queue).
	Scope string
	// Shards is the shard count, the same on every manager of the scope (1..MaxShards).
	Shards int
	// ShardOf maps a salon to its shard (workflows.WhatsAppShard).
	ShardOf func(salonID int64) int
	// NewWorker builds the Temporal worker of a shard's task queue (not started).
	NewWorker func(shard int) (Worker, error)
	// Sessions connects and releases salons.
	Sessions Sessions
	// Eligible, if set, tells whether a salon listed by Sessions.Linked should be connected
	// (e.g. not frozen or uninstalled in the application's own records).
	Eligible func(ctx context.Context, salonID int64) (bool, error)
	// Retry is how often the lock connection is verified and free shards are tried (default 5 s).
	Retry time.Duration
	// LockTimeout bounds one round of lock queries; beyond it the shards count as lost
	// (default 10 s).
	LockTimeout time.Duration
	// Alerts receives the operator alert of a shard that has had no owner for longer than
	// OwnerlessAfter (nil: none is raised).
	Alerts Alerter
	// OwnerlessAfter is how long a shard may go without an owner before the alert (default 2 min).
	OwnerlessAfter time.Duration
	// Name identifies this process in pg_stat_activity.application_name
	// ("aiadmin-shards <Name>"), which Owners reports.
	Name   string
	Logger *slog.Logger
}

// Alerter raises operator alerts (notify.Notifier fits).
type Alerter interface {
	Notify(ctx context.Context, a notify.Alert) error
}

// Manager owns shards for this process. Build it with New, run it with Run.
type Manager struct {
	opts Options
	log  *slog.Logger
	hi   int64

	mu       sync.Mutex
	slots    []*slot
	members  int
	logged   string // last logged ownership line
	mismatch string // other shard counts seen, "" when none
	wake     chan struct{}

	// The Run goroutine's own view of the shards' owners (watchOwners).
	alerter    bool              // this manager raises the scope's ownerless alerts
	ownerSince map[int]time.Time // shards without an owner: since when
	alerted    map[int]bool      // shards whose current ownerless period was reported
}

type slotState int

const (
	slotFree      slotState = iota
	slotActive              // lock held, worker running
	slotReleasing           // handing over or lost: worker stopping, connections closing
	slotUnlock              // handed over: connections closed, lock to be released
)

type slot struct {
	state slotState
	term  *term
	lost  bool // the lock went with the connection: nothing to unlock
}

// term is one period of ownership of a shard.
type term struct {
	shard  int
	ctx    context.Context // cancelled when the term ends: pairing attempts end with it
	cancel context.CancelFunc
	worker Worker

	// allowed turns false once, when the term ends. gate orders connects against it: a
	// connect holds gate shared and checks allowed; ending the term clears allowed and then
	// takes gate exclusively, so no connection opens afterwards and every one opened before
	// is in attached, to be released.
	allowed  atomic.Bool
	gate     sync.RWMutex
	mu       sync.Mutex
	attached map[int64]bool // salons connected in this term
}

func (t *term) attach(id int64) {
	t.mu.Lock()
	t.attached[id] = true
	t.mu.Unlock()
}

func (t *term) salons() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]int64, 0, len(t.attached))
	for id := range t.attached {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// New checks the options and returns a manager owning nothing.
func New(opts Options) (*Manager, error) {
	switch {
	case opts.DSN == "":
		return nil, errors.New("shard: Options.DSN is required")
	case opts.Shards < 1 || opts.Shards > MaxShards:
		return nil, fmt.Errorf("shard: %d shards: want 1..%d", opts.Shards, MaxShards)
	case opts.ShardOf == nil || opts.NewWorker == nil || opts.Sessions == nil:
		return nil, errors.New("shard: Options.ShardOf, NewWorker and Sessions are required")
	}
	if opts.Retry <= 0 {
		opts.Retry = DefaultRetry
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.OwnerlessAfter <= 0 {
		opts.OwnerlessAfter = DefaultOwnerlessAfter
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{opts: opts, log: opts.Logger.With("component", "whatsapp-shards"), hi: scopeHash(opts.Scope),
		slots: make([]*slot, opts.Shards), wake: make(chan struct{}, 1),
		ownerSince: map[int]time.Time{}, alerted: map[int]bool{}}
	for i := range m.slots {
		m.slots[i] = &slot{}
	}
	return m, nil
}

// Owned returns the shards this process owns now, in order (for health pages and logs).
func (m *Manager) Owned() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ownedLocked()
}

func (m *Manager) ownedLocked() []int {
	var out []int
	for k, s := range m.slots {
		if s.state == slotActive {
			out = append(out, k)
		}
	}
	return out
}

// Owns reports whether this process may use the salon's connection now.
func (m *Manager) Owns(salonID int64) bool {
	t := m.termOf(salonID)
	return t != nil && t.allowed.Load()
}

// termOf returns the running term of the salon's shard, if any.
func (m *Manager) termOf(salonID int64) *term {
	k := m.opts.ShardOf(salonID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if k < 0 || k >= len(m.slots) {
		return nil
	}
	return m.slots[k].term
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run owns shards until ctx ends, then hands them all over (workers stopped, connections
// closed, locks released) and returns.
func (m *Manager) Run(ctx context.Context) error {
	var conn *pgx.Conn
	defer func() { m.shutdown(conn) }()
	for ctx.Err() == nil {
		if conn == nil {
			c, err := m.dial(ctx)
			if err != nil {
				if ctx.Err() == nil {
					m.log.Warn("whatsapp shards: cannot reach PostgreSQL; retrying", "err", err)
				}
				sleep(ctx, m.opts.Retry)
				continue
			}
			conn = c
		}
		err := m.tick(ctx, conn)
		if err == nil {
			err = m.wait(ctx, conn)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Error("whatsapp shards: lock connection lost; giving up every shard", "err", err)
			m.loseAll()
			closeConn(conn)
			conn = nil
			m.report()
			sleep(ctx, m.opts.Retry)
		}
	}
	return nil
}

func (m *Manager) dial(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(m.opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("shard: parse DSN: %w", err)
	}
	cfg.RuntimeParams["application_name"] = truncate("aiadmin-shards "+m.opts.Name, 63)
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > m.opts.LockTimeout {
		cfg.ConnectTimeout = m.opts.LockTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, m.opts.LockTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(cctx, `SELECT pg_advisory_lock_shared($1)`, lockKey(m.hi, kindMember, m.opts.Shards, 0)); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("shard: member lock: %w", err)
	}
	return conn, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func closeConn(conn *pgx.Conn) {
	if conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// wait parks the connection until the next round: a dropped connection ends the wait at
// once with an error, a poke or the retry interval without one.
func (m *Manager) wait(ctx context.Context, conn *pgx.Conn) error {
	wctx, cancel := context.WithTimeout(ctx, m.opts.Retry)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-m.wake:
			cancel()
		case <-stop:
		}
	}()
	err := conn.PgConn().WaitForNotification(wctx)
	if err == nil || (wctx.Err() != nil && !conn.IsClosed()) {
		return nil
	}
	return err
}
