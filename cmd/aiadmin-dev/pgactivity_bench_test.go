package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgSampleEvery is how often samplePostgres looks at what PostgreSQL's backends are doing.
const pgSampleEvery = 50 * time.Millisecond

// samplePostgres samples, every pgSampleEvery until what it returns is called, the statements
// that PostgreSQL's backends of the databases dbs (name → label) are running, from
// pg_stat_activity over one connection of its own to dsn's server, and what each waits for:
// nothing (on CPU), the WAL (its write and flush: the commits), or anything else. The CPU
// figure measureCPU prints for PostgreSQL says how much, this says on what: on the cluster
// the application's database and Temporal's two share the server. What it returns ends the
// sampling and returns the tally (its String: average busy backends by wait, and the
// statements on CPU and waiting for the WAL, largest first), or why none was taken.
func samplePostgres(dsn string, dbs map[string]string) func() (pgTally, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu      sync.Mutex
		tally   pgTally
		failure error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			failure = err
			return
		}
		defer conn.Close(context.Background())
		names := slices.Collect(maps.Keys(dbs))
		tick := time.NewTicker(pgSampleEvery)
		defer tick.Stop()
		for {
			rows, err := conn.Query(ctx, `SELECT datname, coalesce(wait_event_type, ''), coalesce(wait_event, ''), query
				FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = ANY($1)`, names)
			if err == nil {
				var seen []pgBusy
				for rows.Next() {
					var db, waitType, wait, query string
					if rows.Scan(&db, &waitType, &wait, &query) == nil {
						seen = append(seen, pgBusy{statement: dbs[db] + ": " + pgStatement(query), wait: pgWaitClass(waitType, wait)})
					}
				}
				err = rows.Err()
				mu.Lock()
				tally.add(seen)
				mu.Unlock()
			}
			if err != nil {
				if ctx.Err() == nil {
					failure = err
				}
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return func() (pgTally, error) {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if tally.samples == 0 && failure == nil {
			failure = errors.New("no sample taken")
		}
		return tally, failure
	}
}

// describePostgres is samplePostgres's tally for a P line, or why there is none.
func describePostgres(t pgTally, err error) string {
	if t.samples == 0 {
		return fmt.Sprintf("PostgreSQL's backends not sampled (%v)", err)
	}
	return t.String()
}

// pgBusy is one backend running a statement in one sample.
type pgBusy struct {
	statement string // "<database's label>: <statement>"
	wait      string // pgWaitClass
}

// pgTally counts samplePostgres's samples.
type pgTally struct {
	samples int
	byWait  map[string]int            // busy backends seen, by wait class
	byStmt  map[string]map[string]int // by wait class, then statement
}

func (t *pgTally) add(seen []pgBusy) {
	if t.byWait == nil {
		t.byWait, t.byStmt = map[string]int{}, map[string]map[string]int{}
	}
	t.samples++
	for _, s := range seen {
		t.byWait[s.wait]++
		if t.byStmt[s.wait] == nil {
			t.byStmt[s.wait] = map[string]int{}
		}
		t.byStmt[s.wait][s.statement]++
	}
}

// String is the tally as the P4 line prints it: backends busy on average (samples with a
// backend in a state ÷ samples), then, of those on CPU and those waiting for the WAL, the
// largest statements' shares.
func (t pgTally) String() string {
	avg := func(n int) string { return fmt.Sprintf("%.2f", float64(n)/float64(t.samples)) }
	busy := 0
	for _, n := range t.byWait {
		busy += n
	}
	out := fmt.Sprintf("PostgreSQL's busy backends (pg_stat_activity every %v, %d samples): %s on average, of them %s on CPU, "+
		"%s waiting for the WAL (commits), %s waiting for anything else", pgSampleEvery, t.samples, avg(busy),
		avg(t.byWait[pgOnCPU]), avg(t.byWait[pgOnWAL]), avg(t.byWait[pgOnOther]))
	for _, w := range []struct{ class, what string }{{pgOnCPU, "on CPU"}, {pgOnWAL, "waiting for the WAL"}} {
		if top := topShares(t.byStmt[w.class], 6); top != "" {
			out += "; " + w.what + ": " + top
		}
	}
	return out
}

// topShares is the n largest values of m as "<key> <share of the sum>%", largest first (ties
// by key).
func topShares[V int | time.Duration](m map[string]V, n int) string {
	var total V
	for _, v := range m {
		total += v
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(m[k])/float64(total)))
	}
	return strings.Join(parts, ", ")
}

// The wait classes of a sampled backend.
const (
	pgOnCPU   = "cpu"
	pgOnWAL   = "wal"
	pgOnOther = "other"
)

// pgWaitClass classes pg_stat_activity's wait_event_type and wait_event: none is on CPU;
// the WAL's locks and I/O are the commits' (and the statements' WAL records'); the rest
// (row locks, data file I/O, the client) is other.
func pgWaitClass(waitType, wait string) string {
	switch {
	case waitType == "":
		return pgOnCPU
	case (waitType == "LWLock" || waitType == "IO") && strings.HasPrefix(wait, "WAL"):
		return pgOnWAL
	default:
		return pgOnOther
	}
}

var (
	sqlcName  = regexp.MustCompile(`^\s*-- name: (\w+)`)
	stmtTable = regexp.MustCompile(`(?is)^\s*(?:with\b.*?\)\s*)?(insert\s+into|update|delete\s+from|select\b.*?\bfrom)\s+(\w+)`)
)

// pgStatement names a statement for the tally: a sqlc query by its name, another by its verb
// and first table ("INSERT executions_visibility", "SELECT transfer_tasks"), else by its
// first word ("COMMIT").
func pgStatement(query string) string {
	if m := sqlcName.FindStringSubmatch(query); m != nil {
		return m[1]
	}
	if m := stmtTable.FindStringSubmatch(query); m != nil {
		return strings.ToUpper(strings.Fields(m[1])[0]) + " " + m[2]
	}
	if words := strings.Fields(query); len(words) > 0 {
		return strings.ToUpper(words[0])
	}
	return "(none)"
}
