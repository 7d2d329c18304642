package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/inbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// answer is one Save's outcome.
type answer struct {
	id  int64
	err error
}

// saveAll calls Save for every entry at once and returns each caller's answer.
func saveAll(ctx context.Context, b *inbox.Batcher, entries []inbox.Entry) []answer {
	out := make([]answer, len(entries))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, e := range entries {
		wg.Go(func() {
			<-start
			id, err := b.Save(ctx, e)
			out[i] = answer{id, err}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// One batch of exactly MaxBatch entries (the writer waits up to a minute for them): a wrong
// secret and an uninstalled salon in the middle get ErrWrongSecret, the others their own rows.
func TestBatcherAnswersEachCallerInOneBatch(t *testing.T) {
	store, _ := newInbox(t)
	b := inbox.New(store, inbox.Options{MaxBatch: 5, MaxWait: time.Minute})
	t.Cleanup(b.Close)
	entries := []inbox.Entry{
		delivery(installed, secretOf(installed), 1),
		delivery(other, secretOf(other), 2),
		delivery(installed, "wrong", 3),
		delivery(uninstalled, secretOf(uninstalled), 4),
		delivery(other, secretOf(other), 5),
	}
	got := saveAll(context.Background(), b, entries)
	batches, carried := b.Stats()
	require.EqualValues(t, 1, batches, "one statement for the five callers")
	require.EqualValues(t, 5, carried)
	for i, a := range got {
		if i == 2 || i == 3 {
			require.ErrorIs(t, a.err, inbox.ErrWrongSecret, "caller %d", i)
			continue
		}
		require.NoError(t, a.err, "caller %d", i)
		row := readRow(t, store, a.id)
		require.Equal(t, string(entries[i].Body), row.body, "caller %d got another caller's row", i)
		require.Equal(t, entries[i].SalonID, row.salon, "caller %d", i)
	}
	require.Equal(t, 3, countRows(t, store))
}

// Many concurrent callers, default options: each gets its own answer, every right one is
// stored once, and the callers share statements.
func TestBatcherUnderConcurrency(t *testing.T) {
	store, _ := newInbox(t)
	b := inbox.New(store, inbox.Options{})
	t.Cleanup(b.Close)
	entries := make([]inbox.Entry, 400)
	for i := range entries {
		switch {
		case i%10 == 3:
			entries[i] = delivery(installed, secretOf(other), i)
		case i%10 == 7:
			entries[i] = delivery(uninstalled, secretOf(uninstalled), i)
		case i%2 == 0:
			entries[i] = delivery(installed, secretOf(installed), i)
		default:
			entries[i] = delivery(other, secretOf(other), i)
		}
	}
	got := saveAll(context.Background(), b, entries)
	seen := map[int64]bool{}
	for i, a := range got {
		if i%10 == 3 || i%10 == 7 {
			require.ErrorIs(t, a.err, inbox.ErrWrongSecret, "caller %d", i)
			continue
		}
		require.NoError(t, a.err, "caller %d", i)
		require.False(t, seen[a.id], "caller %d: ID %d given twice", i, a.id)
		seen[a.id] = true
		require.Equal(t, string(entries[i].Body), readRow(t, store, a.id).body, "caller %d got another caller's row", i)
	}
	require.Equal(t, 320, countRows(t, store))
	batches, carried := b.Stats()
	require.EqualValues(t, 400, carried)
	require.Less(t, batches, int64(200), "got %d statements for 400 concurrent callers, want them grouped", batches)
}

// When Save returns, the row is committed: another connection sees it at once.
func TestBatcherRowDurableBeforeSaveReturns(t *testing.T) {
	store, dsn := newInbox(t)
	b := inbox.New(store, inbox.Options{MaxWait: 2 * time.Millisecond})
	t.Cleanup(b.Close)
	ctx := context.Background()
	observer, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(observer.Close)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			id, err := b.Save(ctx, delivery(installed, secretOf(installed), i))
			if err != nil {
				errs <- err
				return
			}
			var n int
			if err := observer.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE id = $1`, id).Scan(&n); err != nil {
				errs <- err
				return
			}
			if n != 1 {
				errs <- errors.New("row not visible from another connection when Save returned")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 64, countRows(t, store))
}

// A table locked by someone else (the database does not answer in time): the batch's callers
// fail after Timeout, nothing is stored, and the batcher works again afterwards.
func TestBatcherDatabaseHangsThenRecovers(t *testing.T) {
	store, dsn := newInbox(t)
	b := inbox.New(store, inbox.Options{Timeout: 300 * time.Millisecond})
	t.Cleanup(b.Close)
	ctx := context.Background()
	locker, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = locker.Close(ctx) })
	tx, err := locker.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	start := time.Now()
	got := saveAll(ctx, b, []inbox.Entry{delivery(installed, secretOf(installed), 1), delivery(other, secretOf(other), 2),
		delivery(installed, "wrong", 3)})
	for i, a := range got {
		require.Error(t, a.err, "caller %d", i)
		require.NotErrorIs(t, a.err, inbox.ErrWrongSecret, "caller %d: the statement failed, the secret was not judged", i)
	}
	require.Less(t, time.Since(start), 3*time.Second, "callers fail after the statement timeout, not hang")
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 0, countRows(t, store))

	id, err := b.Save(ctx, delivery(installed, secretOf(installed), 4))
	require.NoError(t, err, "the batcher works again")
	require.Equal(t, installed, readRow(t, store, id).salon)
}

// A database that cannot be reached: callers get an error, quickly.
func TestBatcherDatabaseUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/none?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	b := inbox.New(&db.Store{Queries: sqlc.New(pool), Pool: pool}, inbox.Options{Timeout: 2 * time.Second})
	t.Cleanup(b.Close)

	start := time.Now()
	for i, a := range saveAll(context.Background(), b, []inbox.Entry{delivery(installed, secretOf(installed), 1),
		delivery(other, secretOf(other), 2)}) {
		require.Error(t, a.err, "caller %d", i)
		require.NotErrorIs(t, a.err, inbox.ErrWrongSecret, "caller %d", i)
	}
	require.Less(t, time.Since(start), 3*time.Second)
}

// One entry PostgreSQL refuses (headers that are not JSON) fails alone: its batch is written
// again entry by entry.
func TestBatcherBadEntryFailsAlone(t *testing.T) {
	store, _ := newInbox(t)
	b := inbox.New(store, inbox.Options{MaxBatch: 3, MaxWait: time.Minute})
	t.Cleanup(b.Close)
	bad := delivery(installed, secretOf(installed), 2)
	bad.Headers = []byte(`{not json`)
	entries := []inbox.Entry{delivery(installed, secretOf(installed), 1), bad, delivery(other, secretOf(other), 3)}
	got := saveAll(context.Background(), b, entries)
	require.NoError(t, got[0].err)
	require.Error(t, got[1].err)
	require.NoError(t, got[2].err)
	require.Equal(t, string(entries[0].Body), readRow(t, store, got[0].id).body)
	require.Equal(t, string(entries[2].Body), readRow(t, store, got[2].id).body)
	require.Equal(t, 2, countRows(t, store))
	batches, _ := b.Stats()
	require.EqualValues(t, 4, batches, "the batch, then each entry alone")
}

// A caller that has gone before its batch is taken is not stored.
func TestBatcherCallerGone(t *testing.T) {
	store, _ := newInbox(t)
	b := inbox.New(store, inbox.Options{})
	t.Cleanup(b.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Save(ctx, delivery(installed, secretOf(installed), 1))
	require.ErrorIs(t, err, context.Canceled)
	id, err := b.Save(context.Background(), delivery(installed, secretOf(installed), 2))
	require.NoError(t, err)
	require.Equal(t, 1, countRows(t, store))
	require.Contains(t, readRow(t, store, id).body, `"n":2`)
}

// Close while callers are saving: each is answered (its row, or ErrStopped and nothing
// stored), the writers end, and later Saves get ErrStopped.
func TestBatcherStopsCleanly(t *testing.T) {
	store, _ := newInbox(t)
	b := inbox.New(store, inbox.Options{MaxBatch: 16})
	ctx := context.Background()
	const callers = 300
	got := make([]answer, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			id, err := b.Save(ctx, delivery(installed, secretOf(installed), i))
			got[i] = answer{id, err}
		})
	}
	time.Sleep(5 * time.Millisecond)
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	wg.Wait()
	var ok, stopped int
	for i, a := range got {
		switch {
		case a.err == nil:
			ok++
			require.Contains(t, readRow(t, store, a.id).body, fmt.Sprintf(`"resource_id":%d,`, i), "caller %d", i)
		case errors.Is(a.err, inbox.ErrStopped):
			stopped++
		default:
			t.Fatalf("caller %d: %v", i, a.err)
		}
	}
	require.Equal(t, callers, ok+stopped)
	require.Equal(t, ok, countRows(t, store), "exactly the answered rows are stored")
	_, err := b.Save(ctx, delivery(installed, secretOf(installed), 1))
	require.ErrorIs(t, err, inbox.ErrStopped)
	b.Close() // twice is fine
}

// A commit that stored rows is announced on inbox.Channel, where the dispatcher listens;
// a delivery with a wrong secret stores nothing and announces nothing.
func TestBatcherAnnouncesCommits(t *testing.T) {
	store, dsn := newInbox(t)
	ctx := context.Background()
	listener, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = listener.Close(ctx) })
	_, err = listener.Exec(ctx, "LISTEN "+pgx.Identifier{inbox.Channel}.Sanitize())
	require.NoError(t, err)
	b := inbox.New(store, inbox.Options{})
	t.Cleanup(b.Close)

	_, err = b.Save(ctx, delivery(installed, "wrong", 1))
	require.ErrorIs(t, err, inbox.ErrWrongSecret)
	_, err = b.Save(ctx, delivery(installed, secretOf(installed), 2))
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wctx)
	require.NoError(t, err)
	require.Equal(t, inbox.Channel, n.Channel)
	b.Close() // announces what is left: nothing more was stored
	wctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = listener.WaitForNotification(wctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "one stored row, one notification")
}
