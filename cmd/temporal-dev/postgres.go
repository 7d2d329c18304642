package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	schematool "go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Schemas of the server module (go.temporal.io/server/schema, embedded), applied as
// temporal-sql-tool does: setup-schema -v 0.0, then update-schema to the newest version.
const (
	postgresDefaultSchema    = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
	// postgresHistoryShards is fixed when the database is first used; the server keeps the
	// persisted count afterwards.
	postgresHistoryShards = 4
)

// stores is the persistence a server runs on.
type stores struct {
	name       string // "sqlite" or "postgres", for the banner
	def, vis   *config.SQL
	shardCount int32
}

// postgresStores is PostgreSQL persistence for the DSN's database (the default store) and
// "<database>_visibility" (SQL visibility): both databases are created when missing and
// their schema set up or updated, so a second start on the same databases only checks the
// schema versions.
func postgresStores(dsn string, logger log.Logger) (*stores, error) {
	def, err := postgresSQL(dsn)
	if err != nil {
		return nil, err
	}
	vis := *def
	vis.DatabaseName = def.DatabaseName + "_visibility"
	vis.MaxConns, vis.MaxIdleConns = 4, 2
	for _, s := range []struct {
		cfg    *config.SQL
		schema string
	}{{def, postgresDefaultSchema}, {&vis, postgresVisibilitySchema}} {
		if err := ensurePostgresSchema(s.cfg, s.schema, logger); err != nil {
			return nil, fmt.Errorf("database %s: %w", s.cfg.DatabaseName, err)
		}
	}
	return &stores{name: "postgres", def: def, vis: &vis, shardCount: postgresHistoryShards}, nil
}

// postgresSQL maps a postgres:// URL onto the server's SQL settings (pgx driver); query
// parameters such as sslmode become connect attributes.
func postgresSQL(dsn string) (*config.SQL, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("-postgres: want postgres://user[:password]@host[:port]/database[?sslmode=...]")
	}
	host := u.Host
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	cfg := &config.SQL{
		PluginName: postgresql.PluginNamePGX, ConnectProtocol: "tcp", ConnectAddr: host,
		User: u.User.Username(), DatabaseName: strings.TrimPrefix(u.Path, "/"),
		ConnectAttributes: map[string]string{},
		// Every service in this process (frontend, history, matching, worker) has its own pool.
		MaxConns: 8, MaxIdleConns: 4, MaxConnLifetime: time.Hour,
	}
	cfg.Password, _ = u.User.Password()
	for k, v := range u.Query() {
		cfg.ConnectAttributes[k] = v[0]
	}
	if cfg.DatabaseName == "" {
		return nil, errors.New("-postgres: the URL names no database")
	}
	return cfg, nil
}

// ensurePostgresSchema creates the database if missing and brings its schema to the newest
// version the server module carries.
func ensurePostgresSchema(cfg *config.SQL, schemaName string, logger log.Logger) error {
	admin := *cfg
	if err := sqltool.DoCreateDatabase(&admin, "postgres", logger); err != nil { // a no-op when it exists
		return fmt.Errorf("create database: %w", err)
	}
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	// Version tables and version 0.0; skipped when the schema is already newer.
	if err := schematool.NewSetupSchemaTask(conn, &schematool.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("setup schema: %w", err)
	}
	if err := schematool.NewUpdateSchemaTask(conn, &schematool.UpdateConfig{
		DBName: cfg.DatabaseName, SchemaName: schemaName,
	}, logger).Run(); err != nil {
		return fmt.Errorf("update schema: %w", err)
	}
	return nil
}
