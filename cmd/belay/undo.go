package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sys/unix"

	"github.com/belay-proxy/belay/capture"
)

type undoCmd struct {
	dbFlags
	Change int64 `arg:"" help:"The change to undo: the number in belay's NOTICE (change 17)."`
	DryRun bool  `name:"dry-run" help:"Show what undo would do, and the conflicts; change nothing."`
	Yes    bool  `help:"Undo without asking (for scripts)."`
	Force  bool  `help:"Undo over conflicts: overwrite rows others changed since."`
}

func (c *undoCmd) Run(e *env) error {
	// An undo of many rows may take long: only Ctrl-C ends it.
	ctx, conn, done, err := c.connect("belay undo", 24*time.Hour)
	if err != nil {
		return err
	}
	defer done()
	opts := capture.UndoOptions{DryRun: c.DryRun, Force: c.Force}
	if !c.DryRun && !c.Yes {
		if !isTerminal(e.stdin) {
			return &exitError{code: 2, err: errors.New("belay undo: not on a terminal, nobody can confirm: add --yes to undo, or --dry-run to look")}
		}
		opts.Confirm = func(p capture.Plan) bool {
			printPlan(e.stdout, p)
			fmt.Fprintf(e.stdout, "Undo change %d? [y/N] ", p.Change)
			answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
			return strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes")
		}
	}
	plan, err := capture.Undo(ctx, conn, c.Change, opts)
	if !c.DryRun {
		c.record(ctx, e, conn, plan, err)
	}
	switch {
	case errors.Is(err, capture.ErrConflicts):
		printPlan(e.stdout, plan)
		return &exitError{code: 1, err: fmt.Errorf("belay undo: change %d: %w; --force overwrites them", c.Change, err)}
	case errors.Is(err, capture.ErrDeclined):
		return &exitError{code: 1, err: fmt.Errorf("belay undo: %w", err)}
	case err != nil:
		return &exitError{code: 1, err: fmt.Errorf("belay undo: %w", err)}
	}
	if c.DryRun {
		printPlan(e.stdout, plan)
		fmt.Fprintln(e.stdout, "dry run: nothing changed")
		return nil
	}
	if opts.Confirm == nil {
		printPlan(e.stdout, plan)
	}
	fmt.Fprintf(e.stdout, "change %d undone, recorded as change %d (undo that with: belay undo %d)\n", c.Change, plan.Undo, plan.Undo)
	return nil
}

// record adds the attempt's outcome to belay.undo_attempts. Failing to is
// said on stderr and changes nothing else: the undo's own result stands.
func (c *undoCmd) record(ctx context.Context, e *env, conn *pgx.Conn, plan capture.Plan, undoErr error) {
	// An undo Ctrl-C interrupted is recorded too, if the connection lives.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := capture.RecordUndoAttempt(ctx, conn, c.Change, plan, undoErr); err != nil {
		hint := ""
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42883" { // undefined_function: a schema before version 8
			hint = " (belay init adds belay.undo_attempts)"
		}
		fmt.Fprintf(e.stderr, "belay undo: warning: %v%s\n", err, hint)
	}
}

// printPlan shows what undo does per table, and each conflict.
func printPlan(w io.Writer, p capture.Plan) {
	for _, t := range p.Tables {
		fmt.Fprintf(w, "%s: %d set back, %d inserted again, %d deleted\n", t.Table, t.Restore, t.Reinsert, t.Remove)
	}
	for _, c := range p.Conflicts {
		fmt.Fprintf(w, "conflict: %s row %s: %s\n", c.Table, c.Key, c.Reason)
	}
}

// isTerminal reports whether r is a terminal someone can answer on (not
// merely a character device: /dev/null is one too).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
