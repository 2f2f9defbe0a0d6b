package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/belay-proxy/belay/policy"
	"github.com/belay-proxy/belay/rules"
)

// planHold fills in what a holding profile asks of the relay for a
// statement string the policy allows: whether it may write, the rows it
// is expected to change, and SET belay.expect_rows. A refusal comes back
// for what a hold cannot allow: a write and its COMMIT in one request (the
// write would be durable before belay could count it), and an unreadable
// expectation.
func planHold(plan *HoldPlan, decided []decidedStatement, st *Statement) *Refusal {
	if r := planQuarantine(plan, decided, st); r != nil {
		return r
	}
	text := st.Text
	endsTx, onlyTx := false, len(decided) > 0
	for _, d := range decided {
		f := d.facts
		if f.Prepared != nil && f.Prepared.Op == rules.PrepareOp {
			continue // PREPARE runs nothing; its EXECUTE is held
		}
		plan.Watch = plan.Watch || f.Kind == rules.KindWrite || f.MayWrite
		endsTx = endsTx || f.EndsTransaction
		onlyTx = onlyTx && f.Kind == rules.KindTransaction
	}
	plan.Rollback = onlyTx && !endsTx
	plan.EndsTransaction = endsTx
	plan.Estimate = len(decided) == 1 && decided[0].facts.Estimable && decided[0].facts.Prepared == nil
	plan.Watch = plan.Watch || plan.Quarantine != nil
	if plan.Watch && endsTx {
		return commitInRequestRefusal()
	}
	sql := string(text)
	if plan.Watch {
		n, found, err := rules.ExpectedRows(sql)
		if err != nil {
			return badExpectRefusal(err)
		}
		if found {
			plan.Expect = n
		}
		return nil
	}
	if len(decided) == 1 && decided[0].facts.Kind == rules.KindUtility {
		n, reset, ok, err := rules.ParseExpectSetting(sql)
		switch {
		case !ok:
		case err != nil:
			return badExpectRefusal(err)
		case reset:
			plan.SetExpect, plan.ExpectRows = true, -1
		default:
			plan.SetExpect, plan.ExpectRows = true, n
		}
	}
	return nil
}

// limitGuard reads UPDATE/DELETE … LIMIT n, which PostgreSQL rejects, as
// "at most n rows": the statement without the LIMIT is classified and sent
// instead, and the hold rolls it back when it changes more.
func (g *Guard) limitGuard(st *Statement, in rules.Inspection, plan *HoldPlan) rules.Inspection {
	stripped, n, ok := rules.SplitLimitGuard(string(st.Text))
	if !ok {
		return in
	}
	text := []byte(stripped)
	without := g.Classifier.Inspect(text, st.Scratch)
	if without.Err != nil {
		return in
	}
	plan.Rewrite, plan.Limit = text, n
	return without
}

// commitInRequestRefusal refuses a write and its COMMIT in one request
// (one Query string, or one extended batch).
func commitInRequestRefusal() *Refusal {
	return &Refusal{
		SQLState: "25000",
		Message:  "hold: a write and its COMMIT in one request",
		Detail:   "This profile holds writes until an explicit COMMIT; sent together, the write would be applied before belay could count the rows it changed.",
		Hint:     "Send the write alone, read belay's NOTICE, then send COMMIT.",
	}
}

// fastPathHoldRefusal refuses a FunctionCall that would run outside a
// transaction block in a profile that holds writes: belay wraps a query in
// a transaction of its own, but a fast-path call is a message of its own
// that nothing can be put in front of within the same request, so it
// would write and commit unheld.
func fastPathHoldRefusal(oid uint32) *Refusal {
	return &Refusal{
		SQLState: "25P01", // no_active_sql_transaction
		Message:  "hold: a fast-path function call cannot be held",
		Detail:   fmt.Sprintf("This profile holds writes until an explicit COMMIT, and belay cannot open a transaction around a FunctionCall message (the protocol's fast path): function OID %d would run and commit on its own.", oid),
		Hint:     "Call the function in a query (SELECT lo_unlink(…)), which belay holds, or send the call inside BEGIN … COMMIT.",
	}
}

// captureSetting switches belay's capture triggers on for a session
// (docs/capture.md). Set at startup, it holds from the first statement in
// both protocols, and RESET ALL and DISCARD ALL return to it.
const captureSetting = "belay.capture"

// StartupParams implements StartupParamer: a session whose profile
// captures starts with capture on.
func (g *Guard) StartupParams(s *SessionInfo) map[string]string {
	if g.Classifier == nil || !s.profileFor(g.policy()).Capture {
		return nil
	}
	return map[string]string{captureSetting: "on"}
}

// normalizedText joins the statements' normalised texts (no literal
// values), for the record of a change.
// textHash is the SHA-256 of a request's exact text, in hex: the record
// of a change recognises the text without keeping it.
func textHash(text []byte) string {
	sum := sha256.Sum256(text)
	return hex.EncodeToString(sum[:])
}

func normalizedText(stmts []rules.StatementView) []byte {
	var b []byte
	for i := range stmts {
		if i > 0 {
			b = append(b, ";\n"...)
		}
		b = append(b, stmts[i].Normalized...)
	}
	return b
}

// planQuarantine turns a DROP TABLE whose drop-table action is quarantine
// into a move of the tables into belay_quarantine (docs/capture.md). Only
// a DROP TABLE sent alone in a simple Query, without CASCADE, is moved:
// CASCADE would drop what depends on the table, which undo cannot bring
// back.
func planQuarantine(plan *HoldPlan, decided []decidedStatement, st *Statement) *Refusal {
	quarantine := false
	for _, d := range decided {
		quarantine = quarantine || d.decision.Action == policy.Quarantine
	}
	if !quarantine {
		return nil
	}
	f := decided[0].facts
	refuse := func(why string) *Refusal {
		return &Refusal{
			SQLState: rules.SQLStateBlocked,
			Message:  "drop-table: " + why,
			Detail:   "This profile keeps dropped tables in belay_quarantine, so that belay undo can bring them back.",
			Hint:     "Send DROP TABLE alone, without CASCADE: drop what depends on the table first.",
		}
	}
	switch {
	case len(decided) != 1 || len(f.DropTables) == 0:
		return refuse("a DROP TABLE to keep in quarantine must be the only statement of its request")
	case st.Protocol != Simple:
		return refuse("a DROP TABLE to keep in quarantine must come as a simple query")
	case f.DropCascade:
		return refuse("DROP TABLE … CASCADE cannot be kept in quarantine")
	}
	plan.Quarantine, plan.QuarantineMissingOK = f.DropTables, f.DropMissingOK
	return nil
}
