package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
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

// Every RuleID constant declared in rule.go is in the catalog (and so in
// the docs, by the test above), and the catalog holds nothing else.
func TestCatalogHoldsEveryRuleConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "rule.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[RuleID]bool{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "RuleID" {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					declared[RuleID(s)] = true
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no RuleID constants in rule.go")
	}
	for id := range declared {
		if _, ok := Lookup(id); !ok {
			t.Errorf("rule %s is declared but not in the catalog", id)
		}
	}
	for _, id := range All() {
		if !declared[id] {
			t.Errorf("catalog rule %s has no constant in rule.go", id)
		}
	}
}
