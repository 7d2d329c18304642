package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations returns the embedded goose migration files, rooted at their
// directory (names like 00001_init.sql).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "migrations" is a constant.
		panic(err)
	}
	return sub
}

// Migration lock: goose polls pg_try_advisory_lock once a second, for up to
// ten minutes, which is enough for any migration we expect to ship and keeps
// a waiting replica (or test) from sleeping goose's default 5 s per try.
const (
	migrateLockPeriodSeconds   = 1
	migrateLockFailureAttempts = 600
)

// Migrate applies all pending embedded migrations to the database at dsn.
// Concurrent callers (replicas starting together, parallel test binaries) are
// serialised by a PostgreSQL session advisory lock, so each migration runs once.
func Migrate(ctx context.Context, dsn string) error {
	connCfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("db: migrate: parse dsn: %w", err)
	}
	sqlDB := stdlib.OpenDB(*connCfg)
	defer sqlDB.Close()

	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockTimeout(migrateLockPeriodSeconds, migrateLockFailureAttempts),
		lock.WithUnlockTimeout(migrateLockPeriodSeconds, 60),
	)
	if err != nil {
		return fmt.Errorf("db: migrate: locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, Migrations(),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("db: migrate: provider: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "db: applied migration",
			"version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// EnsureDatabase creates the database named in dsn if it does not exist,
// connecting to the same server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("db: ensure database: parse dsn: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("db: ensure database: dsn names no database")
	}
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("db: ensure database: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	if err := conn.QueryRow(ctx,
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name,
	).Scan(&exists); err != nil {
		return fmt.Errorf("db: ensure database: look up %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == duplicateDatabase {
		// Another process created it between our check and our CREATE.
		return nil
	}
	if err != nil {
		return fmt.Errorf("db: ensure database: create %q: %w", name, err)
	}
	slog.InfoContext(ctx, "db: created database", "database", name)
	return nil
}

// duplicateDatabase is SQLSTATE 42P04.
const duplicateDatabase = "42P04"
