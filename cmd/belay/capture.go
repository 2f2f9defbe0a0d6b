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
	Tables  []string `arg:"" optional:"" name:"table" help:"Tables, as in SQL: schema.table, or a name the search_path finds."`
	Schemas []string `name:"schema" placeholder:"SCHEMA" help:"Every table in this schema (partitions included), as it is now; repeatable. Tables created later need their own belay capture enable."`
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
	if len(c.Tables) == 0 && len(c.Schemas) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("belay capture: name the tables, or --schema")}
	}
	ctx, cancel := commandContext(time.Minute)
	defer cancel()
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	names := c.Tables
	if len(c.Schemas) > 0 {
		inSchemas, err := schemaTables(ctx, db, c.Schemas)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("belay capture: %w", err)}
		}
		names = append(names, inSchemas...)
	}
	tables, err := change(ctx, db, names)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("belay capture: %w", err)}
	}
	fmt.Fprintf(e.stdout, "capture %s on %s\n", verb, strings.Join(tables, ", "))
	return nil
}

// schemaTables lists the tables of the schemas, quoted as SQL names. A
// schema without tables, or one of belay's own, is an error: the operator
// meant something else.
func schemaTables(ctx context.Context, db *sql.DB, schemas []string) ([]string, error) {
	var out []string
	for _, schema := range schemas {
		if schema == "belay" || schema == "belay_images" || schema == "belay_quarantine" {
			return nil, fmt.Errorf("schema %s is belay's own: its tables are not captured", schema)
		}
		rows, err := db.QueryContext(ctx, `
			SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`, schema)
		if err != nil {
			return nil, fmt.Errorf("tables of schema %s: %w", schema, err)
		}
		n := len(out)
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("tables of schema %s: %w", schema, err)
		}
		if len(out) == n {
			return nil, fmt.Errorf("schema %s has no tables (or does not exist)", schema)
		}
	}
	return out, nil
}
