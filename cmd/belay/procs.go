package main

import (
	"os"
	"runtime"
)

// setMaxProcs applies limits.max_procs (see config.Limits) unless the
// GOMAXPROCS environment variable is set, and returns the value in force.
func setMaxProcs(configured int) int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := configured
	if n == 0 {
		n = max(1, runtime.NumCPU()/2)
	}
	runtime.GOMAXPROCS(n)
	return n
}
