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

// opsRows writes n of each operational record of salon from first on (one salon per row), age
// ago: an alert, a sync run and a daily send count.
func opsRows(t *testing.T, store *db.Store, first int64, n int, age time.Duration) {
	t.Helper()
	exec := execer(t, store)
	exec(`INSERT INTO ops_alerts (salon_id, level, kind, message, created_at)
		SELECT $1::bigint + g, 'warn', 'relink', 'WhatsApp отключён', now() - $3::interval
		FROM generate_series(0, $2::int - 1) g`, first, n, age)
	exec(`INSERT INTO sync_runs (salon_id, started_at, finished_at)
		SELECT $1::bigint + g, now() - $3::interval, now() - $3::interval
		FROM generate_series(0, $2::int - 1) g`, first, n, age)
	exec(`INSERT INTO salon_daily_sends (salon_id, day, sends)
		SELECT $1::bigint + g, (now() - $3::interval)::date, 3
		FROM generate_series(0, $2::int - 1) g`, first, n, age)
}

// opsBefore is the cutoff the dispatcher's purge uses (dispatcher.OpsRetention, 90 days).
func opsBefore() time.Time { return time.Now().Add(-90 * day) }

// The operational records older than the retention are deleted, the oldest first and a batch
// at a time; each salon's latest sync run stays however old (the health endpoint shows it).
func TestOldOpsRecordsDeleted(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	opsRows(t, store, 1, 1, 200*day) // salon 1: an old record of each
	opsRows(t, store, 1, 1, 2*day)   // and a recent one
	opsRows(t, store, 2, 1, 120*day) // salon 2: only old ones
	opsRows(t, store, 2, 1, 100*day)
	opsRows(t, store, 3, 1, 89*day) // salon 3: within the retention

	q := store.Queries
	alerts, err := q.DeleteOldOpsAlerts(ctx, sqlc.DeleteOldOpsAlertsParams{Before: opsBefore(), MaxRows: 2})
	require.NoError(t, err)
	require.EqualValues(t, 2, alerts, "a batch")
	alerts, err = q.DeleteOldOpsAlerts(ctx, sqlc.DeleteOldOpsAlertsParams{Before: opsBefore(), MaxRows: 2})
	require.NoError(t, err)
	require.EqualValues(t, 1, alerts, "the rest")
	runs, err := q.DeleteOldSyncRuns(ctx, sqlc.DeleteOldSyncRunsParams{Before: opsBefore(), MaxRows: 1000})
	require.NoError(t, err)
	require.EqualValues(t, 2, runs, "salon 1's old run and salon 2's older one")
	sends, err := q.DeleteOldDailySends(ctx, sqlc.DeleteOldDailySendsParams{Before: opsBefore(), MaxRows: 1000})
	require.NoError(t, err)
	require.EqualValues(t, 3, sends)

	var alertAges []int
	rows, err := q.ListOpsAlerts(ctx, sqlc.ListOpsAlertsParams{MaxRows: 100})
	require.NoError(t, err)
	for _, a := range rows {
		alertAges = append(alertAges, int(time.Since(a.CreatedAt)/day))
	}
	require.Equal(t, []int{2, 89}, alertAges, "alerts left, newest first, in days")
	for salon, wantDays := range map[int64]int{1: 2, 2: 100, 3: 89} {
		run, err := q.LastSyncRun(ctx, salon)
		require.NoError(t, err)
		require.Equal(t, wantDays, int(time.Since(run.StartedAt)/day), "salon %d's latest run", salon)
	}
	var runsLeft, sendsLeft int
	require.NoError(t, store.Pool.QueryRow(ctx, "SELECT count(*) FROM sync_runs").Scan(&runsLeft))
	require.NoError(t, store.Pool.QueryRow(ctx, "SELECT count(*) FROM salon_daily_sends").Scan(&sendsLeft))
	require.Equal(t, 3, runsLeft)
	require.Equal(t, 2, sendsLeft, "salon 1's recent day, salon 3's")
}

// Each deletion reads about the rows it deletes, not the tables: 20 old records of each kind
// among 5,000 recent ones, with the statistics taken before the rows came and with them.
func TestOpsRetentionReadsOnlyWhatItChanges(t *testing.T) {
	for _, analyzed := range []string{"before the rows came", "with the rows in them"} {
		t.Run("statistics "+analyzed, func(t *testing.T) {
			ctx := context.Background()
			store, _ := dbtest.New(t)
			exec := execer(t, store)
			exec("ANALYZE ops_alerts, sync_runs, salon_daily_sends")
			opsRows(t, store, 1, 20, 200*day)   // deleted
			opsRows(t, store, 1, 20, 2*day)     // so that the old runs are not their salons' latest
			opsRows(t, store, 100, 4980, 2*day) // recent
			if analyzed == "with the rows in them" {
				exec("ANALYZE ops_alerts, sync_runs, salon_daily_sends")
			}
			for _, step := range []struct {
				table string
				run   func(q *sqlc.Queries) (int64, error)
			}{
				{"ops_alerts", func(q *sqlc.Queries) (int64, error) {
					return q.DeleteOldOpsAlerts(ctx, sqlc.DeleteOldOpsAlertsParams{Before: opsBefore(), MaxRows: 1000})
				}},
				{"sync_runs", func(q *sqlc.Queries) (int64, error) {
					return q.DeleteOldSyncRuns(ctx, sqlc.DeleteOldSyncRunsParams{Before: opsBefore(), MaxRows: 1000})
				}},
				{"salon_daily_sends", func(q *sqlc.Queries) (int64, error) {
					return q.DeleteOldDailySends(ctx, sqlc.DeleteOldDailySendsParams{Before: opsBefore(), MaxRows: 1000})
				}},
			} {
				n, read := changedAndRead(t, store, step.table, step.run)
				require.EqualValues(t, 20, n, step.table)
				require.LessOrEqual(t, read, int64(80), "%s: rows read to delete 20 of 5,020", step.table)
			}
		})
	}
}
