package rules

import (
	"reflect"
	"sort"
	"testing"
)

// pgbench -i's statements (PostgreSQL 15, client-side data generation,
// with --foreign-keys) and the findings each must have: exactly these.
func TestUtilityPgbenchInit(t *testing.T) {
	cases := []struct {
		sql  string
		kind Kind
		want []RuleID
	}{
		{"drop table if exists pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers", KindDDL, []RuleID{RuleDropTable}},
		{"create table pgbench_history(tid int,bid int,aid    int,delta int,mtime timestamp,filler char(22))", KindDDL, nil},
		{"create table pgbench_tellers(tid int not null,bid int,tbalance int,filler char(84)) with (fillfactor=100)", KindDDL, nil},
		{"create table pgbench_accounts(aid    int not null,bid int,abalance int,filler char(84)) with (fillfactor=100)", KindDDL, nil},
		{"create table pgbench_branches(bid int not null,bbalance int,filler char(88)) with (fillfactor=100)", KindDDL, nil},
		{"begin", KindTransaction, nil},
		{"truncate table pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers", KindDDL, []RuleID{RuleTruncate}},
		{"insert into pgbench_branches(bid,bbalance) values(1,0)", KindWrite, nil},
		{"copy pgbench_accounts from stdin with (freeze on)", KindWrite, nil},
		{"commit", KindTransaction, nil},
		{"vacuum analyze pgbench_branches", KindUtility, nil},
		{"vacuum analyze pgbench_accounts", KindUtility, nil},
		{"alter table pgbench_branches add primary key (bid)", KindDDL, []RuleID{RuleTableRewrite}},
		{"alter table pgbench_accounts add primary key (aid)", KindDDL, []RuleID{RuleTableRewrite}},
		{"alter table pgbench_tellers add constraint pgbench_tellers_bid_fkey foreign key (bid) references pgbench_branches", KindDDL, []RuleID{RuleTableRewrite}},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			f := analyzeOne(t, c.sql)
			if f.Kind != c.kind {
				t.Fatalf("kind %s, want %s", f.Kind, c.kind)
			}
			seen := map[RuleID]bool{}
			var got []RuleID
			for _, x := range f.Findings {
				if !seen[x.Rule] {
					seen[x.Rule] = true
					got = append(got, x.Rule)
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("rules %v, want %v: %+v", got, c.want, f.Findings)
			}
		})
	}
	// One drop-table finding per table, so the audit line names each.
	if n := len(utFindings(t, "drop table if exists pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers", RuleDropTable)); n != 4 {
		t.Fatalf("drop-table findings: %d, want one per table", n)
	}
}
