package rules

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// utilStableFunctions are functions PostgreSQL marks immutable or stable
// that columns commonly default to. ADD COLUMN with a default that is not
// volatile stores the value once (PostgreSQL 11 and later) instead of
// rewriting the table; belay cannot read pg_proc, so any other function
// counts as volatile.
var utilStableFunctions = map[string]bool{
	"now": true, "transaction_timestamp": true, "statement_timestamp": true,
	"current_setting": true, "current_database": true, "current_schema": true,
	"to_timestamp": true, "to_date": true, "to_char": true, "to_number": true,
	"make_date": true, "make_time": true, "make_timestamp": true, "make_timestamptz": true, "make_interval": true,
	"date_trunc": true, "date_part": true, "timezone": true,
	"lower": true, "upper": true, "btrim": true, "ltrim": true, "rtrim": true, "concat": true, "concat_ws": true,
	"length": true, "substr": true, "substring": true, "replace": true, "left": true, "right": true, "md5": true,
	"abs": true, "round": true, "floor": true, "ceil": true, "ceiling": true, "trunc": true,
	"json_build_object": true, "jsonb_build_object": true, "json_build_array": true, "jsonb_build_array": true,
	"to_json": true, "to_jsonb": true, "array_fill": true, "int4range": true, "int8range": true,
	"numrange": true, "tsrange": true, "tstzrange": true, "daterange": true,
}

// utilVolatile reports whether a default expression may be volatile. Node
// types it does not know count as volatile, to fail closed.
func utilVolatile(n *pg_query.Node) bool {
	if n == nil || n.Node == nil {
		return false
	}
	switch x := n.Node.(type) {
	case *pg_query.Node_AConst, *pg_query.Node_SqlvalueFunction, *pg_query.Node_ColumnRef, *pg_query.Node_ParamRef:
		return false // constants; CURRENT_TIMESTAMP, CURRENT_USER … are stable
	case *pg_query.Node_FuncCall:
		fc := x.FuncCall
		if fc == nil {
			return false
		}
		parts := utilStrings(fc.Funcname)
		if len(parts) == 0 || len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
			return true
		}
		if !utilStableFunctions[strings.ToLower(parts[len(parts)-1])] {
			return true
		}
		return utilAnyVolatile(fc.Args) || utilVolatile(fc.AggFilter)
	case *pg_query.Node_TypeCast:
		return x.TypeCast != nil && (utilVolatile(x.TypeCast.Arg) || utilSerialType(x.TypeCast.TypeName))
	case *pg_query.Node_AExpr:
		return x.AExpr != nil && (utilVolatile(x.AExpr.Lexpr) || utilVolatile(x.AExpr.Rexpr))
	case *pg_query.Node_BoolExpr:
		return x.BoolExpr != nil && utilAnyVolatile(x.BoolExpr.Args)
	case *pg_query.Node_CoalesceExpr:
		return x.CoalesceExpr != nil && utilAnyVolatile(x.CoalesceExpr.Args)
	case *pg_query.Node_MinMaxExpr:
		return x.MinMaxExpr != nil && utilAnyVolatile(x.MinMaxExpr.Args)
	case *pg_query.Node_NullIfExpr:
		return x.NullIfExpr != nil && utilAnyVolatile(x.NullIfExpr.Args)
	case *pg_query.Node_AArrayExpr:
		return x.AArrayExpr != nil && utilAnyVolatile(x.AArrayExpr.Elements)
	case *pg_query.Node_RowExpr:
		return x.RowExpr != nil && utilAnyVolatile(x.RowExpr.Args)
	case *pg_query.Node_NullTest:
		return x.NullTest != nil && utilVolatile(x.NullTest.Arg)
	case *pg_query.Node_CollateClause:
		return x.CollateClause != nil && utilVolatile(x.CollateClause.Arg)
	case *pg_query.Node_CaseExpr:
		c := x.CaseExpr
		if c == nil {
			return false
		}
		if utilVolatile(c.Arg) || utilVolatile(c.Defresult) {
			return true
		}
		for _, w := range c.Args {
			if cw := w.GetCaseWhen(); cw != nil && (utilVolatile(cw.Expr) || utilVolatile(cw.Result)) {
				return true
			}
		}
		return false
	case *pg_query.Node_List:
		return x.List != nil && utilAnyVolatile(x.List.Items)
	}
	return true
}

func utilAnyVolatile(ns []*pg_query.Node) bool {
	for _, n := range ns {
		if utilVolatile(n) {
			return true
		}
	}
	return false
}

// utilSerialType: serial, bigserial and smallserial columns default to
// nextval(), which is volatile.
func utilSerialType(t *pg_query.TypeName) bool {
	if t == nil {
		return false
	}
	parts := utilStrings(t.Names)
	if len(parts) != 1 {
		return false
	}
	switch strings.ToLower(parts[0]) {
	case "serial", "serial4", "bigserial", "serial8", "smallserial", "serial2":
		return true
	}
	return false
}
