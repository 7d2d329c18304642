package dispatcher

import (
	"context"
	"fmt"
	"sync"
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
	_, err := store.Pool.Exec(ctx, `UPDATE webhook_inbox SET claim_token = $1, claimed_until = now() + interval '1 minute'
		WHERE id = ANY($2)`, token, ids[:own])
	require.NoError(t, err)
	other := ids[own]
	_, err = store.Pool.Exec(ctx, `UPDATE webhook_inbox SET claim_token = 'another-dispatcher',
		claimed_until = now() + interval '1 minute' WHERE id = $1`, other)
	require.NoError(t, err)

	blocker, err := store.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = blocker.Rollback(ctx) }()
	_, err = blocker.Exec(ctx, `SELECT id FROM webhook_inbox WHERE id = $1 FOR UPDATE`, ids[0])
	require.NoError(t, err)

	f := newFinisher(store, token)
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
	rows, err := store.Pool.Query(ctx, `SELECT id, state, last_error, claim_token, attempts FROM webhook_inbox WHERE id = ANY($1)`, ids)
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
		require.Empty(t, claim)
		require.EqualValues(t, 1, attempts)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, own+1, seen)
}
