package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/alecthomas/kong"

	"github.com/belay-proxy/belay/config"
)

// cli is belay's command line: one struct (and one file) per subcommand.
type cli struct {
	Serve       serveCmd       `cmd:"" help:"Run the proxy: relay clients to PostgreSQL, guarding every statement."`
	CheckConfig checkConfigCmd `cmd:"" name:"check-config" help:"Validate a configuration file; print ok or every error with its line."`
	Lint        lintCmd        `cmd:"" help:"Check SQL files against the policy, without a database: print what belay would block or audit."`
	Init        initCmd        `cmd:"" help:"Create or migrate belay's schema (its records of changes) in the upstream database. Idempotent."`
	Capture     captureCmd     `cmd:"" help:"Turn capture of before-images on or off for tables."`
	Changes     changesCmd     `cmd:"" help:"List the changes belay recorded, newest first."`
	Show        showCmd        `cmd:"" help:"Show the rows of a change, before and after, like a diff."`
	Undo        undoCmd        `cmd:"" help:"Put back the rows of a committed change, row by row; rows others changed since are conflicts."`
	Purge       purgeCmd       `cmd:"" help:"Drop what belay kept of changes older than the retention (before-images, quarantined tables); their records stay."`
	Version     versionCmd     `cmd:"" help:"Print belay's version."`
}

// exitError carries a process exit code (1: bad input, 2: usage).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// env is what subcommands read and write, so tests can supply and capture it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run parses args and runs the subcommand, returning the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var c cli
	exitCode := -1
	parser, err := kong.New(&c,
		kong.Name("belay"),
		kong.Description("belay is a transparent PostgreSQL proxy that guards production data: it parses every statement with PostgreSQL's own parser, blocks the dangerous ones, and audits the rest."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exitCode = code }),
		kong.Bind(&env{stdin: stdin, stdout: stdout, stderr: stderr}),
		kong.Vars{"default_listen": config.DefaultListen, "default_upstream": config.DefaultUpstream, "default_admin": config.DefaultAdminListen},
	)
	if err != nil {
		fmt.Fprintln(stderr, "belay:", err)
		return 2
	}
	ctx, err := parser.Parse(args)
	if exitCode >= 0 { // --help
		return exitCode
	}
	if err != nil { // a usage error: say what was wrong and where the help is
		fmt.Fprintln(stderr, "belay:", err)
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", commandPath(err))
		return 2
	}
	if err := ctx.Run(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil && ee.err.Error() != "" {
				fmt.Fprintln(stderr, ee.err)
			}
			return ee.code
		}
		fmt.Fprintln(stderr, "belay:", err)
		return 1
	}
	return 0
}

// commandPath is the command a usage error is about, "belay serve" say, or
// "belay" when no subcommand was recognised.
func commandPath(err error) string {
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		for n := pe.Context.Selected(); n != nil; n = n.Parent {
			if n.Type == kong.CommandNode {
				return n.FullPath()
			}
		}
	}
	return "belay"
}
