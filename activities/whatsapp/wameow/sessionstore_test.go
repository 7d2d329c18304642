package wameow

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/aiadmin/aiadmin/db/dbtest"
)

func TestSessionDSN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@127.0.0.1:5432/aiadmin?sslmode=disable", "postgres://u:p@127.0.0.1:5432/aiadmin_wa?sslmode=disable"},
		{"postgres://u@h/aiadmin_wa", "postgres://u@h/aiadmin_wa"},
		{"host=h user=u dbname=aiadmin", "host=h user=u dbname=aiadmin dbname='aiadmin_wa'"},
	} {
		got, err := SessionDSN(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, "SessionDSN(%q)", tc.in)
		cfg, err := pgx.ParseConfig(got)
		require.NoError(t, err)
		require.Equal(t, "aiadmin_wa", cfg.Database, "got database %q want aiadmin_wa", cfg.Database)
	}
	_, err := SessionDSN("postgres://u@h:5432")
	require.Error(t, err, "a DSN without a database must fail")
}

// Three upgraders on a fresh server-side database: without the advisory lock two of three
// fail every time (reference §2.5); with it all succeed, and the database is created once.
func TestSessionStoreConcurrentUpgrade(t *testing.T) {
	dsn := dbtest.Empty(t) // dropped with its session database, <name>_wa
	ctx := t.Context()

	const n = 3
	stores := make([]*sessionStore, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = openSessionStore(ctx, dsn, waLog.Noop) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "upgrader %d", i)
		t.Cleanup(stores[i].close)
	}

	var version int
	require.NoError(t, stores[0].db.QueryRowContext(ctx, "SELECT version FROM whatsmeow_version").Scan(&version))
	require.GreaterOrEqual(t, version, 15, "got schema version %d, want >= 15", version)
	var tables int
	require.NoError(t, stores[0].db.QueryRowContext(ctx,
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'whatsmeow\\_%'").Scan(&tables))
	require.Equal(t, 17, tables, "got %d whatsmeow tables, want 17", tables)

	// The application database stays free of whatsmeow's tables.
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'whatsmeow\\_%'").Scan(&tables))
	require.Zero(t, tables, "got %d whatsmeow tables in the application database, want 0", tables)

	// Re-opening an up-to-date store is a no-op upgrade.
	again, err := openSessionStore(ctx, dsn, waLog.Noop)
	require.NoError(t, err)
	again.close()
}
