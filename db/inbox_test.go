package db_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// inbox is a test's view of the webhook_inbox queries.
type inbox struct {
	t     *testing.T
	ctx   context.Context
	store *db.Store
}

func (b inbox) insert(salon int64, resource string, id int64, body string) int64 {
	b.t.Helper()
	row, err := b.store.InsertInbox(b.ctx, sqlc.InsertInboxParams{SalonID: salon, Headers: []byte(`{}`), Body: []byte(body),
		Resource: resource, ResourceID: id, EventStatus: "update"})
	require.NoError(b.t, err)
	return row
}

// claim leases up to max rows to token and returns their IDs in order.
func (b inbox) claim(token string, lease float64, max int32) []int64 {
	b.t.Helper()
	var ids []int64
	require.NoError(b.t, b.store.InTx(b.ctx, func(q *sqlc.Queries) error {
		var err error
		ids, err = claimIDs(b.ctx, q, token, lease, max)
		return err
	}))
	return ids
}

// claimIDs takes the claim lock and leases up to max rows to token on q (inside a
// transaction), returning their IDs in order.
func claimIDs(ctx context.Context, q *sqlc.Queries, token string, lease float64, max int32) ([]int64, error) {
	if err := q.LockInboxClaims(ctx); err != nil {
		return nil, err
	}
	rows, err := q.ClaimInboxLanes(ctx, sqlc.ClaimInboxLanesParams{LeaseSeconds: lease, ClaimToken: token, MaxRows: max})
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids, err
}

func (b inbox) finish(id int64, token, state string) int64 {
	b.t.Helper()
	held, err := b.store.FinishInboxRows(b.ctx, sqlc.FinishInboxRowsParams{Ids: []int64{id}, States: []string{state},
		LastErrors: []string{""}, ClaimToken: token})
	require.NoError(b.t, err)
	return int64(len(held))
}

func TestInboxLanes(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	b := inbox{t: t, ctx: ctx, store: store}
	l1 := b.insert(1, "record", 100, `{"n":1}`) // lane (1, record, 100)
	l2 := b.insert(1, "record", 100, `{"n":2}`)
	m1 := b.insert(1, "record", 101, `{"n":3}`) // lane (1, record, 101)
	n1 := b.insert(2, "record", 100, `{"n":4}`) // another salon's record 100
	c1 := b.insert(1, "client", 100, `{"n":5}`) // a client with the record's ID

	require.Equal(t, []int64{l1, l2}, b.claim("a", 60, 2), "oldest first, up to max_rows")
	require.Equal(t, []int64{m1, n1, c1}, b.claim("b", 60, 10), "leased rows are not claimed again")
	require.Empty(t, b.claim("c", 60, 10))

	require.Zero(t, b.finish(l1, "b", "processed"), "another dispatcher's lease")
	require.EqualValues(t, 1, b.finish(l1, "a", "processed"))
	require.Zero(t, b.finish(l1, "a", "processed"), "finished once")

	// A refused row waits, and the later rows of its lane wait with it; other lanes go on.
	n, err := store.RetryInbox(ctx, sqlc.RetryInboxParams{ID: l2, ClaimToken: "a", AddAttempts: 1, LastError: "refused", DelaySeconds: 60})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	l3 := b.insert(1, "record", 100, `{"n":2}`)
	require.NoError(t, store.ReleaseInbox(ctx, sqlc.ReleaseInboxParams{Ids: []int64{m1, n1, c1}, ClaimToken: "b"}))
	m2 := b.insert(1, "record", 101, `{"n":6}`)
	require.Equal(t, []int64{m1, n1, c1, m2}, b.claim("c", 60, 10), "lane (1, record, 100) waits for its retry")
	require.EqualValues(t, 1, b.finish(m1, "c", "processed"))
	require.NoError(t, store.ReleaseInbox(ctx, sqlc.ReleaseInboxParams{Ids: []int64{n1, c1, m2}, ClaimToken: "c"}))

	// A row due again is claimed, with the lane behind it.
	_, err = store.Pool.Exec(ctx, "UPDATE webhook_inbox SET next_attempt_at = now() - interval '1 second' WHERE id = $1", l2)
	require.NoError(t, err)
	require.Equal(t, []int64{l2, n1, c1, l3, m2}, b.claim("d", -1, 10), "an expired lease")
	require.Equal(t, []int64{l2, n1, c1, l3, m2}, b.claim("e", 60, 10), "expired leases are claimed again")
	require.Zero(t, b.finish(l2, "d", "dead"), "a lost lease finishes nothing")
	require.EqualValues(t, 1, b.finish(l2, "e", "dead"))

	// The lanes' previous deliveries, in one statement: lane (1, record, 100) before l3, the
	// other salon's record 100 (nothing handed on), lane (1, record, 101) before m2 and before m1.
	prev, err := store.PreviousLaneBodies(ctx, sqlc.PreviousLaneBodiesParams{
		SalonIds: []int64{1, 2, 1, 1}, Resources: []string{"record", "record", "record", "record"},
		ResourceIds: []int64{100, 100, 101, 101}, BeforeIds: []int64{l3, n1, m2, m1}})
	require.NoError(t, err)
	require.ElementsMatch(t, []sqlc.PreviousLaneBodiesRow{
		{Position: 1, Body: []byte(`{"n":1}`)}, // the last row handed on, not the dead one
		{Position: 3, Body: []byte(`{"n":3}`)},
	}, prev, "a lane with nothing handed on before its row has no row")

	health, err := store.InboxHealth(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, sqlc.InboxHealthRow{Pending: 3, Dead: 1}, health)
	oldest, err := store.OldestPendingInbox(ctx, 1)
	require.NoError(t, err)
	var want time.Time
	require.NoError(t, store.Pool.QueryRow(ctx, "SELECT received_at FROM webhook_inbox WHERE id = $1", c1).Scan(&want))
	require.True(t, want.Equal(oldest), "got %v want %v", oldest, want)
}

// Claims are serialised: a second claim waits for the first one's transaction.
func TestInboxClaimsAreSerialised(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	err := store.InTx(ctx, func(q *sqlc.Queries) error {
		require.NoError(t, q.LockInboxClaims(ctx))
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		return store.InTx(wctx, func(q2 *sqlc.Queries) error { return q2.LockInboxClaims(wctx) })
	})
	require.Error(t, err, "the second claim got the lock while the first held it")
	require.NoError(t, store.InTx(ctx, func(q *sqlc.Queries) error { return q.LockInboxClaims(ctx) }), "free again")
}

func TestInboxPurge(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	b := inbox{t: t, ctx: ctx, store: store}
	old := b.insert(1, "record", 1, `{"client":"Анна"}`)
	recent := b.insert(1, "record", 2, `{"client":"Борис"}`)
	waiting := b.insert(1, "record", 3, `{"client":"Вера"}`)
	b.claim("a", 60, 2)
	b.finish(old, "a", "processed")
	b.finish(recent, "a", "processed")
	_, err := store.Pool.Exec(ctx, "UPDATE webhook_inbox SET processed_at = now() - interval '8 days', received_at = now() - interval '8 days' WHERE id = $1", old)
	require.NoError(t, err)
	_, err = store.Pool.Exec(ctx, "UPDATE webhook_inbox SET received_at = now() - interval '8 days' WHERE id = $1", waiting)
	require.NoError(t, err)

	n, err := store.PurgeInboxBodies(ctx, sqlc.PurgeInboxBodiesParams{Before: time.Now().Add(-7 * 24 * time.Hour), MaxRows: 100})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	type kept struct {
		State, Resource string
		ResourceID      int64
		Body            string
		Purged          bool
	}
	read := func(id int64) kept {
		var k kept
		require.NoError(t, store.Pool.QueryRow(ctx, "SELECT state, resource, resource_id, convert_from(body, 'UTF8'), purged_at IS NOT NULL FROM webhook_inbox WHERE id = $1", id).
			Scan(&k.State, &k.Resource, &k.ResourceID, &k.Body, &k.Purged))
		return k
	}
	require.Equal(t, kept{"processed", "record", 1, "", true}, read(old))
	require.Equal(t, kept{"processed", "record", 2, `{"client":"Борис"}`, false}, read(recent), "within the retention")
	require.Equal(t, kept{"pending", "record", 3, `{"client":"Вера"}`, false}, read(waiting), "not handed on yet")
	n, err = store.PurgeInboxBodies(ctx, sqlc.PurgeInboxBodiesParams{Before: time.Now().Add(-7 * 24 * time.Hour), MaxRows: 100})
	require.NoError(t, err)
	require.Zero(t, n, "purged once")
}

// A row whose body was purged is deleted once it was handed on more than the rows' retention
// ago; a dead row stays (it is an operator's to look at, and counted), and so do rows still
// keeping their body or handed on within the retention.
func TestInboxOldRowsDeleted(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	b := inbox{t: t, ctx: ctx, store: store}
	ids := map[string]int64{}
	for i, name := range []string{"old", "dead", "young", "unpurged", "waiting"} {
		ids[name] = b.insert(1, "record", int64(i+1), `{"n":1}`)
	}
	b.claim("a", 60, 10)
	b.finish(ids["old"], "a", "processed")
	b.finish(ids["dead"], "a", "dead")
	b.finish(ids["young"], "a", "duplicate")
	b.finish(ids["unpurged"], "a", "ignored")
	_, err := store.Pool.Exec(ctx, `UPDATE webhook_inbox SET processed_at = now() - interval '91 days', body = '', purged_at = now() - interval '84 days'
		WHERE id = ANY($1)`, []int64{ids["old"], ids["dead"]})
	require.NoError(t, err)
	_, err = store.Pool.Exec(ctx, `UPDATE webhook_inbox SET processed_at = now() - interval '89 days', body = '', purged_at = now() - interval '82 days'
		WHERE id = $1`, ids["young"])
	require.NoError(t, err)
	_, err = store.Pool.Exec(ctx, `UPDATE webhook_inbox SET processed_at = now() - interval '91 days' WHERE id = $1`, ids["unpurged"])
	require.NoError(t, err)

	before := time.Now().Add(-90 * 24 * time.Hour)
	n, err := store.DeleteOldInboxRows(ctx, sqlc.DeleteOldInboxRowsParams{Before: before, MaxRows: 100})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	rows, err := store.Pool.Query(ctx, "SELECT id FROM webhook_inbox ORDER BY id")
	require.NoError(t, err)
	left, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{ids["dead"], ids["young"], ids["unpurged"], ids["waiting"]}, left)
	n, err = store.DeleteOldInboxRows(ctx, sqlc.DeleteOldInboxRowsParams{Before: before, MaxRows: 100})
	require.NoError(t, err)
	require.Zero(t, n)
}

// A lease is a row of webhook_inbox_leases: claiming writes no new version of the inbox row
// (whose body is a kilobyte or more), finishing writes the row once and ends the lease. The
// row's own lease columns, written by the code before migration 00015, are no longer read (a
// later migration drops them): a lease left there holds back neither its row nor its lane.
// Leases expired for a while are deleted.
func TestInboxLeaseLeavesTheRowUnwritten(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	b := inbox{t: t, ctx: ctx, store: store}
	version := func(id int64) string {
		t.Helper()
		var v string
		require.NoError(t, store.Pool.QueryRow(ctx, "SELECT xmin::text || ctid::text FROM webhook_inbox WHERE id = $1", id).Scan(&v))
		return v
	}
	leaseOf := func(id int64) string {
		t.Helper()
		var token string
		err := store.Pool.QueryRow(ctx, "SELECT claim_token FROM webhook_inbox_leases WHERE inbox_id = $1", id).Scan(&token)
		if errors.Is(err, pgx.ErrNoRows) {
			return ""
		}
		require.NoError(t, err)
		return token
	}
	a := b.insert(1, "record", 100, `{"n":1}`)
	before := version(a)
	require.Equal(t, []int64{a}, b.claim("x", 60, 10))
	require.Equal(t, before, version(a), "the claim did not write the inbox row")
	require.Equal(t, "x", leaseOf(a))
	require.EqualValues(t, 1, b.finish(a, "x", "processed"))
	require.NotEqual(t, before, version(a), "the finish wrote it")
	require.Empty(t, leaseOf(a), "the lease ended with the row")

	// A lease of the code before, in the row's columns, is not read.
	old := b.insert(1, "record", 200, `{"n":2}`)
	behind := b.insert(1, "record", 200, `{"n":3}`)
	other := b.insert(1, "record", 201, `{"n":4}`)
	_, err := store.Pool.Exec(ctx, "UPDATE webhook_inbox SET claim_token = 'before', claimed_until = now() + interval '1 minute' WHERE id = $1", old)
	require.NoError(t, err)
	require.Equal(t, []int64{old, behind, other}, b.claim("y", 60, 10), "a lease in the row's own columns holds back neither the row nor its lane")

	// Expired leases: taken over by a claim, deleted by the purge once stale.
	require.NoError(t, store.ReleaseInbox(ctx, sqlc.ReleaseInboxParams{Ids: []int64{old, behind}, ClaimToken: "y"}))
	require.Equal(t, []int64{old, behind}, b.claim("z", -1, 10))
	require.Equal(t, []int64{old, behind}, b.claim("w", -1, 10), "expired leases are taken over")
	require.Equal(t, "w", leaseOf(old))
	n, err := store.DeleteStaleInboxLeases(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "expired for less than the hour")
	n, err = store.DeleteStaleInboxLeases(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "the two expired leases; the one of %d is held", other)
	require.Equal(t, "y", leaseOf(other))
}

// execer runs statements on store, failing t on an error.
func execer(t *testing.T, store *db.Store) func(sql string, args ...any) {
	return func(sql string, args ...any) {
		t.Helper()
		_, err := store.Pool.Exec(t.Context(), sql, args...)
		require.NoError(t, err)
	}
}

// span is the n IDs from from on.
func span(from int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}

// TestInboxClaimReadsAboutWhatItClaims: a claim's work does not grow with the backlog. It reads
// the rows it leases and the few it passes over, however many wait behind them, and whatever
// PostgreSQL's statistics say: taken while the inbox was quiet (as they are when a burst
// arrives: autovacuum analyzes the table later) or with the burst in them. (A claim that
// looked at every pending row, or checked each row's lane against every pending row, made a
// burst of webhooks slow to drain in proportion to its size or to its square.)
func TestInboxClaimReadsAboutWhatItClaims(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	exec := execer(t, store)
	// The statistics are the test's to decide: autovacuum stays away from the table.
	exec("ALTER TABLE webhook_inbox SET (autovacuum_enabled = off)")
	// The inbox's history: rows received (pending) and ended, vacuumed; then an earlier burst,
	// ended too, and the table analyzed while none waits, as autovacuum leaves a quiet inbox.
	history := func(from int) {
		exec(fmt.Sprintf(`INSERT INTO webhook_inbox (salon_id, body, resource, resource_id)
			SELECT 1, convert_to(repeat('x', 1000), 'UTF8'), 'record', g FROM generate_series(%d, %d) g`, from, from+4999))
		exec("UPDATE webhook_inbox SET state = 'processed', attempts = 1, processed_at = now() WHERE state = 'pending'")
	}
	history(1)
	exec("VACUUM ANALYZE webhook_inbox")
	history(10000)
	exec("ANALYZE webhook_inbox")

	// The burst. At its head a lane that waits for its next attempt, and a row another
	// dispatcher holds: the claim passes over them.
	b := inbox{t: t, ctx: ctx, store: store}
	waiting := b.insert(1, "record", 1_000_000, `{"n":1}`)
	behind := b.insert(1, "record", 1_000_000, `{"n":2}`)
	held := b.insert(1, "record", 1_000_001, `{"n":3}`)
	exec("UPDATE webhook_inbox SET next_attempt_at = now() + interval '1 hour' WHERE id = $1", waiting)
	exec("INSERT INTO webhook_inbox_leases (inbox_id, claim_token, claimed_until) VALUES ($1, 'other', now() + interval '1 minute')", held)
	const burst = 3000
	var first int64
	require.NoError(t, store.Pool.QueryRow(ctx, `WITH s AS (
		INSERT INTO webhook_inbox (salon_id, body, resource, resource_id)
		SELECT 1, convert_to(repeat('y', 1000), 'UTF8'), 'record', 2000000 + g FROM generate_series(1, $1::int) g
		RETURNING id) SELECT min(id) FROM s`, burst).Scan(&first))

	ids, read := claimCounting(t, store, "a")
	require.Equal(t, span(first, 100), ids, "the oldest claimable rows; %d, %d and %d passed over", waiting, behind, held)
	// Each leased row is read twice (judged, then returned), each row passed over once.
	most := func(passed int64) int64 { return 2*100 + passed + 10 }
	require.LessOrEqual(t, read, most(3), "statistics from before the burst: the claim read %d inbox rows for 100 of %d pending", read, burst+3)

	// The rows' ends, with the same statistics: each row read once.
	tx, err := store.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	genericPlans(t, tx)
	before := rowsReadSoFar(t, tx)
	states, notes := make([]string, len(ids)), make([]string, len(ids))
	for i := range ids {
		states[i] = "processed"
	}
	ended, err := sqlc.New(tx).FinishInboxRows(ctx, sqlc.FinishInboxRowsParams{Ids: ids, States: states, LastErrors: notes, ClaimToken: "a"})
	require.NoError(t, err)
	require.Len(t, ended, len(ids))
	read = rowsReadSoFar(t, tx) - before
	require.NoError(t, tx.Rollback(ctx)) // the rows stay leased for the next claim to pass over
	require.LessOrEqual(t, read, int64(len(ids)+10), "ending %d rows read %d inbox rows", len(ids), read)

	exec("ANALYZE webhook_inbox")
	ids, read = claimCounting(t, store, "b")
	require.Equal(t, span(first+100, 100), ids, "the next oldest")
	require.LessOrEqual(t, read, most(3+100), "statistics with the burst in them (and the 100 rows leased before at its head): "+
		"the claim read %d inbox rows for 100 of %d pending", read, burst+3)
}

// TestInboxClaimAfterAnOutage: after a spell in which Temporal refused every row (a namespace
// without our search attributes, say: each start refused as an invalid argument), every lane
// of the backlog waits for its next attempt, and webhooks keep arriving behind them. (Temporal
// out of reach leaves no row waiting: the row is put back due at once, its attempt not
// counted, and the pass stops until Temporal answers.) A claim leases the new rows, reading
// the rows it leases, each waiting row once (to see that it is not due), the rows behind a
// waiting one (and that row again, to see that it waits), and none of the inbox's history,
// whatever the statistics say: taken before the refusals, as autovacuum leaves a quiet inbox,
// or with them in it. It holds the inbox's claim lock meanwhile, so a claim that took seconds
// would hold up every dispatcher: a claim that checked each row against the list of waiting
// lanes it had passed took 2.9 s with 8,000 of them and grew with their square, hence the 5 s
// deadline, far above what the claim takes here. (An index holding when each pending row is
// due, so that a waiting row would be passed over on its index entry, was tried: with the
// refusals in the statistics PostgreSQL walked the primary key instead, through the whole
// history, 124,300 rows for 100 leased.)
func TestInboxClaimAfterAnOutage(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	exec := execer(t, store)
	exec("ALTER TABLE webhook_inbox SET (autovacuum_enabled = off)")
	// The inbox's history, ended, and the table analyzed before the refusals.
	exec(`INSERT INTO webhook_inbox (salon_id, body, resource, resource_id, state, attempts, processed_at)
		SELECT 1 + g % 50, '\x7b7d', 'record', g, 'processed', 1, now() FROM generate_series(1, 100000) g`)
	exec("VACUUM ANALYZE webhook_inbox")
	// 20,000 lanes tried once and waiting; 2,000 of them with a later webhook behind.
	const waiting, followers = 20000, 2000
	exec(`INSERT INTO webhook_inbox (salon_id, body, resource, resource_id, attempts, next_attempt_at)
		SELECT 1 + g % 50, '\x7b7d', 'record', 200000 + g, 1, now() + interval '1 hour' FROM generate_series(1, $1::int) g`, waiting)
	exec(`INSERT INTO webhook_inbox (salon_id, body, resource, resource_id)
		SELECT 1 + g % 50, '\x7b7d', 'record', 200000 + g FROM generate_series(1, $1::int) g`, followers)
	var first int64
	require.NoError(t, store.Pool.QueryRow(ctx, `WITH s AS (
		INSERT INTO webhook_inbox (salon_id, body, resource, resource_id)
		SELECT 1 + g % 50, '\x7b7d', 'record', 1000000 + g FROM generate_series(1, 200) g
		RETURNING id) SELECT min(id) FROM s`).Scan(&first))

	// Each leased row is read twice (judged, then returned); each row behind a waiting one
	// once, and the waiting one once for it; each waiting row once, passed over.
	most := int64(2*100 + 2*followers + waiting + 10)
	ids, read := claimCounting(t, store, "a")
	require.Equal(t, span(first, 100), ids, "the new lanes' rows, none of the %d behind a waiting row", followers)
	t.Logf("statistics from before the refusals: %d inbox rows read", read)
	require.LessOrEqual(t, read, most, "statistics from before the refusals: the claim read %d inbox rows, %d lanes waiting", read, waiting)

	exec("ANALYZE webhook_inbox")
	ids, read = claimCounting(t, store, "b")
	require.Equal(t, span(first+100, 100), ids, "the next new rows")
	t.Logf("statistics with the refusals in them: %d inbox rows read", read)
	require.LessOrEqual(t, read, most+100, "statistics with the refusals in them (and the 100 rows leased before): "+
		"the claim read %d inbox rows, %d lanes waiting", read, waiting)
}

// claimCounting leases up to 100 rows in one transaction, as the dispatcher does, with plans
// made as for a prepared statement and a deadline of 5 s, and returns their IDs in order and
// how many inbox rows the transaction read.
func claimCounting(t *testing.T, store *db.Store, token string) (ids []int64, read int64) {
	t.Helper()
	ctx := t.Context()
	tx, err := store.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	q := sqlc.New(tx)
	genericPlans(t, tx)
	_, err = tx.Exec(ctx, "SET LOCAL statement_timeout = '5s'")
	require.NoError(t, err)
	require.NoError(t, q.LockInboxClaims(ctx))
	before := rowsReadSoFar(t, tx)
	rows, err := q.ClaimInboxLanes(ctx, sqlc.ClaimInboxLanesParams{LeaseSeconds: 60, ClaimToken: token, MaxRows: 100})
	require.NoError(t, err)
	read = rowsReadSoFar(t, tx) - before
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	require.NoError(t, tx.Commit(ctx))
	slices.Sort(ids)
	return ids, read
}

// rowsReadSoFar is how many inbox rows tx's backend has read and not yet reported, which may
// include its earlier transactions' (it reports them when idle): the difference across a
// statement is the statement's.
func rowsReadSoFar(t *testing.T, tx pgx.Tx) int64 {
	t.Helper()
	return tableReadSoFar(t, tx, "webhook_inbox")
}

// tableReadSoFar is rowsReadSoFar for any table.
func tableReadSoFar(t *testing.T, tx pgx.Tx, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, tx.QueryRow(t.Context(), `SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0)
		FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, table).Scan(&n))
	return n
}

// genericPlans plans tx's statements as PostgreSQL plans a prepared statement from its sixth
// run on (pgx prepares them): for any parameters, the arrays' lengths unknown.
func genericPlans(t *testing.T, tx pgx.Tx) {
	t.Helper()
	_, err := tx.Exec(t.Context(), "SET LOCAL plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
}

// No statement of the inbox reads or writes the row's own lease columns (claimed_until,
// claim_token) any more, so that a later migration can drop them while processes of this code
// still run: every statement of webhook_inbox.sql, run in a transaction that has dropped them.
func TestInboxStatementsNeedNoOldLeaseColumns(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	tx, err := store.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "ALTER TABLE webhook_inbox DROP COLUMN claimed_until, DROP COLUMN claim_token")
	require.NoError(t, err)
	secret := sha256.Sum256([]byte("s3cret"))
	_, err = tx.Exec(ctx, "INSERT INTO salon_secrets (salon_id, webhook_secret_hash) VALUES (7, $1)", secret[:])
	require.NoError(t, err)
	q := sqlc.New(tx)

	got, err := q.ReceiveInbox(ctx, sqlc.ReceiveInboxParams{SalonIds: []int64{7}, SecretHashes: [][]byte{secret[:]},
		Headers: [][]byte{[]byte(`{}`)}, Bodies: [][]byte{[]byte(`{"n":1}`)}, Resources: []string{"record"},
		ResourceIds: []int64{1}, EventStatuses: []string{"create"}})
	require.NoError(t, err)
	require.Len(t, got, 1)
	first := got[0].ID
	second, err := q.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: 7, Resource: "record", ResourceID: 1, EventStatus: "update"})
	require.NoError(t, err)

	claim := func(token string) []int64 {
		t.Helper()
		ids, err := claimIDs(ctx, q, token, 60, 10)
		require.NoError(t, err)
		return ids
	}
	require.ElementsMatch(t, []int64{first, second}, claim("a"))
	require.NoError(t, q.ReleaseInbox(ctx, sqlc.ReleaseInboxParams{Ids: []int64{first, second}, ClaimToken: "a"}))
	require.ElementsMatch(t, []int64{first, second}, claim("b"))
	n, err := q.RetryInbox(ctx, sqlc.RetryInboxParams{ID: first, ClaimToken: "b", AddAttempts: 1, LastError: "refused", DelaySeconds: 0})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, q.ReleaseInbox(ctx, sqlc.ReleaseInboxParams{Ids: []int64{second}, ClaimToken: "b"}))
	require.ElementsMatch(t, []int64{first, second}, claim("c"))
	_, err = q.PreviousLaneBodies(ctx, sqlc.PreviousLaneBodiesParams{SalonIds: []int64{7}, Resources: []string{"record"},
		ResourceIds: []int64{1}, BeforeIds: []int64{first}})
	require.NoError(t, err)
	ended, err := q.FinishInboxRows(ctx, sqlc.FinishInboxRowsParams{Ids: []int64{first, second},
		States: []string{"dead", "processed"}, LastErrors: []string{"refused", ""}, ClaimToken: "c"})
	require.NoError(t, err)
	require.Len(t, ended, 2)

	dead, err := q.ListDeadInbox(ctx, sqlc.ListDeadInboxParams{MaxRows: 10})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	row, err := q.GetInbox(ctx, first)
	require.NoError(t, err)
	require.Equal(t, "dead", row.State)
	n, err = q.RetryDeadInbox(ctx, first)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	_, err = q.InboxHealth(ctx, 7)
	require.NoError(t, err)
	_, err = q.OldestPendingInbox(ctx, 7)
	require.NoError(t, err)
	_, err = q.InboxBacklog(ctx)
	require.NoError(t, err)
	_, err = q.PurgeInboxBodies(ctx, sqlc.PurgeInboxBodiesParams{Before: time.Now().Add(time.Hour), MaxRows: 10})
	require.NoError(t, err)
	_, err = q.DeleteOldInboxRows(ctx, sqlc.DeleteOldInboxRowsParams{Before: time.Now().Add(time.Hour), MaxRows: 10})
	require.NoError(t, err)
	_, err = q.DeleteStaleInboxLeases(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)

	// Every statement of the file is run above: a new one must be added here.
	ran := []string{"InsertInbox", "ReceiveInbox", "LockInboxClaims", "ClaimInboxLanes", "PreviousLaneBodies",
		"FinishInboxRows", "RetryInbox", "ReleaseInbox", "DeleteStaleInboxLeases", "InboxHealth", "OldestPendingInbox",
		"PurgeInboxBodies", "DeleteOldInboxRows", "InboxBacklog", "ListDeadInbox", "GetInbox", "RetryDeadInbox"}
	src, err := os.ReadFile("queries/webhook_inbox.sql")
	require.NoError(t, err)
	var named []string
	for _, m := range regexp.MustCompile(`(?m)^-- name: (\w+)`).FindAllStringSubmatch(string(src), -1) {
		named = append(named, m[1])
	}
	require.ElementsMatch(t, named, ran, "the statements of webhook_inbox.sql and those this test runs")
}
