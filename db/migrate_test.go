package db_test

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

var wantTables = []string{
	"companies", "services", "staff", "schedules", "sync_runs", "salon_secrets",
	"webhook_inbox", "messages", "pairing_events", "ops_alerts",
	"salon_settings", "send_budget", "opt_outs", "clients", "whatsapp_devices",
}

// wantVersions are the versions of the embedded migration files, in order.
func wantVersions(t *testing.T) []int64 {
	t.Helper()
	entries, err := fs.ReadDir(db.Migrations(), ".")
	require.NoError(t, err)
	var out []int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		require.True(t, ok, e.Name())
		v, err := strconv.ParseInt(num, 10, 64)
		require.NoError(t, err)
		out = append(out, v)
	}
	require.GreaterOrEqual(t, len(out), 3)
	return out
}

func countTables(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(),
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = ANY($1)",
		wantTables).Scan(&n)
	require.NoError(t, err)
	return n
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func appliedVersions(t *testing.T, conn *pgx.Conn) []int64 {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT version_id FROM goose_db_version WHERE version_id > 0 AND is_applied ORDER BY id")
	require.NoError(t, err)
	v, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return v
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()

	t.Run("fresh database, then idempotent", func(t *testing.T) {
		dsn := dbtest.Empty(t)
		require.NoError(t, db.Migrate(ctx, dsn))
		conn := connect(t, dsn)
		require.Equal(t, len(wantTables), countTables(t, conn))
		require.Equal(t, wantVersions(t), appliedVersions(t, conn))

		require.NoError(t, db.Migrate(ctx, dsn), "second Migrate")
		require.Equal(t, wantVersions(t), appliedVersions(t, conn), "second Migrate applied again")
	})

	t.Run("concurrent from three goroutines", func(t *testing.T) {
		dsn := dbtest.Empty(t)
		errs := make([]error, 3)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = db.Migrate(ctx, dsn) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "goroutine %d", i)
		}
		conn := connect(t, dsn)
		require.Equal(t, len(wantTables), countTables(t, conn))
		require.Equal(t, wantVersions(t), appliedVersions(t, conn), "each migration must be applied once")
	})

	t.Run("down migrations undo everything", func(t *testing.T) {
		dsn := dbtest.Empty(t)
		require.NoError(t, db.Migrate(ctx, dsn))
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err)
		sqlDB := stdlib.OpenDB(*cfg)
		t.Cleanup(func() { _ = sqlDB.Close() })
		p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, db.Migrations())
		require.NoError(t, err)
		_, err = p.DownTo(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, 0, countTables(t, connect(t, dsn)))
	})
}

func TestEnsureDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.Empty(t)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	name := cfg.Database

	// Drop the database dbtest made, so EnsureDatabase has to create it; the
	// dbtest cleanup drops it again at the end.
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize())
	require.NoError(t, err)

	exists := func() bool {
		var ok bool
		require.NoError(t, conn.QueryRow(ctx,
			"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok))
		return ok
	}
	require.False(t, exists())
	require.NoError(t, db.EnsureDatabase(ctx, dsn))
	require.True(t, exists(), "got no database %s after EnsureDatabase", name)
	require.NoError(t, db.EnsureDatabase(ctx, dsn), "second EnsureDatabase")
	require.NoError(t, db.Migrate(ctx, dsn))
}
