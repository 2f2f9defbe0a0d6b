package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/belay-proxy/belay/capture"
)

// captureCmd turns capture of before-images on and off per table
// (docs/capture.md).
type captureCmd struct {
	Enable  captureEnableCmd  `cmd:"" help:"Put belay's capture triggers on tables: held writes to them keep their before-images. Needs belay init, and the tables' owner."`
	Disable captureDisableCmd `cmd:"" help:"Take belay's capture triggers off tables."`
}

type captureTables struct {
	dbFlags
	Tables []string `arg:"" name:"table" help:"Tables, as in SQL: schema.table, or a name the search_path finds."`
}

type captureEnableCmd struct{ captureTables }
type captureDisableCmd struct{ captureTables }

func (c *captureEnableCmd) Run(e *env) error  { return c.apply(e, capture.Enable, "enabled") }
func (c *captureDisableCmd) Run(e *env) error { return c.apply(e, capture.Disable, "disabled") }

func (c *captureTables) apply(e *env, change func(context.Context, *sql.DB, []string) ([]string, error), verb string) error {
	cfg, err := c.config()
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(time.Minute)
	defer cancel()
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	tables, err := change(ctx, db, c.Tables)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("belay capture: %w", err)}
	}
	fmt.Fprintf(e.stdout, "capture %s on %s\n", verb, strings.Join(tables, ", "))
	return nil
}
