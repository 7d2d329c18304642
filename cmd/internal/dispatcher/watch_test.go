package dispatcher

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/inbox"
)

// The notifications watch hears on the lock connection are taken off it as they wake the
// loop: none is left queued in the connection (the intake sends up to a hundred a second for
// as long as the lock is held), including those that came while the lock was being verified.
func TestWatchLeavesNoNotificationQueued(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	d := New(Options{Store: store, Name: "watch", LockCheck: 20 * time.Millisecond})
	conn, err := d.dial(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { closeConn(conn) })
	var ok bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", dispatcherLock).Scan(&ok))
	require.True(t, ok)
	_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{inbox.Channel}.Sanitize())
	require.NoError(t, err)

	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.watch(wctx, conn) }()
	for range 200 { // over several verifications
		_, err := store.Pool.Exec(ctx, "SELECT pg_notify($1, '')", inbox.Channel)
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	select {
	case <-d.wake:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up")
	}
	time.Sleep(100 * time.Millisecond) // the last ones are heard
	stop()
	require.NoError(t, <-done)

	qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	n, err := conn.WaitForNotification(qctx)
	require.Error(t, err, "a notification was left queued in the connection: %+v", n)
}
