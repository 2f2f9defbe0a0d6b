package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// analyzeSet classifies SET and RESET.
func (a *ua) analyzeSet(s *pg_query.VariableSetStmt) {
	a.f.Kind = KindUtility
	if s == nil {
		return
	}
	switch {
	case s.Kind == pg_query.VariableSetKind_VAR_SET_MULTI && strings.HasPrefix(strings.ToUpper(s.Name), "TRANSACTION"):
		a.f.Kind = KindTransaction // SET TRANSACTION …, SET TRANSACTION SNAPSHOT
	case utilRoleSetting(s.Name):
		a.f.Kind = KindPrivilege
	}
	a.checkSetting(s, "SET")
}

// utilRoleSetting: the settings that change who the session acts as.
func utilRoleSetting(name string) bool {
	return strings.EqualFold(name, "role") || strings.EqualFold(name, "session_authorization")
}

// checkSetting applies the setting rules to a SET, whether run now or
// stored for later (ALTER ROLE/DATABASE … SET, ALTER SYSTEM, a function's
// SET clause); where names the statement for the finding's detail.
// Setting names are case-insensitive in PostgreSQL, even when quoted.
func (a *ua) checkSetting(s *pg_query.VariableSetStmt, where string) {
	if s == nil {
		return
	}
	// Only giving a value matters: RESET and SET … TO DEFAULT go back to
	// the configured default, which only a superuser's ALTER … SET (itself
	// checked here) can have made dangerous.
	if s.Kind != pg_query.VariableSetKind_VAR_SET_VALUE {
		return
	}
	name := strings.ToLower(s.Name)
	if isBelaySetting(name) {
		a.find(RuleProtectedSchema, name, where+": "+name+" is belay's own setting")
		return
	}
	switch name {
	case "session_replication_role":
		// Any value: replica disables triggers and foreign keys, and the
		// value is a literal the shape cuts out, so the facts must not
		// depend on it.
		a.find(RuleReplicationRole, name, where+": session_replication_role decides whether triggers and foreign-key checks run")
	case "role", "session_authorization":
		a.f.LiteralSensitive = true // SET ROLE 'none' versus SET ROLE 'admin'
		if name == "role" && len(s.Args) == 1 && strings.EqualFold(utilConstString(s.Args[0]), "none") {
			return // SET ROLE NONE is RESET ROLE: back to the login role
		}
		a.find(RuleSetRole, name, where+": "+name+" changes the role the session acts as")
	case "search_path":
		// Each argument is one schema name, exactly (PostgreSQL quotes
		// each as an identifier): 'belay' and belay match, 'BELAY' does not.
		a.f.LiteralSensitive = true
		for _, arg := range s.Args {
			if isProtectedSchema(utilConstString(arg)) {
				a.find(RuleProtectedSchema, name, where+": search_path includes belay's own schema, where unqualified names would reach its tables")
				break
			}
		}
	}
}

// utilConstString is the text of a string constant ("" for anything else).
func utilConstString(n *pg_query.Node) string {
	if c := n.GetAConst(); c != nil && c.GetSval() != nil {
		return c.GetSval().Sval
	}
	if s := n.GetString_(); s != nil {
		return s.Sval
	}
	return ""
}

// analyzeAlterSystem: ALTER SYSTEM changes postgresql.auto.conf.
func (a *ua) analyzeAlterSystem(s *pg_query.AlterSystemStmt) {
	a.f.Kind = KindUtility
	target := ""
	if s != nil && s.Setstmt != nil {
		target = strings.ToLower(s.Setstmt.Name)
		a.checkSetting(s.Setstmt, "ALTER SYSTEM SET")
	}
	a.find(RuleAlterSystem, target, "ALTER SYSTEM changes the server configuration for every session")
}

// analyzeRoleSet: ALTER ROLE … [IN DATABASE …] SET stores a setting for
// the role's future sessions.
func (a *ua) analyzeRoleSet(s *pg_query.AlterRoleSetStmt) {
	a.f.Kind = KindPrivilege
	if s != nil {
		a.checkSetting(s.Setstmt, "ALTER ROLE … SET")
	}
}

// analyzeDatabaseSet: ALTER DATABASE … SET stores a setting for every
// future session on the database.
func (a *ua) analyzeDatabaseSet(s *pg_query.AlterDatabaseSetStmt) {
	a.f.Kind = KindDDL
	if s != nil {
		a.checkSetting(s.Setstmt, "ALTER DATABASE … SET")
	}
}

// checkFunctionSet applies the setting rules to a function's SET clauses,
// which take effect every time the function runs.
func (a *ua) checkFunctionSet(opts []*pg_query.Node, fn string) {
	for _, d := range utilDefElems(opts) {
		if d.Defname == "set" {
			a.checkSetting(d.Arg.GetVariableSetStmt(), "SET clause of function "+fn)
		}
	}
}
