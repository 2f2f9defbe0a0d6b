package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/belay-proxy/belay/capture"
)

type purgeCmd struct {
	dbFlags
	OlderThan string `name:"older-than" default:"30d" help:"Drop the before-images of changes older than this: 30d, 12h, 90m."`
}

func (c *purgeCmd) Run(e *env) error {
	age, err := parseAge(c.OlderThan)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("belay purge: --older-than: %w", err)}
	}
	ctx, conn, done, err := c.connect("belay purge", time.Hour)
	if err != nil {
		return err
	}
	defer done()
	p, err := capture.Purge(ctx, conn, age)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("belay purge: %w", err)}
	}
	fmt.Fprintf(e.stdout, "purged %d image tables (%d rows); %d changes older than %s can no longer be undone\n", p.Images, p.Rows, p.Changes, c.OlderThan)
	return nil
}

// parseAge reads a duration that may also count days (30d), as people
// write retention.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (30d, 12h, 90m)", s)
	}
	return d, nil
}
