package main

import (
	"os"
	"runtime"
)

// setMaxProcs applies limits.max_procs (see config.Limits) unless the
// GOMAXPROCS environment variable is set, and returns GOMAXPROCS. The relay
// gets max_procs event loops, and the Go scheduler one processor more for
// everything else (startup, TLS sessions, the admin port): a loop spends
// its idle time in epoll_wait, and with no spare processor the runtime
// would keep taking the loop's away and giving it back.
func setMaxProcs(configured int) int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := configured
	if n == 0 {
		n = max(1, runtime.NumCPU()/2)
	}
	runtime.GOMAXPROCS(n + 1)
	return n + 1
}
