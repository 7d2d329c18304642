package dbtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func TestNew(t *testing.T) {
	ctx := context.Background()
	dbtest.New(t) // builds or finds the template; not timed

	var dsns []string
	for i := range 5 {
		start := time.Now()
		store, dsn := dbtest.New(t)
		took := time.Since(start)
		t.Logf("database %d ready in %v", i, took)
		// The budget is generous for a loaded 2-core CI machine; locally it
		// takes tens of milliseconds.
		require.Less(t, took, 3*time.Second, "got %v for a test database", took)

		_, err := store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: int64(i), Timezone: "Europe/Moscow"})
		require.NoError(t, err, "database %d is not migrated", i)
		dsns = append(dsns, dsn)
	}
	require.Len(t, dsns, 5)
	for i := 1; i < len(dsns); i++ {
		require.NotEqual(t, dsns[0], dsns[i], "databases must be unique")
	}
}

func TestDatabasesAreIsolatedAndDropped(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("inner", func(t *testing.T) {
		store, dsn := dbtest.New(t)
		_, err := store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: 1, Timezone: "Europe/Moscow"})
		require.NoError(t, err)
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err)
		name = cfg.Database

		other, _ := dbtest.New(t)
		var n int
		require.NoError(t, other.Pool.QueryRow(ctx, "SELECT count(*) FROM companies").Scan(&n))
		require.Equal(t, 0, n, "a new database must not see another test's rows")
	})

	// The inner test's cleanup has run: its database must be gone.
	require.False(t, databaseExists(t, name), "database %s was not dropped", name)
}

// databaseExists asks the server, through a database of the test's own, whether name exists.
func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbtest.Empty(t))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var exists bool
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	return exists
}

// A database made beside the test's own and named after it, as the WhatsApp session store
// makes <name>_wa on first start, goes with it: the test cannot always drop it itself (the
// process under test creates it), and left behind it would stay until the stale sweep.
func TestTwinDatabasesAreDropped(t *testing.T) {
	ctx := context.Background()
	var twin string
	var twinConn *pgx.Conn
	t.Run("inner", func(t *testing.T) {
		dsn := dbtest.Empty(t)
		cfg, err := pgx.ParseConfig(dsn)
		require.NoError(t, err)
		twin = cfg.Database + "_wa"
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{twin}.Sanitize())
		require.NoError(t, err)
		// A session still connected to the twin when the test ends does not keep it.
		cfg.Database = twin
		twinConn, err = pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
	})
	defer twinConn.Close(ctx)

	require.False(t, databaseExists(t, twin), "database %s was left behind", twin)
}
