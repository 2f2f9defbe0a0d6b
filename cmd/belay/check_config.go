package main

import (
	"errors"
	"fmt"

	"github.com/belay-proxy/belay/config"
)

type checkConfigCmd struct {
	File string `arg:"" type:"path" help:"Configuration file to check."`
}

func (c *checkConfigCmd) Run(e *env) error {
	if _, err := config.Load(c.File); err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			return &exitError{code: 1, err: err}
		}
		return &exitError{code: 1, err: fmt.Errorf("%s: %w", c.File, err)}
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}
