package proxy

import (
	"fmt"
	"strings"

	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// Guard is the Inspector that classifies every statement (rules), decides
// with the session's policy profile (policy), counts and audits it. A
// query string is decided as a whole: if one statement is blocked, none
// runs. A reload builds a new Guard; sessions pick it up at their next
// statement.
type Guard struct {
	Classifier *rules.Classifier // nil: no parsing (the benchmark's baseline)
	Policy     *policy.Policy    // nil: policy.AuditOnly()
	Audit      *audit.Logger
	Literals   bool // audit raw statement text, literals included
	Metrics    *Metrics
	PerUser    bool // also count blocks by user name (metrics.per_user)
}

// Inspect implements Inspector.
func (g *Guard) Inspect(s *SessionInfo, st *Statement) Verdict {
	profile := s.profileFor(g.policy())
	line := audit.Statement{
		Session:         s.ID,
		User:            s.User,
		Database:        s.Database,
		ApplicationName: s.ApplicationName,
		ClientAddr:      s.ClientAddr,
		Protocol:        st.Protocol.String(),
		StatementName:   st.Name,
		Decision:        "allow",
		Profile:         profile.Name,
	}
	if g.Literals {
		line.Raw = st.Text
	}
	if g.Classifier == nil {
		g.Metrics.countStatement(rules.KindUnknown, policy.Allow)
		g.record(s, &line, nil)
		return Verdict{Action: Allow}
	}
	if st.Protocol == FunctionCall {
		return g.inspectFunctionCall(s, st, profile, &line)
	}
	in := g.Classifier.Inspect(st.Text, st.Scratch)
	var plan HoldPlan
	if profile.Hold {
		plan = HoldPlan{Profile: profile, Expect: -1, Limit: -1}
		if in.Err != nil {
			in = g.limitGuard(st, in, &plan)
		}
	}
	if in.Err != nil {
		v := g.refuseUnreadable(s, profile, &line, in.Err)
		v.Hold = plan
		return v
	}

	// Decide every statement first: the string runs whole or not at all.
	worst := policy.Decision{Action: policy.Allow}
	var worstFacts *rules.Facts
	var worstFingerprint string
	// A string may PREPARE and EXECUTE the same name: resolve each EXECUTE
	// against what the statements before it prepared.
	var local map[string]*rules.Facts
	decided := s.guard.decidedBuf[:0]
	for i := range in.Statements {
		v := &in.Statements[i]
		facts := s.resolvePrepared(v.Facts, local)
		if p := v.Facts.Prepared; p != nil && p.Op == rules.PrepareOp {
			if local == nil {
				local = make(map[string]*rules.Facts)
			}
			local[p.Name] = v.Facts
		}
		d := profile.Decide(facts.Findings)
		decided = append(decided, decidedStatement{facts, d})
		if d.Action > worst.Action {
			worst, worstFacts, worstFingerprint = d, facts, v.Fingerprint
		}
	}
	s.guard.decidedBuf = decided
	decision := worst.Action
	lines := s.guard.linesBuf[:0]
	for i := range in.Statements {
		v := &in.Statements[i]
		facts, d := decided[i].facts, decided[i].decision
		if decision == policy.Block {
			d = worst // statements that would pass do not run either
		}
		g.Metrics.countStatement(facts.Kind, d.Action)
		line.Kind = facts.Kind.String()
		line.Fingerprint, line.Normalized = v.Fingerprint, v.Normalized
		line.Decision = d.Action.String()
		line.Rule, line.Detail = string(d.Finding.Rule), d.Finding.Detail
		lines = append(lines, line)
	}
	if decision != policy.Block && plan.Profile != nil {
		if profile.Capture {
			plan.Statements = normalizedText(in.Statements)
			plan.TextHash = textHash(st.Text)
		}
		if r := planHold(&plan, decided, st); r != nil {
			g.Metrics.countBlocked("hold", profile.Name, g.userLabel(s))
			for i := range lines {
				lines[i].Decision = "block"
				lines[i].Rule, lines[i].Detail = "hold", r.Message
				g.record(s, &lines[i], r)
			}
			s.guard.linesBuf = lines[:0]
			return Verdict{Action: Block, Refusal: r, Hold: plan}
		}
	}
	if decision != policy.Block {
		for i := range lines {
			g.record(s, &lines[i], nil)
		}
		for i := range in.Statements {
			s.notePrepared(in.Statements[i].Facts, st)
		}
		s.guard.linesBuf = lines[:0]
		return Verdict{Action: Allow, Hold: plan}
	}
	g.Metrics.countBlocked(worst.Finding.Rule, profile.Name, g.userLabel(s))
	r := refusal(worst.Finding, worstFacts, worstFingerprint, profile)
	for i := range lines {
		g.record(s, &lines[i], r)
	}
	s.guard.linesBuf = lines[:0]
	return Verdict{Action: Block, Refusal: r, Hold: plan}
}

// inspectFunctionCall decides a FunctionCall message. It carries no text
// to parse, only the OID of the function it calls, so it is one finding,
// function-call, which the profile decides like any other; its audit line
// is kind utility (like CALL), with the OID in the statement text and
// never the arguments. A profile that holds writes refuses a call that
// may run outside a transaction block: belay cannot open a transaction
// around it as it does around a query (planHold's refusals, for a message
// without text).
func (g *Guard) inspectFunctionCall(s *SessionInfo, st *Statement, profile *policy.Profile, line *audit.Statement) Verdict {
	f := rules.Finding{
		Rule:   rules.RuleFunctionCall,
		Target: fmt.Sprintf("function OID %d", st.Function),
		Detail: fmt.Sprintf("FunctionCall (the protocol's fast path) calls function OID %d; belay cannot see what the function does", st.Function),
	}
	d := profile.Decide([]rules.Finding{f})
	g.Metrics.countStatement(rules.KindUtility, d.Action)
	line.Kind = rules.KindUtility.String()
	line.Normalized, line.Raw = st.Text, nil
	line.Decision = d.Action.String()
	line.Rule, line.Detail = string(d.Finding.Rule), d.Finding.Detail
	var plan HoldPlan
	if profile.Hold {
		plan = HoldPlan{Profile: profile, Expect: -1, Limit: -1}
	}
	if d.Action == policy.Block {
		g.Metrics.countBlocked(f.Rule, profile.Name, g.userLabel(s))
		r := refusal(f, nil, "", profile)
		g.record(s, line, r)
		return Verdict{Action: Block, Refusal: r, Hold: plan}
	}
	if profile.Hold && st.OutsideTransaction {
		r := fastPathHoldRefusal(st.Function)
		g.Metrics.countBlocked("hold", profile.Name, g.userLabel(s))
		line.Decision = "block"
		line.Rule, line.Detail = "hold", r.Message
		g.record(s, line, r)
		return Verdict{Action: Block, Refusal: r, Hold: plan}
	}
	g.record(s, line, nil)
	return Verdict{Action: Allow, Hold: plan}
}

// record writes a blocked statement's audit line now, and hands an allowed
// one to the session's trail, which writes it with PostgreSQL's answer.
func (g *Guard) record(s *SessionInfo, line *audit.Statement, blocked *Refusal) {
	if blocked != nil {
		line.Status, line.SQLState, line.Rows = audit.StatusBlocked, blocked.SQLState, -1
		g.Audit.Log(line)
		return
	}
	if g.Audit.Enabled() {
		s.trail.stage(g.Audit, line)
	}
}

// userLabel is the user label value for blocked-statement metrics: none
// unless the configuration opts in.
func (g *Guard) userLabel(s *SessionInfo) string {
	if g.PerUser {
		return s.User
	}
	return ""
}

func (g *Guard) policy() *policy.Policy {
	if g.Policy == nil {
		return policy.AuditOnly()
	}
	return g.Policy
}

// refuseUnreadable decides on text the classifier could not read: in a
// guarded profile it is blocked (fail closed), in audit-only PostgreSQL
// gets it and answers for itself.
func (g *Guard) refuseUnreadable(s *SessionInfo, profile *policy.Profile, line *audit.Statement, perr *rules.ParseError) Verdict {
	f := rules.Finding{Rule: perr.Rule, Detail: perr.Message}
	if perr.Position > 0 {
		f.Detail = fmt.Sprintf("%s (at character %d)", perr.Message, perr.Position)
	}
	d := profile.Decide([]rules.Finding{f})
	g.Metrics.countStatement(rules.KindUnknown, d.Action)
	line.ParseError = perr.Message
	line.Decision = d.Action.String()
	line.Rule, line.Detail = string(f.Rule), f.Detail
	if d.Action != policy.Block {
		g.record(s, line, nil)
		return Verdict{Action: Allow}
	}
	g.Metrics.countBlocked(f.Rule, profile.Name, g.userLabel(s))
	r := refusal(f, nil, "", profile)
	g.record(s, line, r)
	return Verdict{Action: Block, Refusal: r}
}

// refusal is the error a client gets for a blocked statement: the rule id
// first, so a program can tell which rule fired, then what was seen and
// how to do it safely.
func refusal(f rules.Finding, facts *rules.Facts, fingerprint string, profile *policy.Profile) *Refusal {
	r := &Refusal{SQLState: rules.SQLStateBlocked, Message: string(f.Rule) + ": blocked"}
	if rule, ok := rules.Lookup(f.Rule); ok {
		r.SQLState, r.Hint = rule.SQLState, rule.Hint
		r.Message = string(f.Rule) + ": " + rule.Summary
	}
	r.Detail = f.Detail
	if r.Detail != "" && !strings.HasSuffix(r.Detail, ".") {
		r.Detail += "."
	}
	if fingerprint != "" {
		r.Detail += fmt.Sprintf(" Statement fingerprint %s.", fingerprint)
	}
	if facts != nil && len(facts.Tables) > 0 {
		r.Detail += " Tables: " + tableList(facts.Tables) + "."
	}
	r.Detail += fmt.Sprintf(" Policy profile %q.", profile.Name)
	return r
}

func tableList(ts []rules.TableUse) string {
	out := ""
	for i, t := range ts {
		if i > 0 {
			out += ", "
		}
		out += t.QualifiedName()
	}
	return out
}
