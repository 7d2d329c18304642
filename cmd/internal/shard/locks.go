package shard

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// Advisory lock keys. A key is 64 bits: the high half is a hash of the scope (so deployments
// sharing a database do not collide), the low half holds the lock's kind in its top 4 bits,
// the shard count in the next 12 and the shard in the low 16. The shard count is part of
// every key so that workers configured with different counts cannot both believe they own a
// salon: a worker that sees members of another count acquires nothing (see Manager).
const (
	kindLayout = 1 // serialises the check-then-acquire step of every manager of a scope
	kindMember = 2 // held shared by every running manager: counts the workers
	kindShard  = 4 // held exclusively by a shard's owner

	// MaxShards is the largest shard count the keys can hold.
	MaxShards = 4095
)

func scopeHash(scope string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte("aiadmin-whatsapp-shards:" + scope))
	return int64(h.Sum32() & 0x7fffffff)
}

func lockKey(hi int64, kind, shards, shard int) int64 {
	return hi<<32 | int64(kind)<<28 | int64(shards)<<16 | int64(shard)
}

// Querier is what the lock queries need: *pgx.Conn, *pgxpool.Pool and pgx.Tx all fit.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pg_locks shows a bigint advisory key as classid (high half) and objid (low half), with
// objsubid 1.
const advisoryLocks = `FROM pg_locks l
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = $1`

// membersByCount returns how many managers of the scope run, per shard count.
func membersByCount(ctx context.Context, q Querier, hi int64) (map[int]int, error) {
	rows, err := q.Query(ctx, `SELECT ((l.objid::bigint >> 16) & 4095)::int, count(DISTINCT l.pid)::int `+
		advisoryLocks+` AND (l.objid::bigint >> 28) = $2 GROUP BY 1`, hi, kindMember)
	if err != nil {
		return nil, err
	}
	out := map[int]int{}
	for rows.Next() {
		var n, count int
		if err := rows.Scan(&n, &count); err != nil {
			rows.Close()
			return nil, err
		}
		out[n] = count
	}
	return out, rows.Err()
}

// ownShards returns the shards whose locks this connection holds.
func ownShards(ctx context.Context, q Querier, hi int64, shards int) (map[int]bool, error) {
	return shardSet(ctx, q, `SELECT (l.objid::bigint & 65535)::int `+advisoryLocks+
		` AND l.pid = pg_backend_pid() AND (l.objid::bigint >> 28) = $2 AND ((l.objid::bigint >> 16) & 4095) = $3`,
		hi, kindShard, shards)
}

// ownedShards returns the shards of this count whose locks any manager holds.
func ownedShards(ctx context.Context, q Querier, hi int64, shards int) (map[int]bool, error) {
	return shardSet(ctx, q, `SELECT (l.objid::bigint & 65535)::int `+advisoryLocks+
		` AND (l.objid::bigint >> 28) = $2 AND ((l.objid::bigint >> 16) & 4095) = $3`, hi, kindShard, shards)
}

// shardSet runs a query that lists shard numbers and returns them as a set.
func shardSet(ctx context.Context, q Querier, sql string, args ...any) (map[int]bool, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// lowestMember reports whether this connection's manager has the lowest backend pid among the
// running managers of this shard count (the one that raises the scope's alerts).
func lowestMember(ctx context.Context, q Querier, hi int64, shards int) (bool, error) {
	rows, err := q.Query(ctx, `SELECT coalesce(min(l.pid) = pg_backend_pid(), false) `+advisoryLocks+
		` AND (l.objid::bigint >> 28) = $2 AND ((l.objid::bigint >> 16) & 4095) = $3`, hi, kindMember, shards)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	lowest := false
	for rows.Next() {
		if err := rows.Scan(&lowest); err != nil {
			return false, err
		}
	}
	return lowest, rows.Err()
}

// Owners returns, for every shard of the scope that is owned, the application_name of the
// PostgreSQL session holding its lock ("aiadmin-shards <Options.Name>"): who owns what, for
// operators and tests.
func Owners(ctx context.Context, q Querier, scope string, shards int) (map[int]string, error) {
	rows, err := q.Query(ctx, `SELECT (l.objid::bigint & 65535)::int, coalesce(a.application_name, '') `+
		`FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = $1 AND (l.objid::bigint >> 28) = $2 AND ((l.objid::bigint >> 16) & 4095) = $3`,
		scopeHash(scope), kindShard, shards)
	if err != nil {
		return nil, fmt.Errorf("shard owners: %w", err)
	}
	out := map[int]string{}
	for rows.Next() {
		var k int
		var name string
		if err := rows.Scan(&k, &name); err != nil {
			rows.Close()
			return nil, err
		}
		if prev, dup := out[k]; dup {
			return nil, fmt.Errorf("shard %d held twice (%s, %s)", k, prev, name) // cannot happen: the lock is exclusive
		}
		out[k] = name
	}
	return out, rows.Err()
}

// tryLock takes a shard's lock if free; the lock is a session lock, so it outlives the
// transaction it was taken in and dies with the connection.
func tryLock(ctx context.Context, tx pgx.Tx, key int64) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok)
	return ok, err
}
