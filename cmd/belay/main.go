// Command belay is a PostgreSQL wire-protocol guard proxy. See the README.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
