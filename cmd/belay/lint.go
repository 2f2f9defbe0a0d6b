package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/configs"
	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

type lintCmd struct {
	Config  string   `short:"c" type:"path" placeholder:"FILE" help:"Configuration file whose policy to apply (default: the built-in guarded policy, configs/belay.yaml)."`
	Profile string   `short:"p" placeholder:"NAME" help:"Profile to decide with (default: the profile a psql session gets, 'interactive' in the built-in policy)."`
	Format  string   `enum:"text,json" default:"text" help:"Output: text (file:line:col: rule: message (action)) or json (one object per line). One of: ${enum}."`
	Files   []string `arg:"" name:"file" help:"SQL files to check; - reads standard input."`
}

func (c *lintCmd) Help() string {
	return `Each file is parsed whole with PostgreSQL's parser, as belay parses a query string, and every rule that fires is decided with the profile. One line is printed per finding the profile blocks or audits; allowed findings are not printed. Positions are the start of the statement (line and character column, from 1); a syntax error is reported at its own position as rule unparsable. psql meta-commands (\set, \i) are not SQL and do not parse.

Exit status: 0 when nothing would be blocked, 1 when something would be, 2 on a usage error, an invalid --config, an unknown --profile or a file that cannot be read.

Examples:

    belay lint migrations/*.sql
    git diff --name-only -- '*.sql' | xargs belay lint --profile applications
    echo 'DELETE FROM orders;' | belay lint --format json -`
}

// lintResult is one reported finding, as printed.
type lintResult struct {
	File          string `json:"file"`
	Line          int    `json:"line"`
	Col           int    `json:"col"`
	Rule          string `json:"rule"`
	Action        string `json:"action"`
	Message       string `json:"message"`
	StatementKind string `json:"statement_kind"`
}

// errQuiet ends a run with an exit code and nothing more to say.
var errQuiet = errors.New("")

func (c *lintCmd) Run(e *env) error {
	pr, err := c.profile()
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false) // messages quote SQL: keep < and & readable
	blocked, failed := false, false
	for _, name := range c.Files {
		text, display, err := readSQL(name, e.stdin)
		if err != nil {
			fmt.Fprintf(e.stderr, "belay lint: %v\n", err)
			failed = true
			continue
		}
		for _, r := range lintText(display, text, pr) {
			blocked = blocked || r.Action == policy.Block.String()
			if c.Format == "json" {
				if err := enc.Encode(r); err != nil {
					return &exitError{code: 2, err: err}
				}
				continue
			}
			fmt.Fprintf(e.stdout, "%s:%d:%d: %s: %s (%s)\n", r.File, r.Line, r.Col, r.Rule, r.Message, r.Action)
		}
	}
	switch {
	case failed: // the output is incomplete: not a verdict
		return &exitError{code: 2, err: errQuiet}
	case blocked:
		return &exitError{code: 1, err: errQuiet}
	}
	return nil
}

// profile loads the policy (--config, else the built-in guarded one) and
// picks the profile: --profile by name, else the one psql gets.
func (c *lintCmd) profile() (*policy.Profile, error) {
	var cfg *config.Config
	var err error
	if c.Config != "" {
		cfg, err = config.Load(c.Config)
	} else {
		cfg, err = config.Parse(bytes.NewReader(configs.Guarded), "built-in configs/belay.yaml")
	}
	if err != nil {
		return nil, err
	}
	pol := cfg.Policy()
	if c.Profile == "" {
		return pol.Match(policy.Session{ApplicationName: "psql"}), nil
	}
	if pr := pol.Profile(c.Profile); pr != nil {
		return pr, nil
	}
	var names []string
	for _, pr := range pol.Profiles() {
		names = append(names, pr.Name)
	}
	from := "the built-in policy"
	if c.Config != "" {
		from = c.Config
	}
	return nil, fmt.Errorf("belay lint: unknown profile %q: %s has %s", c.Profile, from, strings.Join(names, ", "))
}

// readSQL reads a file, or standard input for "-", and the name to print.
func readSQL(name string, stdin io.Reader) (text, display string, err error) {
	var data []byte
	if name == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	return string(data), name, err
}

// lintText analyzes one file and returns the findings pr blocks or audits.
func lintText(file, text string, pr *policy.Profile) []lintResult {
	var out []lintResult
	report := func(offset int, rule rules.RuleID, msg string, kind rules.Kind) {
		a := pr.Action(rule)
		if a != policy.Audit && a != policy.Block {
			return
		}
		line, col := lineCol(text, offset)
		out = append(out, lintResult{File: file, Line: line, Col: col, Rule: string(rule), Action: a.String(), Message: msg, StatementKind: kind.String()})
	}
	// Deeply nested text can overflow libpg_query's C stack: measure first,
	// as the relay does. (Text the lexer cannot follow is inside an
	// unterminated quote or comment from that point on: it nests no deeper.)
	var sc rules.Scratch
	if sh, ok := rules.MakeShape([]byte(text), &sc); ok && sh.TooDeep {
		report(0, rules.RuleTooComplex, fmt.Sprintf("the text nests deeper than belay inspects (more than %d levels)", rules.MaxNestingBound), rules.KindUnknown)
		return out
	}
	stmts, perr := rules.Analyze(text)
	if perr != nil {
		report(charOffset(text, perr.Position), rules.RuleUnparsable, perr.Message, rules.KindUnknown)
		return out
	}
	for _, s := range stmts {
		start := skipSpaceAndComments(text, s.Offset)
		for _, f := range s.Findings {
			msg := f.Detail
			if msg == "" {
				msg = f.Target
			}
			report(start, f.Rule, msg, s.Kind)
		}
	}
	return out
}
