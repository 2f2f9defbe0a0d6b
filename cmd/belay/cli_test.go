package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type cliCase struct {
	name       string
	args       []string
	stdin      string
	code       int
	stdout     []string // substrings
	stderr     []string
	noStdout   bool
	stderrNone bool
}

// runCLI runs one case, failing if run does not return within 10s: no case
// may start a server.
func runCLI(t *testing.T, tc cliCase) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("run(%q) still running after 10s", tc.args)
	}
	if code != tc.code {
		t.Errorf("run(%q) = %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, &stdout, &stderr)
	}
	for _, w := range tc.stdout {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("run(%q): stdout does not contain %q:\n%s", tc.args, w, &stdout)
		}
	}
	for _, w := range tc.stderr {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("run(%q): stderr does not contain %q:\n%s", tc.args, w, &stderr)
		}
	}
	if tc.noStdout && stdout.Len() > 0 {
		t.Errorf("run(%q): unexpected stdout:\n%s", tc.args, &stdout)
	}
	if tc.stderrNone && stderr.Len() > 0 {
		t.Errorf("run(%q): unexpected stderr:\n%s", tc.args, &stderr)
	}
}

func TestCLI(t *testing.T) {
	unknownKey := writeFile(t, "unknown.yaml", "listen: 127.0.0.1:6432\nupstream:\n  adress: 127.0.0.1:5432\n")
	badValues := writeFile(t, "bad.yaml", "upstream:\n  sslmode: sometimes\nlog:\n  format: xml\n")
	badPolicy := writeFile(t, "policy.yaml", "policy:\n  default_profile: apps\n  profiles:\n    - name: apps\n      default_action: audit\n      rules:\n        no-wher: block\n        truncate: stop\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []cliCase{
		{name: "version", args: []string{"version"}, code: 0,
			stdout: []string{"belay ", "go1."}, stderrNone: true},
		{name: "help", args: []string{"--help"}, code: 0,
			stdout: []string{"Usage: belay <command>", "serve", "check-config", "lint", "version"}},
		{name: "serve help", args: []string{"serve", "--help"}, code: 0,
			stdout: []string{"--config=FILE", "--listen=ADDR", "default 127.0.0.1:6432",
				"--upstream=HOST:PORT", "default 127.0.0.1:5432", "--admin-listen=ADDR", "default 127.0.0.1:9632"}},
		{name: "serve help without config", args: []string{"serve", "-h"}, code: 0,
			stdout: []string{"--config=FILE"}, stderrNone: true},
		{name: "check-config help", args: []string{"check-config", "--help"}, code: 0,
			stdout: []string{"Usage: belay check-config <file>", "Configuration file to check"}},
		{name: "check-config ok", args: []string{"check-config", "../../configs/belay.yaml"}, code: 0,
			stdout: []string{"ok"}, stderrNone: true},
		{name: "check-config audit-only ok", args: []string{"check-config", "../../configs/audit-only.yaml"}, code: 0,
			stdout: []string{"ok"}, stderrNone: true},
		{name: "check-config unknown key", args: []string{"check-config", unknownKey}, code: 1, noStdout: true,
			stderr: []string{unknownKey + ": line 3, column 3: upstream.adress: unknown key"}},
		{name: "check-config every error", args: []string{"check-config", badValues}, code: 1, noStdout: true,
			stderr: []string{"line 2, column 3: upstream.sslmode:", "line 4, column 3: log.format:"}},
		{name: "check-config policy errors", args: []string{"check-config", badPolicy}, code: 1, noStdout: true,
			stderr: []string{badPolicy + `: line 7, column 9: policy.profiles[0].rules.no-wher: unknown rule "no-wher"; did you mean no-where?`,
				badPolicy + `: line 8, column 9: policy.profiles[0].rules.truncate: unknown action "stop"`}},
		{name: "check-config missing file", args: []string{"check-config", missing}, code: 1, noStdout: true,
			stderr: []string{missing, "no such file or directory"}},
		{name: "check-config without file", args: []string{"check-config"}, code: 2,
			stderr: []string{`expected "<file>"`, "belay check-config --help"}},
		{name: "serve without config", args: []string{"serve"}, code: 2, noStdout: true,
			stderr: []string{"missing flags: --config=FILE", "Run 'belay serve --help'"}},
		{name: "serve unknown flag", args: []string{"serve", "--config", "x.yaml", "--bogus"}, code: 2,
			stderr: []string{"unknown flag --bogus"}},
		{name: "no subcommand", args: nil, code: 2,
			stderr: []string{`expected one of "serve", "check-config", "lint"`, "Run 'belay --help'"}},
		{name: "unknown subcommand", args: []string{"start"}, code: 2, noStdout: true,
			stderr: []string{"unexpected argument start"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCLI(t, tc) })
	}
}

// TestServeInvalidExitsBeforeListening checks that serve rejects bad input
// with exit code 1 before it binds any port.
func TestServeInvalidExitsBeforeListening(t *testing.T) {
	listen, admin := freePort(t), freePort(t)
	addrs := "listen: " + listen + "\nadmin_listen: " + admin + "\n"
	bad := writeFile(t, "bad.yaml", addrs+"upstream:\n  sslmode: sometimes\n")
	good := writeFile(t, "good.yaml", addrs+"audit:\n  output: off\n")
	badAudit := writeFile(t, "audit.yaml", addrs+"audit:\n  output: "+filepath.Join(t.TempDir(), "no", "such", "dir", "audit.log")+"\n")
	tests := []cliCase{
		{name: "invalid file", args: []string{"serve", "--config", bad}, code: 1,
			stderr: []string{bad + ": line 4, column 3: upstream.sslmode"}},
		{name: "missing file", args: []string{"serve", "-c", bad + ".nope"}, code: 1,
			stderr: []string{"no such file or directory"}},
		{name: "bad upstream flag", args: []string{"serve", "--config", good, "--upstream", "db.internal"}, code: 1,
			stderr: []string{"--upstream: want host:port"}},
		{name: "bad listen flag", args: []string{"serve", "--config", good, "--listen", "6432"}, code: 1,
			stderr: []string{"--listen: want host:port"}},
		{name: "unwritable audit output", args: []string{"serve", "--config", badAudit}, code: 1,
			stderr: []string{"no such file or directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runCLI(t, tc)
			for _, addr := range []string{listen, admin} {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatalf("%s is taken after serve exited: %v", addr, err)
				}
				ln.Close()
			}
		})
	}
}
