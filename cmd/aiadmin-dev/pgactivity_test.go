package main

import (
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
)

func TestPgStatementNames(t *testing.T) {
	for query, want := range map[string]string{
		"-- name: ReceiveInbox :many\nWITH input AS (SELECT 1) INSERT INTO webhook_inbox …": "ReceiveInbox",
		"INSERT INTO executions_visibility (namespace_id, run_id) VALUES ($1, $2)":          "INSERT executions_visibility",
		"SELECT task_id, data, data_encoding FROM transfer_tasks WHERE shard_id = $1":       "SELECT transfer_tasks",
		"UPDATE executions SET db_record_version = $1":                                      "UPDATE executions",
		"DELETE FROM tasks WHERE range_hash = $1":                                           "DELETE tasks",
		"  commit": "COMMIT",
		"select count(*)\n  from generate_series(1, 3)": "SELECT generate_series",
		"SELECT\n  shard_id, range_id\nFROM shards":     "SELECT shards",
		"SELECT\n  pg_sleep(1)":                         "SELECT",
	} {
		assert.Equal(t, want, pgStatement(query), "%q", query)
	}
}

func TestPgWaitClasses(t *testing.T) {
	assert.Equal(t, pgOnCPU, pgWaitClass("", ""))
	assert.Equal(t, pgOnWAL, pgWaitClass("LWLock", "WALWrite"))
	assert.Equal(t, pgOnWAL, pgWaitClass("IO", "WALSync"))
	assert.Equal(t, pgOnOther, pgWaitClass("Lock", "transactionid"))
	assert.Equal(t, pgOnOther, pgWaitClass("IO", "DataFileRead"))
}

// TestSamplePostgresSeesWhatBackendsRun: a backend counting on CPU and another sleeping in the
// sampled database are both in the tally, under their statements and waits; a busy backend
// of another database is not.
func TestSamplePostgresSeesWhatBackendsRun(t *testing.T) {
	_, dsn := dbtest.New(t)
	_, otherDSN := dbtest.New(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	ctx := t.Context()
	run := func(dsn, query string) func() {
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := conn.Exec(ctx, query)
			assert.NoError(t, err, query)
		})
		return func() { wg.Wait(); _ = conn.Close(ctx) }
	}

	stop := samplePostgres(dsn, map[string]string{strings.TrimPrefix(u.Path, "/"): "app"})
	waits := []func(){
		run(dsn, "SELECT count(*) FROM generate_series(1, 20000000)"),
		run(dsn, "SELECT pg_sleep(1)"),
		run(otherDSN, "SELECT count(*) FROM generate_series(1, 20000001)"),
	}
	for _, w := range waits {
		w()
	}
	tally, err := stop()
	require.NoError(t, err)
	require.Greater(t, tally.samples, 5, "sampled every %v for over a second", pgSampleEvery)
	assert.Positive(t, tally.byStmt[pgOnCPU]["app: SELECT generate_series"], "the counting backend, on CPU: %v", tally.byStmt)
	assert.Positive(t, tally.byStmt[pgOnOther]["app: SELECT"], "the sleeping backend, waiting: %v", tally.byStmt)
	for class, stmts := range tally.byStmt {
		for stmt := range stmts {
			assert.True(t, strings.HasPrefix(stmt, "app: "), "only the sampled database's backends (%s: %s)", class, stmt)
		}
	}
	assert.Contains(t, tally.String(), "on CPU: app: SELECT generate_series ", "the largest on CPU first")
}
