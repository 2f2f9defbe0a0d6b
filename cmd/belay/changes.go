package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/belay-proxy/belay/capture"
)

type changesCmd struct {
	dbFlags
	User   string        `help:"Only changes by this user."`
	Table  string        `help:"Only changes to this table (schema.table; a bare name is in public)."`
	Since  time.Duration `help:"Only changes this recent (e.g. 24h)."`
	Limit  int           `default:"100" help:"At most this many, newest first."`
	Format string        `enum:"text,json" default:"text" help:"text or json (one object per line)."`
}

func (c *changesCmd) Run(e *env) error {
	ctx, conn, done, err := c.connect("belay changes", time.Minute)
	if err != nil {
		return err
	}
	defer done()
	f := capture.Filter{User: c.User, Table: c.Table, Limit: c.Limit}
	if c.Since > 0 {
		f.Since = time.Now().Add(-c.Since)
	}
	list, err := capture.Changes(ctx, conn, f)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("belay changes: %w", err)}
	}
	for _, ch := range list {
		if c.Format == "json" {
			b, _ := json.Marshal(ch)
			fmt.Fprintln(e.stdout, string(b))
			continue
		}
		status := ch.Status
		if ch.UndoneBy != nil {
			status = fmt.Sprintf("undone by %d", *ch.UndoneBy)
		}
		fmt.Fprintf(e.stdout, "%d  %s  %s@%s  %s  %s  %s\n", ch.ID, ch.At.Local().Format("2006-01-02 15:04:05"), ch.User, ch.Database,
			orDash(ch.ApplicationName), rowsSummary(ch.Rows), status)
	}
	return nil
}

type showCmd struct {
	dbFlags
	Change int64 `arg:"" help:"The change to show."`
	Limit  int   `default:"50" help:"At most this many rows per statement and table."`
}

func (c *showCmd) Run(e *env) error {
	ctx, conn, done, err := c.connect("belay show", time.Minute)
	if err != nil {
		return err
	}
	defer done()
	ch, rows, err := capture.Show(ctx, conn, c.Change, c.Limit)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("belay show: %w", err)}
	}
	fmt.Fprintf(e.stdout, "change %d  %s  %s@%s  %s  %s\n", ch.ID, ch.At.Local().Format("2006-01-02 15:04:05"), ch.User, ch.Database, orDash(ch.ApplicationName), ch.Status)
	for _, s := range strings.Split(ch.Statements, "\n") {
		fmt.Fprintf(e.stdout, "  %s\n", s)
	}
	printRows(e.stdout, rows)
	return nil
}

// printRows prints each row of a change like a diff: - before, + after.
func printRows(w io.Writer, rows []capture.RowDiff) {
	for _, r := range rows {
		since := ""
		if r.Since {
			since = "  (changed by someone else since: + is now)"
		}
		fmt.Fprintf(w, "%s %s %s%s\n", r.Table, r.Key, r.Op, since)
		for _, col := range r.Columns {
			if col.Old != "" {
				fmt.Fprintf(w, "  - %s: %s\n", col.Name, col.Old)
			}
			if col.New != "" {
				fmt.Fprintf(w, "  + %s: %s\n", col.Name, col.New)
			}
		}
	}
}

func rowsSummary(rows map[string]map[string]int) string {
	var parts []string
	for table, counts := range rows {
		var n int
		for _, c := range counts {
			n += c
		}
		parts = append(parts, fmt.Sprintf("%s: %d", table, n))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
