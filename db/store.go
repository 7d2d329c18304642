// Package db is the hand-written wrapper around the sqlc-generated queries in
// db/sqlc: it opens the pgx pool, runs transactions, applies the embedded
// goose migrations and maps pgx.ErrNoRows to ErrNotFound.
package db

//go:generate go run github.com/sqlc-dev/sqlc/cmd/sqlc@v1.30.0 generate -f sqlc.yaml

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

// ErrNotFound is returned (via NotFound) when a query that expects a row finds none.
var ErrNotFound = errors.New("db: not found")

// Pool limits used unless the DSN sets pool_* parameters itself. Two cores
// and a handful of workers need few connections; idle ones are let go so a
// restarted PostgreSQL is noticed quickly.
const (
	defaultMaxConns          = 10
	defaultMinConns          = 0
	defaultMaxConnLifetime   = 30 * time.Minute
	defaultMaxConnIdleTime   = 5 * time.Minute
	defaultHealthCheckPeriod = 30 * time.Second
	defaultConnectTimeout    = 5 * time.Second
)

// Store is the application's handle on PostgreSQL: the generated queries bound
// to the pool, plus the pool itself for InTx and the rare hand-written query.
type Store struct {
	*sqlc.Queries
	Pool *pgxpool.Pool
}

// Open connects a pool to dsn and pings it so a bad DSN fails here, not on
// the first query.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("db: parse dsn: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if !strings.Contains(dsn, "pool_min_conns") {
		cfg.MinConns = defaultMinConns
	}
	if !strings.Contains(dsn, "pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = defaultMaxConnLifetime
	}
	if !strings.Contains(dsn, "pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = defaultMaxConnIdleTime
	}
	if !strings.Contains(dsn, "pool_health_check_period") {
		cfg.HealthCheckPeriod = defaultHealthCheckPeriod
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: ping %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return &Store{Queries: sqlc.New(pool), Pool: pool}, nil
}

// Close closes the pool, waiting for acquired connections to be released.
func (s *Store) Close() {
	s.Pool.Close()
}

// InTx runs fn in a transaction with queries bound to it. The transaction
// commits when fn returns nil and rolls back when it returns an error or panics.
func (s *Store) InTx(ctx context.Context, fn func(q *sqlc.Queries) error) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(s.Queries.WithTx(tx))
	})
}

// NotFound maps pgx.ErrNoRows (from a :one query) to ErrNotFound and returns
// any other error, including nil, unchanged, for callers that pass the error on.
func NotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// IsNotFound reports whether a :one query found no row.
//
//	c, err := store.GetCompany(ctx, salonID)
//	if db.IsNotFound(err) { ... }
func IsNotFound(err error) bool {
	return errors.Is(err, pgx.ErrNoRows) || errors.Is(err, ErrNotFound)
}

// Inserted reads the error of an INSERT … ON CONFLICT DO NOTHING RETURNING … query: the row
// was inserted (true, nil), it existed already (false, nil), or the query failed (false, err).
func Inserted(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	}
	return false, err
}

// ReserveYClientsSlot books the next free YClients request slot for the whole cluster
// (yclients.Budget) for an urgent request: spacing after the previous one, when it starts
// within horizon, ahead of the owners' queue, which moves one slot later. wait is how long
// until that slot (ok), or until the first free one when the queue of booked slots is longer
// than horizon (not ok: nothing booked), by the database's clock.
func (s *Store) ReserveYClientsSlot(ctx context.Context, spacing, horizon time.Duration) (wait time.Duration, ok bool, err error) {
	return s.BookYClientsSlot(ctx, SlotTerms{Spacing: spacing, Horizon: horizon, PushQueue: true})
}

// SlotTerms are how a request books its YClients slot (BookYClientsSlot). The zero value of
// each field but Spacing and Horizon is "not this kind of request".
type SlotTerms struct {
	// Spacing is the least time after the slot before; Horizon, how far ahead the slot may be.
	Spacing, Horizon time.Duration
	// BehindQueue: books only when the owners' queue (TakeYClientsTurn) is over, and the hold
	// of its turns that have come (HoldQueue) has ended, within Horizon too (wait is then until
	// they are).
	BehindQueue bool
	// PushQueue: goes ahead of the owners' queue, which moves one slot later.
	PushQueue bool
	// HoldQueue (a turn that has come) holds BehindQueue requests back until HoldQueue after
	// the slot, or after the first free one when it could not book. The owners' next turns do
	// not wait for it.
	HoldQueue time.Duration
	// HoldBackground (a client's message waits for the request) keeps the budget busy until
	// HoldBackground after the slot.
	HoldBackground time.Duration
	// BusyHorizon: while the budget is busy, a BehindQueue request without a HoldBackground
	// books only a slot free within BusyHorizon.
	BusyHorizon time.Duration
}

// BookYClientsSlot books the next free YClients request slot on terms; wait and ok are as
// ReserveYClientsSlot's.
func (s *Store) BookYClientsSlot(ctx context.Context, terms SlotTerms) (wait time.Duration, ok bool, err error) {
	row, err := s.Queries.ReserveYClientsSlot(ctx, sqlc.ReserveYClientsSlotParams{
		SpacingMs: terms.Spacing.Milliseconds(), HorizonMs: terms.Horizon.Milliseconds(),
		BehindQueue: terms.BehindQueue, PushQueue: terms.PushQueue, HoldQueueMs: terms.HoldQueue.Milliseconds(),
		HoldBackgroundMs: terms.HoldBackground.Milliseconds(), BusyHorizonMs: terms.BusyHorizon.Milliseconds(),
	})
	if err != nil {
		return 0, false, err
	}
	return max(time.Duration(row.WaitMs)*time.Millisecond, 0), row.Booked, nil
}

// TakeYClientsTurn gives a request in the owners' queue its turn, spacing after the one
// before and not before the booked slots end, when the turn is within horizon: wait is how
// long until it (ok), or until the queue ends (not ok: nothing taken).
func (s *Store) TakeYClientsTurn(ctx context.Context, spacing, horizon time.Duration) (wait time.Duration, ok bool, err error) {
	row, err := s.Queries.TakeYClientsTurn(ctx, sqlc.TakeYClientsTurnParams{
		SpacingMs: spacing.Milliseconds(), HorizonMs: horizon.Milliseconds(),
	})
	if err != nil {
		return 0, false, err
	}
	return max(time.Duration(row.WaitMs)*time.Millisecond, 0), row.Booked, nil
}

// SalonReadSince is what YClients said of the salon (kind: what was read), kept by any
// process, when it was read after since; ok is false when there is no such reading.
func (s *Store) SalonReadSince(ctx context.Context, salonID int64, kind string, since time.Time) (body []byte, at time.Time, ok bool, err error) {
	row, err := s.Queries.KeptSalonRead(ctx, sqlc.KeptSalonReadParams{SalonID: salonID, Kind: kind, Since: since})
	if IsNotFound(err) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, err
	}
	return row.Body, row.ReadAt, true, nil
}

// KeepSalonReading keeps what YClients said of the salon, read at at, for every process.
func (s *Store) KeepSalonReading(ctx context.Context, salonID int64, kind string, body []byte, at time.Time) error {
	return s.Queries.KeepSalonRead(ctx, sqlc.KeepSalonReadParams{SalonID: salonID, Kind: kind, Body: body, ReadAt: at})
}
