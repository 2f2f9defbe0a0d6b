package rules

import (
	"os"
	"regexp"
	"testing"
)

// Every rule in code is documented, and every documented rule exists.
func TestCatalogMatchesDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[RuleID]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## ([a-z-]+)\s*$`).FindAllStringSubmatch(string(doc), -1) {
		documented[RuleID(m[1])] = true
	}
	for _, id := range All() {
		if !documented[id] {
			t.Errorf("rule %s is not documented in docs/rules.md (## %s)", id, id)
		}
		delete(documented, id)
	}
	for id := range documented {
		t.Errorf("docs/rules.md documents %s, which is not a rule", id)
	}
}

func TestCatalogComplete(t *testing.T) {
	seen := map[RuleID]bool{}
	for _, r := range catalog {
		if seen[r.ID] {
			t.Errorf("rule %s listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Summary == "" || r.Hint == "" || len(r.SQLState) != 5 {
			t.Errorf("rule %s lacks a summary, hint or SQLSTATE", r.ID)
		}
	}
}
