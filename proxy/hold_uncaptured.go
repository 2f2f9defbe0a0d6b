package proxy

import (
	"slices"
	"strings"
)

// shortfall is a table whose changed rows the capture triggers did not
// all copy, with how many they did.
type shortfall struct {
	table    tableCount
	captured int64
}

// uncaptured returns the tables whose changed rows were not all captured.
// Temporary tables are left out: they end with the session, so there is
// nothing to undo, and no other session can protect them. PostgreSQL
// counts a partitioned table's rows in its partitions, while a statement
// through the root is captured by the root's triggers and one naming a
// partition by the partition's: a partition tree is judged whole, under
// its root's name.
func uncaptured(changed, captured []tableCount) []shortfall {
	rootOf := map[string]string{}
	var need []tableCount // per table, or per partition tree
	for _, t := range changed {
		if strings.HasPrefix(t.name, "pg_temp_") {
			continue
		}
		key := t.name
		if t.root != "" {
			key, rootOf[t.name] = t.root, t.root
		}
		i := slices.IndexFunc(need, func(n tableCount) bool { return n.name == key })
		if i < 0 {
			need = append(need, tableCount{name: key})
			i = len(need) - 1
		}
		need[i].inserted += t.inserted
		need[i].updated += t.updated
		need[i].deleted += t.deleted
	}
	covered := map[string]int64{}
	for _, c := range captured {
		key := c.name
		if root, ok := rootOf[c.name]; ok {
			key = root
		}
		covered[key] += c.rows()
	}
	var out []shortfall
	for _, n := range need {
		if covered[n.name] < n.rows() {
			out = append(out, shortfall{n, covered[n.name]})
		}
	}
	return out
}
