package rules

import "testing"

func TestEstimable(t *testing.T) {
	for sql, want := range map[string]bool{
		"UPDATE t SET a = 1 WHERE id = 2":                              true,
		"DELETE FROM t WHERE id = 2":                                   true,
		"WITH x AS (SELECT 1) UPDATE t SET a = 1 WHERE id = 2":         true,
		"delete from t where id in (select id from u) returning id":    true,
		"INSERT INTO t VALUES (1)":                                     false,
		"SELECT 1":                                                     false,
		"WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d": false,
		"MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE": false,
		"COPY t FROM STDIN":                                            false,
		"EXPLAIN UPDATE t SET a = 1":                                   false,
	} {
		out, err := Analyze(sql)
		if err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
		if out[0].Estimable != want {
			t.Errorf("%q: Estimable = %v, want %v", sql, out[0].Estimable, want)
		}
	}
}
