package rules

import (
	"reflect"
	"testing"
)

func TestDropTablesFacts(t *testing.T) {
	for _, tc := range []struct {
		sql              string
		tables           []TableUse
		cascade, missing bool
	}{
		{"DROP TABLE t", []TableUse{{Name: "t", Access: AccessDDL}}, false, false},
		{`drop table if exists s.t, "Odd Name" cascade`, []TableUse{{Schema: "s", Name: "t", Access: AccessDDL}, {Name: "Odd Name", Access: AccessDDL}}, true, true},
		{"DROP VIEW v", nil, false, false},
		{"DROP INDEX i CASCADE", nil, false, false},
	} {
		out, err := Analyze(tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		f := out[0].Facts
		if !reflect.DeepEqual(f.DropTables, tc.tables) || f.DropCascade != tc.cascade || f.DropMissingOK != tc.missing {
			t.Errorf("%s: %+v cascade %v missing %v", tc.sql, f.DropTables, f.DropCascade, f.DropMissingOK)
		}
	}
}
