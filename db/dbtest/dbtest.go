// Package dbtest gives each test its own freshly migrated PostgreSQL database,
// cloned in milliseconds from a template that is built once per set of
// migrations and shared by every test binary on the machine.
//
//	func TestX(t *testing.T) {
//		store, dsn := dbtest.New(t)
//		...
//	}
//
// The server comes from DATABASE_URL (default DefaultURL); db/ensure-postgres.sh
// starts a local one.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aiadmin/aiadmin/db"
)

// DefaultURL is the server used when DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const (
	templatePrefix = "aiadmin_tmpl_"
	testPrefix     = "aiadmin_test_"
	// templateLockID serialises template builds across test binaries. It is
	// an arbitrary constant distinct from goose's migration lock ID.
	templateLockID int64 = 0x61696164_6d746d70 // "aiadmtmp"
	// staleAfter is how old a leftover test database (from a killed test
	// binary, whose cleanups never ran) must be before it is swept.
	staleAfter = 2 * time.Hour
	opTimeout  = 2 * time.Minute
	// undefinedDatabase is SQLSTATE 3D000.
	undefinedDatabase = "3D000"
)

var (
	setupOnce sync.Once
	setupErr  error
	adminPool *pgxpool.Pool // connected to the server's "postgres" database
	serverURL string        // DATABASE_URL or DefaultURL
	template  string        // name of the migrated template database
)

// New creates a migrated database for this test, opens a Store on it and
// returns the Store and the database's DSN. Both are closed and the database
// dropped when the test ends.
func New(t testing.TB) (*db.Store, string) {
	t.Helper()
	dsn := create(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("dbtest: open store: %v", err)
	}
	t.Cleanup(store.Close) // runs before the drop registered in create
	return store, dsn
}

// Empty creates an empty, unmigrated database for this test (for testing
// migrations themselves) and returns its DSN. It is dropped when the test ends.
func Empty(t testing.TB) string {
	t.Helper()
	return create(t, false)
}

func create(t testing.TB, migrated bool) string {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("dbtest: %v (is PostgreSQL running? try db/ensure-postgres.sh)", setupErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	name := testPrefix + strconv.FormatInt(time.Now().Unix(), 10) + "_" + randomHex(4)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if migrated {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := adminPool.Exec(ctx, stmt); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := dropDatabase(ctx, adminPool, name); err != nil {
			t.Logf("dbtest: drop database %s: %v", name, err)
		}
		dropTwins(ctx, t, name)
	})
	dsn, err := withDatabase(serverURL, name)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return dsn
}

// setup connects to the server and makes sure the template for the embedded
// migrations exists. It runs once per test binary.
func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	serverURL = os.Getenv("DATABASE_URL")
	if serverURL == "" {
		serverURL = DefaultURL
	}
	adminURL, err := withDatabase(serverURL, "postgres")
	if err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		return fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns = 4
	cfg.MaxConnIdleTime = 30 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	adminPool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	hash, err := migrationsHash()
	if err != nil {
		return err
	}
	template = templatePrefix + hash
	return ensureTemplate(ctx)
}

// ensureTemplate builds the template under a session advisory lock so that
// parallel test binaries build it once; the others wait and then reuse it.
func ensureTemplate(ctx context.Context) (retErr error) {
	conn, err := adminPool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockID); err != nil {
		return fmt.Errorf("template lock: %w", err)
	}
	defer func() {
		_, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLockID)
		if err != nil && retErr == nil {
			retErr = fmt.Errorf("template unlock: %w", err)
		}
	}()

	sweep(ctx, conn.Conn())

	var exists bool
	if err := conn.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template,
	).Scan(&exists); err != nil {
		return fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return nil
	}

	// Build under a scratch name and rename at the end, so a binary killed
	// mid-build never leaves a half-migrated template behind.
	building := template + "_build"
	if err := dropDatabase(ctx, adminPool, building); err != nil {
		return fmt.Errorf("drop leftover %s: %w", building, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return fmt.Errorf("create %s: %w", building, err)
	}
	buildURL, err := withDatabase(serverURL, building)
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, buildURL); err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	// ALLOW_CONNECTIONS false keeps stray sessions out: CREATE DATABASE ...
	// TEMPLATE fails while anyone is connected to the template.
	for _, stmt := range []string{
		"ALTER DATABASE " + pgx.Identifier{building}.Sanitize() + " RENAME TO " + pgx.Identifier{template}.Sanitize(),
		"ALTER DATABASE " + pgx.Identifier{template}.Sanitize() + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("publish template: %w", err)
		}
	}
	return nil
}

// keepTemplates is how many templates of other migration sets survive a sweep: test runs of
// other branches (worktrees) on the same server keep theirs while they run.
const keepTemplates = 8

// sweep drops the oldest templates for other migration sets beyond keepTemplates, leftover
// *_build databases and test databases left by killed test binaries. Failures are ignored: a
// database still in use by a running binary is simply not swept this time.
func sweep(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx,
		"SELECT datname FROM pg_database WHERE datname LIKE 'aiadmin\\_tmpl\\_%' OR datname LIKE 'aiadmin\\_test\\_%' ORDER BY oid DESC")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleAfter).Unix()
	others := 0
	for _, name := range names {
		stale := false
		if rest, ok := strings.CutPrefix(name, testPrefix); ok {
			created, _, _ := strings.Cut(rest, "_")
			sec, err := strconv.ParseInt(created, 10, 64)
			stale = err == nil && sec < cutoff
		} else if name != template {
			// Under the lock no build is in progress: a *_build database is a leftover, and of
			// the other templates (newest first) only the most recent few are kept.
			others++
			stale = strings.HasSuffix(name, "_build") || others > keepTemplates
		}
		if stale {
			_ = dropDatabase(ctx, adminPool, name)
		}
	}
}

// dropTwins drops the databases named after the test's own, "<name>_…": the WhatsApp session
// store makes "<name>_wa" beside the database it is given, and the process under test, not the
// test, creates it.
func dropTwins(ctx context.Context, t testing.TB, name string) {
	rows, err := adminPool.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", name+"_")
	var twins []string
	if err == nil {
		twins, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		t.Logf("dbtest: look for databases beside %s: %v", name, err)
		return
	}
	for _, twin := range twins {
		if err := dropDatabase(ctx, adminPool, twin); err != nil {
			t.Logf("dbtest: drop database %s: %v", twin, err)
		}
	}
}

func dropDatabase(ctx context.Context, pool *pgxpool.Pool, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	// A template cannot be dropped until it is marked as an ordinary database.
	_, err := pool.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE false")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == undefinedDatabase {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	return err
}

// migrationsHash names the template after the migrations' content, so a
// changed or added migration builds a new template instead of reusing a stale one.
func migrationsHash() (string, error) {
	fsys := db.Migrations()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	if len(names) == 0 {
		return "", errors.New("no embedded migrations")
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("read migration %s: %w", name, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// withDatabase returns dsn pointing at database name instead, for both URL
// and keyword/value DSNs.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse DATABASE_URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In keyword/value form a later key overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return hex.EncodeToString(b)
}

// ReserveUrgentSlots books the next n slots of the YClients budget (spaced spacing apart) one
// after the other, as urgent requests do, ahead of the owners' queue.
func ReserveUrgentSlots(t testing.TB, store *db.Store, spacing time.Duration, n int) {
	t.Helper()
	for range n {
		_, ok, err := store.ReserveYClientsSlot(context.Background(), spacing, time.Hour)
		if err != nil || !ok {
			t.Fatalf("reserve an urgent YClients slot: ok=%v err=%v", ok, err)
		}
	}
}
