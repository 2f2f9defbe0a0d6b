package rules

import (
	"strings"
	"testing"
)

func TestUtilityPlAssignValue(t *testing.T) {
	cases := map[string]string{
		"x := 1":                           " 1",
		"x = 1":                            " 1",
		"a[i] := f(x)":                     " f(x)",
		"a[i = 1] := 2":                    " 2",
		"r.f := (SELECT 1 = 1)":            " (SELECT 1 = 1)",
		"\"we:=ird\" := g()":               " g()",
		"a['x=y'] := 3":                    " 3",
		"x := count(*) FROM t WHERE a = 1": " count(*) FROM t WHERE a = 1",
		"no assignment":                    "no assignment",
	}
	for in, want := range cases {
		if got := plAssignValue(in); got != want {
			t.Errorf("plAssignValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUtilityPlRetype(t *testing.T) {
	const msg = "\"r.a\" is not a known variable"
	cases := []struct{ body, want string }{
		{"DECLARE r t%ROWTYPE; BEGIN r.a := 1; END", "DECLARE r record; BEGIN r.a := 1; END"},
		{"declare x int; r s.t := null; begin end", "declare x int; r record := null; begin end"},
		{"DECLARE r CONSTANT t = row(1); BEGIN END", "DECLARE r CONSTANT record = row(1); BEGIN END"},
		{"DECLARE r record; BEGIN r.a := 1; END", ""},                // already record: give up
		{"BEGIN FOR r IN SELECT 1 LOOP r.a := 1; END LOOP; END", ""}, // no declaration
		{"DECLARE y int; BEGIN r t; END", ""},                        // not in a DECLARE section
	}
	for _, c := range cases {
		got, ok := plRetype(c.body, msg)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("plRetype(%q) = %q, %v; want %q", c.body, got, ok, c.want)
		}
	}
	if _, ok := plRetype("DECLARE r t; BEGIN END", "syntax error"); ok {
		t.Errorf("retyped on another error")
	}
}

// The wrapper's dollar quote must end exactly where the body does, or the
// body could close it and run as something else.
func TestUtilityPlInlineFunctionTag(t *testing.T) {
	for _, body := range []string{
		"BEGIN NULL; END",
		"BEGIN RAISE NOTICE '$belay$'; END",
		"BEGIN NULL; END $belay",
		"$belay$ $belay1$ $belay2",
		"",
		"$",
	} {
		w := plInline(body).text()
		i := strings.Index(w, " AS $")
		rest := w[i+4:]
		tag := rest[:strings.Index(rest[1:], "$")+2]
		inner := rest[len(tag):]
		if strings.Index(inner, tag) != len(body) || !strings.HasSuffix(w, tag) {
			t.Errorf("body %q: wrapper %q", body, w)
		}
	}
}

// Whatever a DO body holds, analysis must not panic.
func FuzzUtilityDoBody(f *testing.F) {
	for _, s := range []string{
		"BEGIN DELETE FROM t; END",
		"DECLARE r record; BEGIN FOR r IN EXECUTE 'x' LOOP END LOOP; END",
		"BEGIN x := ; END",
		"BEGIN IF THEN END",
		"<<a>> BEGIN EXIT a; END a",
		"BEGIN PERFORM (((1))); END",
		"BEGIN DO $x$ BEGIN END $x$; END",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if strings.Contains(body, "$f$") || len(body) > 4096 || strings.ContainsRune(body, 0) {
			return
		}
		sql := "DO $f$" + body + "$f$"
		if sh, ok := MakeShape([]byte(sql), &Scratch{}); !ok || sh.TooDeep {
			return // the relay's caps keep such text from the parser
		}
		Analyze(sql)
	})
}
