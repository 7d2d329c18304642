package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/dbtest"
)

// TestPostgresCPUCountsBackendsThatEnd: a PostgreSQL backend that ends during a measurement
// counts with the CPU it used within it, not minus all it had used before (the cluster's P4
// line of 2026-12-06 17:44 printed "PostgreSQL -1.8 s").
func TestPostgresCPUCountsBackendsThatEnd(t *testing.T) {
	_, dsn := dbtest.New(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	var pid int
	require.NoError(t, conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	burn := func() {
		_, err := conn.Exec(ctx, "SELECT count(*) FROM generate_series(1, 10000000)")
		require.NoError(t, err)
	}
	burn() // CPU the backend has used before the measurement
	before := procCPU(pid)
	require.Positive(t, before, "the backend's CPU before")

	stop := measureCPU(nil)
	burn() // and within it, then it ends
	within := procCPU(pid) - before
	require.NoError(t, conn.Close(ctx))
	require.Eventually(t, func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
		return os.IsNotExist(err)
	}, 10*time.Second, 10*time.Millisecond, "the backend ends")
	time.Sleep(50 * time.Millisecond) // the postmaster reaps it
	u := stop()
	require.GreaterOrEqual(t, u.used["PostgreSQL"], within-20*time.Millisecond,
		"PostgreSQL's CPU in the measurement holds the %v the ended backend used in it (it had used %v before)", within, before)
}
