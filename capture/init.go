package capture

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the schema belay keeps its records in; the guard's
// protected-schema rule keeps clients from writing it.
const Schema = "belay"

// versionTable is goose's record of the applied migrations, kept inside
// belay's schema so that `belay init` leaves nothing elsewhere.
const versionTable = Schema + ".schema_version"

// Result says what Init did.
type Result struct {
	From, To int64 // schema versions before and after
}

// Init creates or migrates the belay schema to the newest version. It is
// idempotent, and safe to run from several places at once (an advisory
// lock serialises the runs). The connection needs the right to create
// schemas in the database and, the first time, to create the belay_owner
// role (CREATEROLE), e.g. a superuser or the database owner with CREATEROLE.
func Init(ctx context.Context, db *sql.DB) (Result, error) {
	// goose keeps its version table in the schema, so the schema comes first.
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+Schema); err != nil {
		return Result{}, fmt.Errorf("create schema %s: %w", Schema, err)
	}
	p, err := provider(db)
	if err != nil {
		return Result{}, err
	}
	from, err := p.GetDBVersion(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("read schema version: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return Result{}, fmt.Errorf("migrate schema %s: %w", Schema, err)
	}
	to, err := p.GetDBVersion(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("read schema version: %w", err)
	}
	return Result{From: from, To: to}, nil
}

func provider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("embedded migrations: %w", err)
	}
	// Another `belay init` holding the lock is waited for, a second at a
	// time, for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}
