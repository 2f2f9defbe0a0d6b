package policy

import "github.com/belay-proxy/belay/rules"

// closestRule is the known rule id nearest to a misspelt one, or "" when
// none is near enough to be what was meant.
func closestRule(name string) rules.RuleID {
	best, bestD := rules.RuleID(""), len(name)/3
	if bestD < 2 {
		bestD = 2
	}
	for _, id := range rules.All() {
		if d := editDistance(name, string(id)); d <= bestD {
			best, bestD = id, d-1 // a later id must be strictly closer
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes
// (rule ids are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
