package dispatcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

const (
	drainRows   = 4000 // rows per side per round
	drainRounds = 3    // rounds per side, the sides taking turns
)

// BenchmarkInboxDrain measures what the dispatcher itself costs a webhook: it drains rows of a
// resource it ignores (no Temporal call, so what is left is the claim, the lanes and the rows'
// ends), 4,000 at a time with bodies of a webhook's size, against the least any dispatcher
// must write: the same number of rows ended by one UPDATE per 100 rows, each its own commit,
// with no claim. The sides take turns, three rounds each, on one database. It prints rows a
// second and WAL a row for both, the dispatcher's finishing statements a claim, and the ratio;
// it fails only when a row is not ended exactly once.
func BenchmarkInboxDrain(b *testing.B) {
	ctx := context.Background()
	store, _ := dbtest.New(b)
	next := int64(0)
	fill := func() (first, last int64) {
		first, last = fillInbox(b, store, next, drainRows)
		next += drainRows
		return first, last
	}
	var drain, bare drainSide
	var statements, claims int64
	var bodySize int
	for b.Loop() {
		for range drainRounds {
			first, last := fill()
			require.NoError(b, store.Pool.QueryRow(ctx, "SELECT octet_length(body) FROM webhook_inbox WHERE id = $1", first).Scan(&bodySize))
			d := New(Options{Store: store, TaskQueue: "nobody"}) // ignored rows need no Temporal
			drain.measure(b, store, func() int {
				rows, passes := drainAll(b, d)
				claims += int64(passes)
				return rows
			})
			statements += d.finishStatements.Load()
			requireEndedOnce(b, store, first, last)

			first, last = fill()
			bare.measure(b, store, func() int {
				for id := first; id <= last; id += 100 {
					_, err := store.Pool.Exec(ctx, `UPDATE webhook_inbox SET state = 'ignored', attempts = attempts + 1,
						processed_at = now() WHERE id BETWEEN $1 AND $2`, id, min(id+99, last))
					require.NoError(b, err)
				}
				return int(last - first + 1)
			})
			requireEndedOnce(b, store, first, last)
		}
	}
	b.StopTimer()
	b.ReportMetric(drain.rps(), "drain_rows/s")
	b.ReportMetric(bare.rps(), "bare_rows/s")
	b.ReportMetric(drain.rps()/bare.rps(), "ratio")
	fmt.Printf("Inbox drain: the dispatcher ends %d ignored rows (bodies of %d B) at %.0f rows/s, %.0f B of WAL a row, "+
		"%.1f finishing statements a claim of up to 100; bare (one UPDATE per 100 rows, no claim) %.0f rows/s, %.0f B of WAL a row; "+
		"ratio %.2f (%d rounds a side, taking turns, %s)\n",
		drain.rows, bodySize, drain.rps(), drain.walPerRow(), float64(statements)/float64(claims),
		bare.rps(), bare.walPerRow(), drain.rps()/bare.rps(), drainRounds*b.N, time.Now().Format(time.DateOnly))
}

const (
	burstRows    = 20000 // a burst's webhooks
	burstHistory = 20000 // finished rows in the inbox before the first burst
	burstRounds  = 2     // bursts per side, the sides taking turns
)

// BenchmarkInboxBurst measures the dispatcher draining a burst of webhooks that arrives at an
// inbox whose statistics PostgreSQL took while it was quiet, as autovacuum leaves them (it
// analyzes the table only some time after the burst), against the same burst drained once the
// statistics have it in them: how a claim is planned must not decide how fast a burst drains.
// Rows of an ignored resource, as in BenchmarkInboxDrain, 20,000 a burst in as many lanes,
// after 20,000 finished rows; the sides take turns, two bursts each. It prints both rates and
// the ratio (before ÷ after), and fails only when a row is not ended exactly once.
func BenchmarkInboxBurst(b *testing.B) {
	ctx := context.Background()
	store, _ := dbtest.New(b)
	exec := func(sql string) {
		_, err := store.Pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	exec("ALTER TABLE webhook_inbox SET (autovacuum_enabled = false)") // the statistics are the benchmark's to take
	next := int64(0)
	first, last := fillInbox(b, store, next, burstHistory)
	next += burstHistory
	exec(fmt.Sprintf("UPDATE webhook_inbox SET state = 'ignored', attempts = 1, processed_at = now() WHERE id BETWEEN %d AND %d", first, last))
	exec("VACUUM ANALYZE webhook_inbox")

	var stale, fresh drainSide
	for b.Loop() {
		for range burstRounds {
			for _, side := range []*drainSide{&fresh, &stale} {
				if side == &stale {
					exec("ANALYZE webhook_inbox") // the inbox quiet: every row finished
				}
				first, last := fillInbox(b, store, next, burstRows)
				next += burstRows
				if side == &fresh {
					exec("ANALYZE webhook_inbox") // the burst in the statistics
				}
				side.drain(b, store, first, last)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(stale.rps(), "stale_rows/s")
	b.ReportMetric(fresh.rps(), "fresh_rows/s")
	b.ReportMetric(stale.rps()/fresh.rps(), "ratio")
	fmt.Printf("Inbox burst: the dispatcher drains a burst of %d webhooks at %.0f rows/s with PostgreSQL's statistics of the inbox "+
		"taken before it arrived, %.0f rows/s with them taken after; ratio %.2f (after %d finished rows, %d bursts a side, taking turns, %s)\n",
		burstRows, stale.rps(), fresh.rps(), stale.rps()/fresh.rps(), burstHistory, burstRounds*b.N, time.Now().Format(time.DateOnly))
}

const (
	outageWaiting = 20000 // lanes waiting for their next attempt
	outageRows    = 4000  // new webhooks a round
	outageRounds  = 2     // rounds per side, the sides taking turns
)

// BenchmarkInboxOutage measures the dispatcher draining new webhooks that arrive behind a
// backlog left by a spell in which Temporal refused every row (a namespace without our search
// attributes, say), 20,000 lanes each tried once and waiting for its next attempt (Temporal
// out of reach leaves none waiting: the row is put back due at once), against the same
// webhooks drained from an inbox with none waiting (a database of its own on the same
// server). Each claim passes over the waiting rows: this is what they cost it. Rows of an ignored resource, as in BenchmarkInboxDrain, 4,000 a round; the sides take
// turns, two rounds each. It prints both rates and the ratio (behind ÷ alone), and fails only
// when a row is not ended exactly once or a waiting row is touched.
func BenchmarkInboxOutage(b *testing.B) {
	ctx := context.Background()
	behindStore, _ := dbtest.New(b)
	aloneStore, _ := dbtest.New(b)
	first, last := fillInbox(b, behindStore, 1_000_000, outageWaiting)
	_, err := behindStore.Pool.Exec(ctx, `UPDATE webhook_inbox SET attempts = 1, last_error = 'temporal unavailable',
		next_attempt_at = now() + interval '1 hour' WHERE id BETWEEN $1 AND $2`, first, last)
	require.NoError(b, err)
	for _, store := range []*db.Store{behindStore, aloneStore} {
		_, err := store.Pool.Exec(ctx, "VACUUM ANALYZE webhook_inbox")
		require.NoError(b, err)
	}

	var behind, alone drainSide
	next := int64(0)
	for b.Loop() {
		for range outageRounds {
			for _, side := range []*drainSide{&alone, &behind} {
				store := aloneStore
				if side == &behind {
					store = behindStore
				}
				from, to := fillInbox(b, store, next, outageRows)
				next += outageRows
				side.drain(b, store, from, to)
			}
		}
	}
	b.StopTimer()
	var untouched int
	require.NoError(b, behindStore.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE id BETWEEN $1 AND $2
		AND state = 'pending' AND attempts = 1 AND next_attempt_at > now()`, first, last).Scan(&untouched))
	require.Equal(b, outageWaiting, untouched, "the waiting rows wait")
	b.ReportMetric(behind.rps(), "behind_rows/s")
	b.ReportMetric(alone.rps(), "alone_rows/s")
	b.ReportMetric(behind.rps()/alone.rps(), "ratio")
	fmt.Printf("Inbox outage: the dispatcher drains new webhooks at %.0f rows/s behind %d lanes waiting for their next attempt, "+
		"%.0f rows/s with none waiting; ratio %.2f (%d rows a round, %d rounds a side, taking turns, %s)\n",
		behind.rps(), outageWaiting, alone.rps(), behind.rps()/alone.rps(), outageRows, outageRounds*b.N, time.Now().Format(time.DateOnly))
}

// drainAll runs d's passes until one finds nothing to claim, and returns the rows they ended
// and how many passes claimed some.
func drainAll(b *testing.B, d *Dispatcher) (rows, passes int) {
	for {
		n, err := d.DispatchOnce(context.Background())
		require.NoError(b, err)
		if n == 0 {
			return rows, passes
		}
		rows += n
		passes++
	}
}

// fillInbox stores n pending webhooks of an ignored resource, with bodies of a webhook's size,
// each in a lane of its own (resource IDs from, from+1, …), and returns their first and last IDs.
func fillInbox(b *testing.B, store *db.Store, from int64, n int) (first, last int64) {
	err := store.Pool.QueryRow(context.Background(), `WITH ins AS (
		INSERT INTO webhook_inbox (salon_id, headers, body, resource, resource_id, event_status)
		SELECT 7, '{"Content-Type":"application/json"}',
		       convert_to('{"company_id":7,"resource":"goods_operations_sale","resource_id":' || g ||
		                  ',"status":"create","data":{"comment":"' || repeat('x', 1400) || '"}}', 'UTF8'),
		       'goods_operations_sale', g, 'create'
		FROM generate_series($1::bigint, $1::bigint + $2 - 1) g
		RETURNING id)
		SELECT min(id), max(id) FROM ins`, from, n).Scan(&first, &last)
	require.NoError(b, err)
	return first, last
}

// drainSide is what one side's rounds of BenchmarkInboxDrain add up to.
type drainSide struct {
	rows int
	took time.Duration
	wal  int64
}

// measure runs one round, adding its rows, wall time and WAL bytes.
func (s *drainSide) measure(b *testing.B, store *db.Store, round func() int) {
	ctx := context.Background()
	var before string
	require.NoError(b, store.Pool.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&before))
	start := time.Now()
	s.rows += round()
	s.took += time.Since(start)
	var wal int64
	require.NoError(b, store.Pool.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", before).Scan(&wal))
	s.wal += wal
}

// drain runs one round of a fresh dispatcher draining the rows first to last (of a resource
// it ignores, so no Temporal is needed), and fails unless each was ended exactly once.
func (s *drainSide) drain(b *testing.B, store *db.Store, first, last int64) {
	d := New(Options{Store: store, TaskQueue: "nobody"})
	s.measure(b, store, func() int {
		rows, _ := drainAll(b, d)
		return rows
	})
	requireEndedOnce(b, store, first, last)
}

func (s *drainSide) rps() float64       { return float64(s.rows) / s.took.Seconds() }
func (s *drainSide) walPerRow() float64 { return float64(s.wal) / float64(s.rows) }

// requireEndedOnce fails unless every row from first to last is ignored after one attempt,
// with no lease left.
func requireEndedOnce(b *testing.B, store *db.Store, first, last int64) {
	var wrong, leases int
	require.NoError(b, store.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM webhook_inbox WHERE id BETWEEN $1 AND $2 AND (state <> 'ignored' OR attempts <> 1)),
		(SELECT count(*) FROM webhook_inbox_leases WHERE inbox_id BETWEEN $1 AND $2)`, first, last).Scan(&wrong, &leases))
	require.Zero(b, wrong, "rows not ended exactly once")
	require.Zero(b, leases, "leases left")
}
