package wameow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.mau.fi/whatsmeow/store/sqlstore"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/aiadmin/aiadmin/db"
)

// Session store pool: small, so whatsmeow cannot starve the application's own pool.
const (
	sessionMaxConns     = 4
	sessionMaxIdleConns = 2
	sessionConnIdleTime = 5 * time.Minute
	sessionConnLifetime = 30 * time.Minute
	sessionDBSuffix     = "_wa"
)

// Advisory lock keys, distinct from goose's and dbtest's. ensureLockID serialises creating the
// session database (taken in the application database); upgradeLockID serialises whatsmeow's
// schema upgrade (taken in the session database).
const (
	ensureLockID  int64 = 0x77616d65_6f77_6462 // "wameowdb"
	upgradeLockID int64 = 0x77616d65_6f77_7570 // "wameowup"
)

// SessionDSN returns the DSN of the session store for an application DSN: the same server and
// credentials, database name plus "_wa". A DSN whose database already ends in "_wa" is returned
// unchanged. Both URL and keyword/value DSNs are accepted.
func SessionDSN(dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("wameow: parse dsn: %w", err)
	}
	if cfg.Database == "" {
		return "", errors.New("wameow: dsn names no database")
	}
	if strings.HasSuffix(cfg.Database, sessionDBSuffix) {
		return dsn, nil
	}
	name := cfg.Database + sessionDBSuffix
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("wameow: parse dsn: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		return u.String(), nil
	}
	// In keyword/value form a later key overrides an earlier one.
	return dsn + " dbname='" + strings.ReplaceAll(name, "'", `\'`) + "'", nil
}

// sessionStore is whatsmeow's device container on its own pool. The pool is ours alone, so
// closing it (rather than the container, which would do the same) is safe.
type sessionStore struct {
	db        *sql.DB
	container *sqlstore.Container
}

// openSessionStore creates the session database if missing, opens a small pool on it and
// brings whatsmeow's schema up to date under an advisory lock.
func openSessionStore(ctx context.Context, dsn string, log waLog.Logger) (*sessionStore, error) {
	sdsn, err := SessionDSN(dsn)
	if err != nil {
		return nil, err
	}
	if sdsn != dsn {
		if err := ensureSessionDB(ctx, dsn, sdsn); err != nil {
			return nil, err
		}
	}
	cfg, err := pgx.ParseConfig(sdsn)
	if err != nil {
		return nil, fmt.Errorf("wameow: parse session dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(sessionMaxConns)
	sqlDB.SetMaxIdleConns(sessionMaxIdleConns)
	sqlDB.SetConnMaxIdleTime(sessionConnIdleTime)
	sqlDB.SetConnMaxLifetime(sessionConnLifetime)
	container := sqlstore.NewWithDB(sqlDB, "postgres", log)
	err = withAdvisoryLock(ctx, sqlDB, upgradeLockID, func() error { return container.Upgrade(ctx) })
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("wameow: upgrade session store %s: %w", cfg.Database, err)
	}
	return &sessionStore{db: sqlDB, container: container}, nil
}

// ensureSessionDB creates the session database under an advisory lock in the application
// database, so replicas starting together do not race on CREATE DATABASE.
func ensureSessionDB(ctx context.Context, appDSN, sessionDSN string) error {
	cfg, err := pgx.ParseConfig(appDSN)
	if err != nil {
		return fmt.Errorf("wameow: parse dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	appDB := stdlib.OpenDB(*cfg)
	defer appDB.Close()
	err = withAdvisoryLock(ctx, appDB, ensureLockID, func() error { return db.EnsureDatabase(ctx, sessionDSN) })
	if err != nil {
		return fmt.Errorf("wameow: create session database: %w", err)
	}
	return nil
}

// withAdvisoryLock runs fn while holding a session advisory lock on one connection of sqlDB.
func withAdvisoryLock(ctx context.Context, sqlDB *sql.DB, key int64, fn func() error) (retErr error) {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("advisory lock: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", key); err != nil && retErr == nil {
			retErr = fmt.Errorf("advisory unlock: %w", err)
		}
	}()
	return fn()
}

func (s *sessionStore) close() {
	_ = s.db.Close()
}
