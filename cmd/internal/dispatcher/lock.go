package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/inbox"
	"github.com/jackc/pgx/v5"
)

// dispatcherLock is the PostgreSQL advisory lock key held by the one working dispatcher.
const dispatcherLock int64 = 0x41494144_494e4258 // "AIADINBX"

// errLockGone is returned when the lock connection answers but no longer holds the lock.
var errLockGone = errors.New("dispatcher lock no longer held")

// lead takes the dispatcher lock on a connection of its own, if it is free, and works the
// inbox while it holds it. It returns when ctx ends or the lock is lost; a lost lock stops
// every lane at once: calls in flight are cancelled and no row is started afterwards.
func (d *Dispatcher) lead(ctx context.Context) error {
	conn, err := d.dial(ctx)
	if err != nil {
		return fmt.Errorf("lock connection: %w", err)
	}
	defer closeConn(conn)
	lctx, cancel := context.WithTimeout(ctx, d.lockTimeout)
	var ok bool
	err = conn.QueryRow(lctx, "SELECT pg_try_advisory_lock($1)", dispatcherLock).Scan(&ok)
	cancel()
	if err != nil || !ok {
		return err // another process works the inbox
	}
	lctx, cancel = context.WithTimeout(ctx, d.lockTimeout)
	_, err = conn.Exec(lctx, "LISTEN "+pgx.Identifier{inbox.Channel}.Sanitize())
	cancel()
	if err != nil {
		return fmt.Errorf("listen for stored webhooks: %w", err)
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	d.active.Store(true)
	lost := make(chan error, 1)
	go func() {
		err := d.watch(wctx, conn)
		stop() // first: while Active is true, the lanes' context is live
		d.active.Store(false)
		lost <- err
	}()
	d.log.Info("inbox dispatcher: working (this process holds the dispatcher lock)", "name", d.name)
	d.loop(wctx)
	stop()
	err = <-lost
	if ctx.Err() != nil {
		d.log.Info("inbox dispatcher: stopped", "name", d.name)
		return nil
	}
	return fmt.Errorf("lock connection lost, stopped at once: %w", err)
}

// watch returns when the lock connection is gone (a closed socket is seen at once), when a
// verification (every lockCheck) fails or takes longer than lockTimeout, or (with nil) when
// ctx ends. A notification on inbox.Channel (the intake has committed webhooks) wakes the
// working loop.
func (d *Dispatcher) watch(ctx context.Context, conn *pgx.Conn) error {
	check := time.Now().Add(d.lockCheck)
	for {
		// pgx.Conn's WaitForNotification, not PgConn's: pgx queues every notification the
		// connection receives (during the verification's query too), and only the former takes
		// them off that queue.
		wctx, cancel := context.WithDeadline(ctx, check)
		n, err := conn.WaitForNotification(wctx)
		timedOut := wctx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && (!timedOut || conn.IsClosed()) {
			return err
		}
		if n != nil {
			d.wakeUp()
			if time.Now().Before(check) {
				continue
			}
		}
		if err := d.verify(ctx, conn); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		check = time.Now().Add(d.lockCheck)
	}
}

// verify checks on the lock connection that it still holds the lock.
func (d *Dispatcher) verify(ctx context.Context, conn *pgx.Conn) error {
	vctx, cancel := context.WithTimeout(ctx, d.lockTimeout)
	defer cancel()
	var held bool
	err := conn.QueryRow(vctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
		AND pid = pg_backend_pid() AND granted AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2)`,
		dispatcherLock>>32, dispatcherLock&0xffffffff).Scan(&held)
	switch {
	case err != nil:
		return fmt.Errorf("verify the dispatcher lock: %w", err)
	case !held:
		return errLockGone
	}
	return nil
}

// dial opens the lock connection, named in pg_stat_activity after this process.
func (d *Dispatcher) dial(ctx context.Context) (*pgx.Conn, error) {
	cfg := d.store.Pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = truncate("aiadmin-inbox "+d.name, 63)
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > d.lockTimeout {
		cfg.ConnectTimeout = d.lockTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, d.lockTimeout)
	defer cancel()
	return pgx.ConnectConfig(cctx, cfg)
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Holder is a database session holding the dispatcher lock: its process's Options.Name.
type Holder struct {
	Name  string
	Since time.Time // the session's start
}

// Holders names the sessions holding the dispatcher lock in this database, read from pg_locks
// (an advisory lock is per database): one is right;
// none means nobody hands the inbox on, more would be a split (which the lock rules out).
func Holders(ctx context.Context, store *db.Store) ([]Holder, error) {
	rows, err := store.Pool.Query(ctx, `
		SELECT a.application_name, a.backend_start
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
		ORDER BY a.backend_start`, dispatcherLock)
	if err != nil {
		return nil, fmt.Errorf("dispatcher lock holders: %w", err)
	}
	defer rows.Close()
	var out []Holder
	for rows.Next() {
		var h Holder
		if err := rows.Scan(&h.Name, &h.Since); err != nil {
			return nil, err
		}
		h.Name = strings.TrimPrefix(h.Name, "aiadmin-inbox ")
		out = append(out, h)
	}
	return out, rows.Err()
}
