package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// ledgerRow is what the retention tests look at in a message's row.
type ledgerRow struct {
	Status, Phone, Body string
}

// messageRows writes messages straight into the ledger: n rows of salon 1 from record first
// on, with the status, a number and a text, written (and ended) age ago, for a visit at visit
// ('epoch' for none).
func messageRows(t *testing.T, store *db.Store, first int64, n int, status string, age time.Duration, visit string) {
	t.Helper()
	_, err := store.Pool.Exec(t.Context(), `
		INSERT INTO messages (salon_id, record_id, kind, visit_time, phone, wa_message_id, status, body, created_at, updated_at)
		SELECT 1, $1::bigint + g, 'reminder_day', $5::timestamptz, '7916' || g, 'W' || ($1::bigint + g), $3, 'Анна, ждём вас завтра', now() - $4::interval, now() - $4::interval
		FROM generate_series(0, $2::int - 1) g`, first, n, status, age, visit)
	require.NoError(t, err)
}

// ledgerRecords is salon 1's messages by record, in the order they were written.
func ledgerRecords(t *testing.T, store *db.Store) (records []int64, rows map[int64]ledgerRow) {
	t.Helper()
	msgs, err := store.ListMessages(t.Context(), 1)
	require.NoError(t, err)
	rows = map[int64]ledgerRow{}
	for _, m := range msgs {
		records = append(records, m.RecordID)
		rows[m.RecordID] = ledgerRow{m.Status, m.Phone, m.Body}
	}
	return records, rows
}

const day = 24 * time.Hour

// An ended message's number and text are emptied once it was written, ended and visited more
// than the retention ago; its row stays (the key keeps it sent once). A queued message, one
// written or visited within the retention, or one whose visit is still to come keeps them.
func TestMessageTextsPurged(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	long := time.Now().Add(-100 * day).Format(time.RFC3339)
	soon := time.Now().Add(10 * day).Format(time.RFC3339)
	recent := time.Now().Add(-2 * day).Format(time.RFC3339)
	messageRows(t, store, 1, 1, "sent", 100*day, long)      // old
	messageRows(t, store, 2, 1, "skipped", 100*day, long)   // old, skipped
	messageRows(t, store, 3, 1, "failed", 100*day, "epoch") // about no visit, old
	messageRows(t, store, 4, 1, "queued", 100*day, long)    // may still be sent
	messageRows(t, store, 5, 1, "sent", 100*day, soon)      // booked long ahead
	messageRows(t, store, 6, 1, "sent", 2*day, recent)      // recent
	messageRows(t, store, 7, 1, "sent", 100*day, long)      // written long ago, ended lately:
	execer(t, store)("UPDATE messages SET updated_at = now() - interval '1 day' WHERE record_id = 7")

	n, err := store.PurgeMessageTexts(ctx, sqlc.PurgeMessageTextsParams{Before: time.Now().Add(-90 * day), MaxRows: 100})
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	_, rows := ledgerRecords(t, store)
	for record, want := range map[int64]ledgerRow{
		1: {"sent", "", ""}, 2: {"skipped", "", ""}, 3: {"failed", "", ""},
		4: {"queued", "79160", "Анна, ждём вас завтра"}, 5: {"sent", "79160", "Анна, ждём вас завтра"},
		6: {"sent", "79160", "Анна, ждём вас завтра"}, 7: {"sent", "79160", "Анна, ждём вас завтра"},
	} {
		got, ok := rows[record]
		require.True(t, ok, "record %d keeps its row", record)
		require.Equal(t, want, got, "record %d", record)
	}
	n, err = store.PurgeMessageTexts(ctx, sqlc.PurgeMessageTextsParams{Before: time.Now().Add(-90 * day), MaxRows: 100})
	require.NoError(t, err)
	require.Zero(t, n, "emptied once")
}

// An emptied message of a visit is deleted once it was written and visited more than the rows'
// retention ago; a message about no visit keeps its row for good (it is once only: a client's
// welcome), and so do queued ones, those still keeping their text and recent ones.
func TestOldMessagesDeleted(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	long := time.Now().Add(-400 * day).Format(time.RFC3339)
	messageRows(t, store, 1, 1, "sent", 400*day, long)    // emptied, old: deleted
	messageRows(t, store, 2, 1, "sent", 400*day, "epoch") // emptied, about no visit
	messageRows(t, store, 3, 1, "sent", 400*day, long)    // old, never emptied
	messageRows(t, store, 4, 1, "queued", 400*day, long)  // queued, without a number
	messageRows(t, store, 5, 1, "sent", 300*day, long)    // emptied, written within a year
	execer(t, store)("UPDATE messages SET phone = '', body = '' WHERE record_id IN (1, 2, 4, 5)")

	before := time.Now().Add(-365 * day)
	n, err := store.DeleteOldMessages(ctx, sqlc.DeleteOldMessagesParams{Before: before, MaxRows: 100})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	left, _ := ledgerRecords(t, store)
	require.Equal(t, []int64{2, 3, 4, 5}, left)
	n, err = store.DeleteOldMessages(ctx, sqlc.DeleteOldMessagesParams{Before: before, MaxRows: 100})
	require.NoError(t, err)
	require.Zero(t, n)
}

// The ledger's purge and deletion read the old rows they change, not the ledger: each runs
// every few minutes on a table that holds every message of a year. With 5,000 recent messages
// (half emptied as by a purge, to be deleted only next year) and 20 due, each statement reads
// about the 20 it changes, whatever PostgreSQL's statistics say. (Without the migration's
// indexes each read the whole table.)
func TestMessageRetentionReadsOnlyWhatItChanges(t *testing.T) {
	for _, analyzed := range []string{"before the rows came", "with the rows in them"} {
		t.Run("statistics "+analyzed, func(t *testing.T) {
			ctx := context.Background()
			store, _ := dbtest.New(t)
			execer(t, store)("ANALYZE messages")
			recent := time.Now().Add(-2 * day).Format(time.RFC3339)
			long := time.Now().Add(-400 * day).Format(time.RFC3339)
			messageRows(t, store, 1, 2500, "sent", 2*day, recent)
			messageRows(t, store, 10_000, 2500, "sent", 100*day, recent)
			execer(t, store)("UPDATE messages SET phone = '', body = '' WHERE record_id >= 10000")
			messageRows(t, store, 20_000, 20, "sent", 400*day, long)
			if analyzed == "with the rows in them" {
				execer(t, store)("ANALYZE messages")
			}

			for _, step := range []struct {
				name string
				run  func(q *sqlc.Queries) (int64, error)
			}{
				{"purge", func(q *sqlc.Queries) (int64, error) {
					return q.PurgeMessageTexts(ctx, sqlc.PurgeMessageTextsParams{Before: time.Now().Add(-90 * day), MaxRows: 1000})
				}},
				{"delete", func(q *sqlc.Queries) (int64, error) {
					return q.DeleteOldMessages(ctx, sqlc.DeleteOldMessagesParams{Before: time.Now().Add(-365 * day), MaxRows: 1000})
				}},
			} {
				n, read := changedAndRead(t, store, "messages", step.run)
				require.EqualValues(t, 20, n, step.name)
				require.LessOrEqual(t, read, int64(60), "%s: rows of the ledger read to change 20 of 5,020", step.name)
			}
			var left int
			require.NoError(t, store.Pool.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&left))
			require.Equal(t, 5000, left)
		})
	}
}

// changedAndRead runs a statement in a transaction planned as a prepared statement is from its
// sixth run on, and returns the rows it changed and how many rows of table it read.
func changedAndRead(t *testing.T, store *db.Store, table string, run func(q *sqlc.Queries) (int64, error)) (changed, read int64) {
	t.Helper()
	tx, err := store.Pool.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(t.Context()) }()
	genericPlans(t, tx)
	before := tableReadSoFar(t, tx, table)
	changed, err = run(sqlc.New(tx))
	require.NoError(t, err)
	read = tableReadSoFar(t, tx, table) - before
	require.NoError(t, tx.Commit(t.Context()))
	return changed, read
}
