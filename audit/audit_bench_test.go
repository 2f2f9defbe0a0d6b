package audit

import (
	"path/filepath"
	"testing"
)

func BenchmarkLogParallel(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "audit.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	st := &Statement{Session: 1, User: "postgres", Database: "test", ApplicationName: "pgbench", ClientAddr: "127.0.0.1:5555",
		Protocol: "extended", Fingerprint: "0123456789abcdef", Normalized: []byte("SELECT abalance FROM pgbench_accounts WHERE aid = $1"), Decision: "allow"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Log(st)
		}
	})
}
