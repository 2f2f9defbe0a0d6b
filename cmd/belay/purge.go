package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/belay-proxy/belay/capture"
	"github.com/belay-proxy/belay/config"
)

type purgeCmd struct {
	dbFlags
	OlderThan string `name:"older-than" placeholder:"AGE" help:"Drop the before-images and quarantined tables of changes older than this: 30d, 12h, 90m (default: capture.retention of --config, else 30d)."`
	Config    string `short:"c" type:"path" placeholder:"FILE" help:"Configuration file: its capture.retention applies when --older-than is not given."`
}

func (c *purgeCmd) Run(e *env) error {
	age, from, err := c.retention()
	if err != nil {
		return err
	}
	ctx, conn, done, err := c.connect("belay purge", time.Hour)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(e.stdout, "retention %s, %s\n", config.FormatAge(age), from)
	p, err := capture.Purge(ctx, conn, age)
	var failed capture.DropFailures
	if err != nil && !errors.As(err, &failed) {
		return &exitError{code: 1, err: fmt.Errorf("belay purge: %w", err)}
	}
	gone := ""
	if p.Gone > 0 {
		gone = fmt.Sprintf(" (%d more gone already)", p.Gone)
	}
	fmt.Fprintf(e.stdout, "purged %d image tables (%d rows), dropped %d quarantined tables%s; %d changes older than %s can no longer be undone\n",
		p.Images, p.Rows, p.Tables, gone, p.Changes, config.FormatAge(age))
	if err != nil {
		return &exitError{code: 1, err: &purgeFailed{err: err, failed: failed}}
	}
	return nil
}

// retention is the age purge drops from, and where it came from: the
// flag wins over the file, the file over the default.
func (c *purgeCmd) retention() (time.Duration, string, error) {
	var cfg *config.Config
	if c.Config != "" {
		var err error
		if cfg, err = config.Load(c.Config); err != nil {
			return 0, "", &exitError{code: 1, err: err}
		}
	}
	switch {
	case c.OlderThan != "":
		age, err := config.ParseAge(c.OlderThan)
		if err != nil {
			return 0, "", &exitError{code: 2, err: fmt.Errorf("belay purge: --older-than: %w", err)}
		}
		return age, "from --older-than", nil
	case cfg != nil && cfg.InFile("capture.retention"):
		return time.Duration(cfg.Capture.Retention), "from capture.retention in " + c.Config, nil
	case cfg != nil:
		return config.DefaultRetention, "the default (" + c.Config + " sets no capture.retention)", nil
	}
	return config.DefaultRetention, "the default (no --older-than, no --config)", nil
}

// purgeFailed is purge's error when quarantined tables were not dropped:
// each on a line of its own, after any other error.
type purgeFailed struct {
	err    error // from capture.Purge, DropFailures among them
	failed capture.DropFailures
}

func (f *purgeFailed) Error() string {
	var b strings.Builder
	if j, ok := f.err.(interface{ Unwrap() []error }); ok { // errors.Join
		for _, e := range j.Unwrap() {
			if !errors.As(e, new(capture.DropFailures)) {
				fmt.Fprintf(&b, "belay purge: %v\n", e)
			}
		}
	}
	fmt.Fprintf(&b, "belay purge: %d quarantined tables not dropped (their changes are kept whole, and can still be undone):", len(f.failed))
	for _, d := range f.failed {
		fmt.Fprintf(&b, "\n  %s (belay_quarantine.%s): %v", d.Table, d.Quarantined, d.Err)
	}
	return b.String()
}

func (f *purgeFailed) Unwrap() error { return f.err }
