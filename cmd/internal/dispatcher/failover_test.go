package dispatcher_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// TestLostLockStopsAtOnce: the working dispatcher's lock connection is terminated (as when
// PostgreSQL or the network drops it) while webhooks keep arriving. It stops dispatching at
// once, a standby takes over, no record is handed on by both at the same time, and every
// record's events reach its workflow in inbox order.
func TestLostLockStopsAtOnce(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	log := &callLog{}
	start := func(name string, lockRetry time.Duration) *dispatcher.Dispatcher {
		rec := &recorder{Temporal: h.c, who: name, delay: 5 * time.Millisecond, log: log}
		d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: rec, TaskQueue: taskQueue, Name: name,
			Interval: 10 * time.Millisecond, BatchSize: 20, Parallel: 4,
			LockRetry: lockRetry, LockCheck: 100 * time.Millisecond})
		rec.d = d
		run(t, d)
		return d
	}
	a := start("a", 5*time.Second) // a retries the lock late: b is the one to take over
	require.Eventually(t, a.Active, 5*time.Second, 5*time.Millisecond)
	b := start("b", 50*time.Millisecond)

	const records, perRecord = 6, 40
	var wg sync.WaitGroup
	var saveErr error
	wg.Go(func() {
		for i := range perRecord {
			for rec := int64(1); rec <= records; rec++ {
				at := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
				if _, err := (httpapi.StoreInbox{Store: h.store}).Save(h.ctx, salon, nil, []byte(record(salon, rec, "update", at, "Анна"))); err != nil {
					saveErr = err
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	require.Eventually(t, func() bool { return h.count(salon, "processed") >= records*perRecord/4 }, 20*time.Second, 5*time.Millisecond)
	require.False(t, b.Active(), "b stands by while a holds the lock")

	var killed int
	require.NoError(t, h.store.Pool.QueryRow(h.ctx, `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l
		JOIN pg_stat_activity s ON s.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND s.application_name = 'aiadmin-inbox a'`).Scan(&killed))
	require.Equal(t, 1, killed, "a's lock connection holds the lock")
	require.Eventually(t, func() bool { return !a.Active() }, 500*time.Millisecond, time.Millisecond, "a stops at once")
	require.Eventually(t, b.Active, 5*time.Second, 5*time.Millisecond, "b takes over")

	wg.Wait()
	require.NoError(t, saveErr)
	require.Eventually(t, func() bool { return h.count(salon, "processed") == records*perRecord }, 30*time.Second, 20*time.Millisecond)
	require.Empty(t, log.violations, "calls made by a dispatcher that was not active")
	require.Empty(t, log.overlaps(), "records handed on by both dispatchers at once")
	require.Positive(t, log.by("a"))
	require.Positive(t, log.by("b"))
	require.True(t, a.Active() != b.Active(), "one dispatcher works")
	for rec := int64(1); rec <= records; rec++ {
		ids := inboxIDs(h.signals(salon, rec))
		require.GreaterOrEqual(t, len(ids), perRecord, "record %d", rec)
		for i := 1; i < len(ids); i++ {
			require.LessOrEqual(t, ids[i-1], ids[i], "record %d: events out of inbox order: %v", rec, ids)
		}
	}
}
