package rules

import (
	"strings"
	"testing"
)

func TestParseExpectSetting(t *testing.T) {
	cases := []struct {
		sql   string
		n     int64
		reset bool
	}{
		{"SET belay.expect_rows = 3", 3, false},
		{"SET belay.expect_rows TO 3", 3, false},
		{"set belay.expect_rows to 0", 0, false},
		{"SET SESSION belay.expect_rows = 3", 3, false},
		{"SET LOCAL belay.expect_rows = 3", 3, false},
		{"SET BELAY.EXPECT_ROWS = 3", 3, false},
		{`SET "belay"."expect_rows" = 3`, 3, false},
		{`SET "Belay"."Expect_Rows" = 3`, 3, false},
		{"SET belay.expect_rows = '3'", 3, false},
		{"SET belay.expect_rows = '007'", 7, false},
		{"SET belay.expect_rows = 3000000000", 3000000000, false},
		{"SET belay.expect_rows = '3000000000'", 3000000000, false},
		{"SET belay.expect_rows = 3;", 3, false},
		{"  /* hold */ SET belay.expect_rows = 3 ; -- done\n;", 3, false},
		{"SET belay.expect_rows = 3 -- belay.expect_rows = 4", 3, false},
		{"SET belay.expect_rows = DEFAULT", 0, true},
		{"SET belay.expect_rows TO DEFAULT", 0, true},
		{"SET LOCAL belay.expect_rows TO DEFAULT", 0, true},
		{"RESET belay.expect_rows", 0, true},
		{"reset Belay.Expect_Rows;", 0, true},
	}
	for _, tc := range cases {
		n, reset, ok, err := ParseExpectSetting(tc.sql)
		if !ok || err != nil || n != tc.n || reset != tc.reset {
			t.Errorf("ParseExpectSetting(%q) = %d, %v, %v, %v; want %d, %v, true, nil", tc.sql, n, reset, ok, err, tc.n, tc.reset)
		}
	}
}

// A statement about the setting with a value belay cannot use is ok (it is
// the setting's) with an error for the client.
func TestParseExpectSettingErrors(t *testing.T) {
	cases := []struct {
		sql     string
		message string
	}{
		{"SET belay.expect_rows = -1", "must not be negative"},
		{"SET belay.expect_rows = '-1'", "must not be negative"},
		{"SET belay.expect_rows = 2.5", `not "2.5"`},
		{"SET belay.expect_rows = -2.5", "non-negative integer"},
		{"SET belay.expect_rows = 1e3", "non-negative integer"},
		{"SET belay.expect_rows = 'three'", `not "three"`},
		{"SET belay.expect_rows = three", `not "three"`},
		{"SET belay.expect_rows = on", "non-negative integer"},
		{"SET belay.expect_rows = true", "non-negative integer"},
		{"SET belay.expect_rows = ''", "non-negative integer"},
		{"SET belay.expect_rows = ' 3'", "non-negative integer"},
		{"SET belay.expect_rows = '+3'", "non-negative integer"},
		{"SET belay.expect_rows = '3 rows'", "non-negative integer"},
		{"SET belay.expect_rows = 99999999999999999999", "too large"},
		{"SET belay.expect_rows = 1, 2", "one value"},
		{"SET belay.expect_rows FROM CURRENT", "takes a row count"},
	}
	for _, tc := range cases {
		n, reset, ok, err := ParseExpectSetting(tc.sql)
		if !ok || err == nil || !strings.Contains(err.Error(), tc.message) {
			t.Errorf("ParseExpectSetting(%q) = %d, %v, %v, %v; want ok with an error with %q", tc.sql, n, reset, ok, err, tc.message)
			continue
		}
		if n != 0 || reset {
			t.Errorf("ParseExpectSetting(%q) = %d, %v with an error; want 0, false", tc.sql, n, reset)
		}
	}
}

func TestParseExpectSettingNotOurs(t *testing.T) {
	for _, sql := range []string{
		// Other settings, other statements.
		"SET work_mem = '64MB'",
		"SET belay.expect = 3",
		"SET belay.expect_rows_x = 3",
		"SET expect_rows = 3",
		"SET other.expect_rows = 3",
		"RESET ALL",
		"SHOW belay.expect_rows",
		"SELECT current_setting('belay.expect_rows')",
		"SELECT set_config('belay.expect_rows', '3', false)",
		"ALTER ROLE r SET belay.expect_rows = 3",
		"ALTER SYSTEM SET belay.expect_rows = 3",
		"ALTER DATABASE d SET belay.expect_rows = 3",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql SET belay.expect_rows = 3 AS 'SELECT 1'",
		// The words in literals, comments, identifiers.
		"SELECT 'SET belay.expect_rows = 3'",
		"SELECT $$SET belay.expect_rows = 3$$",
		"UPDATE t SET note = 'x' WHERE id = 1 -- SET belay.expect_rows = 3",
		"/* RESET belay.expect_rows */ SELECT 1",
		"SET search_path = 'belay.expect_rows'",
		"SET application_name = 'expect_rows'",
		`SELECT 1 AS "belay.expect_rows"`,
		"DO $$BEGIN SET belay.expect_rows = 3; END$$",
		"PREPARE p AS SELECT 'belay.expect_rows'",
		// More than one statement.
		"SET belay.expect_rows = 3; UPDATE t SET a = 1 WHERE id = 1",
		"UPDATE t SET a = 1 WHERE id = 1; SET belay.expect_rows = 3",
		"SET belay.expect_rows = 3; SET belay.expect_rows = 3",
		"BEGIN; SET LOCAL belay.expect_rows = 3",
		// Does not parse.
		"SET belay.expect_rows =",
		"SET belay.expect_rows = 'open",
		"RESET belay.expect_rows, work_mem",
		"",
	} {
		if n, reset, ok, err := ParseExpectSetting(sql); ok || err != nil || n != 0 || reset {
			t.Errorf("ParseExpectSetting(%q) = %d, %v, %v, %v; want not ok", sql, n, reset, ok, err)
		}
	}
}

func TestParseExpectSettingCheapWithoutName(t *testing.T) {
	sql := strings.Repeat("SET work_mem = '64MB'; SET belay.expect = 3; -- expect rows\n", 50)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, ok, _ := ParseExpectSetting(sql); ok {
			t.Fatal("ok without the setting")
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseExpectSetting allocated %.0f times for text without expect_rows", allocs)
	}
}
