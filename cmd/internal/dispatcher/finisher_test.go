package dispatcher

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// The ends of rows that lanes finish while a statement runs are recorded together by the next
// one, each with its own state and note, and a row whose lease another dispatcher holds is
// reported not held and left alone. The first statement is held up by a row lock, so that the
// other ends are all queued before it returns: two statements for 41 rows.
func TestFinisherRecordsQueuedEndsInOneStatement(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	const token, own = "this-dispatcher", 40
	var ids []int64
	for i := range own + 1 {
		id, err := store.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: 7, Headers: []byte("{}"), Body: []byte("{}"),
			Resource: "record", ResourceID: int64(1000 + i), EventStatus: "create"})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	_, err := store.Pool.Exec(ctx, `INSERT INTO webhook_inbox_leases (inbox_id, claim_token, claimed_until)
		SELECT unnest($2::bigint[]), $1, now() + interval '1 minute'`, token, ids[:own])
	require.NoError(t, err)
	other := ids[own]
	_, err = store.Pool.Exec(ctx, `INSERT INTO webhook_inbox_leases (inbox_id, claim_token, claimed_until)
		VALUES ($1, 'another-dispatcher', now() + interval '1 minute')`, other)
	require.NoError(t, err)

	blocker, err := store.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = blocker.Rollback(ctx) }()
	_, err = blocker.Exec(ctx, `SELECT id FROM webhook_inbox WHERE id = $1 FOR UPDATE`, ids[0])
	require.NoError(t, err)

	f := newFinisher(store, token, new(atomic.Int64))
	defer f.stop()
	held := make(map[int64]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	finish := func(id int64) {
		wg.Go(func() {
			ok, err := f.finish(id, stateIgnored, fmt.Sprintf("note %d", id))
			assert.NoError(t, err)
			mu.Lock()
			held[id] = ok
			mu.Unlock()
		})
	}
	finish(ids[0])
	require.Eventually(t, func() bool { return f.statements.Load() == 1 && len(f.queue) == 0 }, 5*time.Second, 5*time.Millisecond,
		"the first statement is running (held by the row lock)")
	for _, id := range ids[1:] {
		finish(id)
	}
	require.Eventually(t, func() bool { return len(f.queue) == own }, 5*time.Second, 5*time.Millisecond, "the other ends queued")
	require.NoError(t, blocker.Commit(ctx))
	wg.Wait()

	require.EqualValues(t, 2, f.statements.Load(), "the queued ends went in one statement")
	for _, id := range ids[:own] {
		require.True(t, held[id], "row %d: lease held", id)
	}
	require.False(t, held[other], "another dispatcher's row is not ours to finish")
	rows, err := store.Pool.Query(ctx, `SELECT w.id, w.state, w.last_error, COALESCE(l.claim_token, ''), w.attempts
		FROM webhook_inbox w LEFT JOIN webhook_inbox_leases l ON l.inbox_id = w.id WHERE w.id = ANY($1)`, ids)
	require.NoError(t, err)
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id int64
		var state, note, claim string
		var attempts int32
		require.NoError(t, rows.Scan(&id, &state, &note, &claim, &attempts))
		seen++
		if id == other {
			require.Equal(t, "pending", state)
			require.Equal(t, "another-dispatcher", claim)
			continue
		}
		require.Equal(t, stateIgnored, state)
		require.Equal(t, fmt.Sprintf("note %d", id), note, "each row keeps its own note")
		require.Empty(t, claim, "the lease ends with the row")
		require.EqualValues(t, 1, attempts)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, own+1, seen)
}

// A lane that has handed on its last row lets the next lane start while its end is being
// recorded, so that the ends of a pass of one-row lanes (a burst of bookings, each its own
// record) share their statements instead of being recorded Parallel at a time. The first
// statement is held up by row locks until the other lanes have had time to run: the other
// 39 ends then go in one statement, where lanes that waited for their own end would need at
// least 40 ÷ 4 statements.
func TestLanesDoNotWaitForTheirLastEnd(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	const rows, parallel = 40, 4
	var ids []int64
	for i := range rows {
		id, err := store.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: 7, Headers: []byte("{}"),
			Body:     []byte(fmt.Sprintf(`{"company_id":7,"resource":"goods_operations_sale","resource_id":%d,"status":"create","data":{}}`, 1000+i)),
			Resource: "goods_operations_sale", ResourceID: int64(1000 + i), EventStatus: "create"})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	blocker, err := store.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = blocker.Rollback(ctx) }()
	_, err = blocker.Exec(ctx, `SELECT id FROM webhook_inbox WHERE id = ANY($1) FOR UPDATE`, ids)
	require.NoError(t, err)

	d := New(Options{Store: store, TaskQueue: "nobody", Parallel: parallel, BatchSize: rows}) // no Temporal: ignored rows need none
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := d.DispatchOnce(ctx)
		done <- result{n, err}
	}()
	require.Eventually(t, func() bool {
		var waiting bool
		require.NoError(t, store.Pool.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FinishInboxRows%'`).Scan(&waiting))
		return waiting
	}, 5*time.Second, 5*time.Millisecond, "the first statement waits for the row locks")
	time.Sleep(300 * time.Millisecond) // the other lanes run meanwhile
	require.NoError(t, blocker.Commit(ctx))
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, rows, res.n)
	require.EqualValues(t, 2, d.finishStatements.Load(), "the ends queued behind the first statement went in one")
	var ignored int
	require.NoError(t, store.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE id = ANY($1) AND state = 'ignored'`, ids).Scan(&ignored))
	require.Equal(t, rows, ignored)
}
