package rules

import (
	"strconv"
	"testing"
)

const benchSQL = "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = 'a@example.com' AND o.created_at > now() - interval '7 days' ORDER BY o.created_at DESC LIMIT 20"

func BenchmarkClassifyCacheHit(b *testing.B) {
	c := NewClassifier(Options{})
	q := []byte(benchSQL)
	c.Classify(q)
	b.ReportAllocs()
	for b.Loop() {
		if c.Classify(q).Err != nil {
			b.Fatal("parse error")
		}
	}
}

func BenchmarkClassifyCacheHitParallel(b *testing.B) {
	c := NewClassifier(Options{})
	q := []byte(benchSQL)
	c.Classify(q)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Classify(q)
		}
	})
}

// BenchmarkClassifyMiss parses a text never seen before on every iteration
// (and pays for caching it, evicting as the cache fills).
func BenchmarkClassifyMiss(b *testing.B) {
	c := NewClassifier(Options{})
	q := make([]byte, 0, len(benchSQL)+32)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q = strconv.AppendInt(append(q[:0], benchSQL+" OFFSET "...), int64(i), 10)
		if c.Classify(q).Err != nil {
			b.Fatal("parse error")
		}
	}
}

// BenchmarkInspectMiss is the guard's cold path: a statement shape never
// seen before, parsed, analysed by every rule and cached.
func BenchmarkInspectMiss(b *testing.B) {
	c := NewClassifier(Options{})
	var sc Scratch
	q := make([]byte, 0, len(benchSQL)+32)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// A new column alias is a new shape (a new OFFSET literal is not).
		q = strconv.AppendInt(append(q[:0], "SELECT 1 AS c"...), int64(i), 10)
		q = append(append(q, ","...), benchSQL[len("SELECT"):]...)
		if c.Inspect(q, &sc).Err != nil {
			b.Fatal("parse error")
		}
	}
}
