package proxy

import (
	"reflect"
	"testing"
)

// uncaptured compares what PostgreSQL counted per table with what the
// capture triggers copied: a partition tree is judged whole, under its
// root, since PostgreSQL counts the partitions and a statement through
// the root is captured by the root's triggers.
func TestUncaptured(t *testing.T) {
	leaf := func(name, root string, updated int64) tableCount {
		return tableCount{name: name, updated: updated, root: root}
	}
	for _, c := range []struct {
		name              string
		changed, captured []tableCount
		want              []shortfall
	}{
		{"captured", []tableCount{leaf("public.t", "", 3)}, []tableCount{leaf("public.t", "", 3)}, nil},
		{"not captured", []tableCount{leaf("public.t", "", 3)}, nil,
			[]shortfall{{tableCount{name: "public.t", updated: 3}, 0}}},
		{"part captured", []tableCount{leaf("public.t", "", 3), leaf("public.u", "", 1)}, []tableCount{leaf("public.t", "", 2), leaf("public.u", "", 1)},
			[]shortfall{{tableCount{name: "public.t", updated: 3}, 2}}},
		{"temporary table", []tableCount{leaf("pg_temp_3.scratch", "", 5)}, nil, nil},
		{"through the root", []tableCount{leaf("public.p_1", "public.p", 2), leaf("public.p_2", "public.p", 1)}, []tableCount{leaf("public.p", "", 3)}, nil},
		{"through the root and a partition", []tableCount{leaf("public.p_1", "public.p", 3), leaf("public.p_2", "public.p", 1)},
			[]tableCount{leaf("public.p", "", 2), leaf("public.p_1", "", 2)}, nil},
		{"a partition without capture", []tableCount{leaf("public.p_1", "public.p", 3)}, []tableCount{leaf("public.p", "", 2)},
			[]shortfall{{tableCount{name: "public.p", updated: 3}, 2}}},
	} {
		if got := uncaptured(c.changed, c.captured); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
