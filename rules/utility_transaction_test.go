package rules

import "testing"

func TestEndsTransaction(t *testing.T) {
	cases := []struct {
		sql  string
		want bool
	}{
		{"COMMIT", true},
		{"commit work", true},
		{"CoMmIt TRANSACTION", true},
		{"END", true},
		{"end transaction", true},
		{"/* x */ COMMIT -- y", true},
		{"COMMIT AND CHAIN", true},
		{"COMMIT AND NO CHAIN", true},
		{"PREPARE TRANSACTION 'tx1'", true},
		{"COMMIT PREPARED 'tx1'", true},

		{"ROLLBACK", false},
		{"ABORT", false},
		{"ROLLBACK AND CHAIN", false},
		{"ROLLBACK TO SAVEPOINT s", false},
		{"ROLLBACK TO s", false},
		{"ROLLBACK PREPARED 'tx1'", false},
		{"BEGIN", false},
		{"START TRANSACTION", false},
		{"SAVEPOINT s", false},
		{"RELEASE SAVEPOINT s", false},
		{"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false},
		{"SET CONSTRAINTS ALL IMMEDIATE", false},
		// The words elsewhere are not the statement.
		{"SELECT 'COMMIT'", false},
		{"SELECT $$COMMIT$$", false},
		{`SELECT 1 AS "commit"`, false},
		{"-- COMMIT\nSELECT 1", false},
		{"UPDATE t SET note = 'commit' WHERE id = 1", false},
		{"WITH c AS (SELECT 'COMMIT' AS commit) SELECT commit FROM c", false},
		{"PREPARE p AS SELECT 'COMMIT'", false},
		{"EXECUTE p", false}, // PREPARE takes no COMMIT: p cannot be one
		// Code that commits is MayWrite, not EndsTransaction (PostgreSQL
		// refuses its COMMIT inside a transaction block).
		{"DO $$BEGIN COMMIT; END$$", false},
		{"CREATE PROCEDURE p() LANGUAGE sql AS $$COMMIT$$", false},
		{"CALL p()", false},
	}
	for _, tc := range cases {
		out := utAnalyze(t, tc.sql)
		if len(out) != 1 {
			t.Fatalf("%q: %d statements", tc.sql, len(out))
		}
		if out[0].EndsTransaction != tc.want {
			t.Errorf("%q: EndsTransaction = %v, want %v", tc.sql, out[0].EndsTransaction, tc.want)
		}
	}
}

// Each statement of a query string has its own facts: the holds find the
// COMMIT after a write in one request.
func TestEndsTransactionPerStatement(t *testing.T) {
	out := utAnalyze(t, "UPDATE t SET a = 1 WHERE id = 1; COMMIT; SELECT 1")
	got := []bool{out[0].EndsTransaction, out[1].EndsTransaction, out[2].EndsTransaction}
	if got[0] || !got[1] || got[2] {
		t.Fatalf("EndsTransaction per statement = %v, want [false true false]", got)
	}
}

// COMMIT and ROLLBACK differ in keywords, not literals, so they never
// share a shape: the cache must not hand one the other's facts, whatever
// order they come in and however the literals around them vary.
func TestEndsTransactionThroughShapeCache(t *testing.T) {
	c := NewClassifier(Options{})
	texts := []struct {
		sql  string
		want []bool
	}{
		{"COMMIT", []bool{true}},
		{"ROLLBACK", []bool{false}},
		{"COMMIT", []bool{true}},
		{"commit", []bool{true}},
		{"rollback", []bool{false}},
		{"END", []bool{true}},
		{"ABORT", []bool{false}},
		{"COMMIT PREPARED 'a'", []bool{true}},
		{"ROLLBACK PREPARED 'a'", []bool{false}},
		{"COMMIT PREPARED 'b'", []bool{true}},
		{"PREPARE TRANSACTION 'a'", []bool{true}},
		{"COMMIT AND CHAIN", []bool{true}},
		{"ROLLBACK AND CHAIN", []bool{false}},
		{"UPDATE t SET a = 1 WHERE id = 1; COMMIT", []bool{false, true}},
		{"UPDATE t SET a = 2 WHERE id = 2; ROLLBACK", []bool{false, false}},
		{"UPDATE t SET a = 3 WHERE id = 3; COMMIT", []bool{false, true}},
		{"SAVEPOINT s", []bool{false}},
		{"RELEASE SAVEPOINT s", []bool{false}},
		{"ROLLBACK TO SAVEPOINT s", []bool{false}},
	}
	for round := 0; round < 2; round++ { // the second round is all cache hits
		for _, tc := range texts {
			var sc Scratch
			in := c.Inspect([]byte(tc.sql), &sc)
			if in.Err != nil || len(in.Statements) != len(tc.want) {
				t.Fatalf("Inspect(%q) = %+v", tc.sql, in)
			}
			for i, s := range in.Statements {
				if s.Facts.EndsTransaction != tc.want[i] {
					t.Errorf("round %d, %q statement %d: EndsTransaction = %v, want %v", round, tc.sql, i, s.Facts.EndsTransaction, tc.want[i])
				}
			}
		}
	}
}
