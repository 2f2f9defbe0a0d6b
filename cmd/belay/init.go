package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/belay-proxy/belay/capture"
)

// dbFlags is how the subcommands that work on belay's records connect:
// like psql, with a URL or libpq's PG* variables.
type dbFlags struct {
	DatabaseURL string `name:"database-url" env:"BELAY_DATABASE_URL" placeholder:"URL" help:"PostgreSQL URL or key=value string (default: libpq's PGHOST, PGPORT, PGDATABASE, PGUSER, … variables)."`
}

func (f dbFlags) config() (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(f.DatabaseURL)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("belay: --database-url: %w", err)}
	}
	return cfg, nil
}

// connect opens the subcommand's connection, in a command context; done
// closes both.
func (f dbFlags) connect(command string, timeout time.Duration) (context.Context, *pgx.Conn, func(), error) {
	cfg, err := f.config()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := commandContext(timeout)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		cancel()
		return nil, nil, nil, &exitError{code: 1, err: fmt.Errorf("%s: %w", command, err)}
	}
	return ctx, conn, func() { conn.Close(context.Background()); cancel() }, nil
}

// commandContext is a subcommand's context: Ctrl-C or SIGTERM cancel it,
// and it ends after timeout.
func commandContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	return ctx, func() { cancel(); stop() }
}

type initCmd struct {
	dbFlags
	Timeout time.Duration `default:"5m" help:"Give up after this long (a migration waits for the locks it needs)."`
}

func (c *initCmd) Run(e *env) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(c.Timeout)
	defer cancel()
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	r, err := capture.Init(ctx, db)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("belay init: database %s on %s: %w", cfg.Database, cfg.Host, err)}
	}
	if r.From == r.To {
		fmt.Fprintf(e.stdout, "belay schema in database %s is at version %d: nothing to do\n", cfg.Database, r.To)
		return nil
	}
	fmt.Fprintf(e.stdout, "belay schema in database %s migrated from version %d to %d\n", cfg.Database, r.From, r.To)
	return nil
}
