package rules

import "strings"

//go:generate go run ./internal/genfuncs -o functions_readonly.go

// A function call is read-only for belay when its name, unqualified or
// qualified with pg_catalog, is in catalogReadOnly (generated: every
// pg_catalog overload is immutable, stable, an aggregate or a window
// function, which PostgreSQL forbids to write) or in harmlessFunctions,
// and not in the deny list. Everything else — user functions, extension
// functions, anything schema-qualified otherwise — may write: its effect
// cannot be seen from the statement's text.
//
// Names are matched as PostgreSQL resolves them with pg_catalog first on
// the search path (its default); a session that puts another schema
// before pg_catalog, or defines an overload of a catalog name for its own
// types, can call its own code under a read-only name.

// harmlessFunctions are volatile (or newer than the catalog the list was
// generated from) but change no data: clocks, random numbers, sleeps,
// transaction ids, sizes and statistics, advisory locks.
var harmlessFunctions = map[string]struct{}{
	// clocks, randomness, sleeping
	"now": {}, "clock_timestamp": {}, "statement_timestamp": {}, "transaction_timestamp": {}, "timeofday": {},
	"random": {}, "random_normal": {}, "setseed": {}, "gen_random_uuid": {}, "uuidv4": {}, "uuidv7": {},
	"array_sample": {}, "array_shuffle": {},
	"pg_sleep": {}, "pg_sleep_for": {}, "pg_sleep_until": {},
	// transaction ids and status: assigning an xid writes no data
	"txid_current": {}, "txid_current_if_assigned": {}, "txid_status": {},
	"pg_current_xact_id": {}, "pg_current_xact_id_if_assigned": {}, "pg_xact_status": {},
	"pg_xact_commit_timestamp": {}, "pg_xact_commit_timestamp_origin": {}, "pg_last_committed_xact": {},
	// sequences read, not advanced
	"currval": {}, "lastval": {}, "pg_sequence_last_value": {},
	// the server's state
	"pg_backend_pid": {}, "pg_blocking_pids": {}, "pg_safe_snapshot_blocking_pids": {}, "pg_lock_status": {},
	"pg_notification_queue_usage": {}, "pg_jit_available": {}, "pg_is_in_recovery": {},
	"pg_current_wal_lsn": {}, "pg_current_wal_insert_lsn": {}, "pg_current_wal_flush_lsn": {},
	"pg_last_wal_receive_lsn": {}, "pg_last_wal_replay_lsn": {}, "pg_last_xact_replay_timestamp": {},
	"pg_is_wal_replay_paused": {}, "pg_get_wal_replay_pause_state": {},
	"pg_control_checkpoint": {}, "pg_control_init": {}, "pg_control_recovery": {}, "pg_control_system": {},
	"pg_database_size": {}, "pg_relation_size": {}, "pg_table_size": {}, "pg_indexes_size": {},
	"pg_total_relation_size": {}, "pg_tablespace_size": {},
	"pg_partition_ancestors": {}, "pg_partition_tree": {},
	"pg_stat_clear_snapshot": {}, "pg_stat_have_stats": {},
	"pg_collation_actual_version": {}, "pg_database_collation_actual_version": {},
	// advisory locks change no data; migration tools take them routinely
	"pg_advisory_lock": {}, "pg_advisory_lock_shared": {}, "pg_advisory_unlock": {},
	"pg_advisory_unlock_all": {}, "pg_advisory_unlock_shared": {}, "pg_advisory_xact_lock": {},
	"pg_advisory_xact_lock_shared": {}, "pg_try_advisory_lock": {}, "pg_try_advisory_lock_shared": {},
	"pg_try_advisory_xact_lock": {}, "pg_try_advisory_xact_lock_shared": {},
	// immutable or stable, added after PostgreSQL 15
	"any_value": {}, "pg_input_is_valid": {}, "pg_input_error_info": {}, "date_add": {}, "date_subtract": {},
	"erf": {}, "erfc": {}, "to_bin": {}, "to_oct": {}, "uuid_extract_timestamp": {}, "uuid_extract_version": {},
	"pg_basetype": {}, "to_regtypemod": {}, "pg_column_toast_chunk_id": {}, "unicode_assigned": {},
	"pg_split_walfile_name": {}, "array_reverse": {}, "array_sort": {},
}

// deniedFunctions are never read-only, whatever their volatility:
// settings, other sessions, replication, files, large objects, sequences,
// dynamic SQL.
var deniedFunctions = map[string]struct{}{
	"set_config": {}, "nextval": {}, "setval": {},
	"pg_terminate_backend": {}, "pg_cancel_backend": {}, "pg_reload_conf": {}, "pg_switch_wal": {},
	"pg_promote": {}, "pg_notify": {}, "loread": {}, "lowrite": {}, "pg_import_system_collations": {},
	"pg_log_backend_memory_contexts": {}, "pg_sync_replication_slots": {}, "pg_extension_config_dump": {},
	"pg_stop_making_pinned_objects": {}, "pg_nextoid": {}, "ts_stat": {}, "ts_rewrite": {},
	"pg_export_snapshot": {}, "pg_rotate_logfile": {}, "pg_rotate_logfile_old": {},
}

var deniedPrefixes = []string{
	"dblink", "lo_", "pg_create_", "pg_drop_", "pg_copy_", "pg_file_", "pg_logical_", "pg_replication_",
	"pg_backup_", "pg_wal_replay_", "pg_stat_reset", "binary_upgrade_", "brin_summarize", "brin_desummarize",
}

// functionParts splits a FuncCall's name into its parts as written.
// Calls written in SQL syntax (EXTRACT, TRIM, AT TIME ZONE, …) carry a
// pg_catalog qualifier the text does not have: it is dropped.
func functionParts(parts []string, sqlSyntax bool) []string {
	if sqlSyntax && len(parts) == 2 && parts[0] == "pg_catalog" {
		return parts[1:]
	}
	return parts
}

// catalogName is the function's name when it resolves in pg_catalog
// (unqualified or qualified with pg_catalog), "" otherwise.
func catalogName(parts []string) string {
	switch {
	case len(parts) == 1:
		return parts[0]
	case len(parts) == 2 && parts[0] == "pg_catalog":
		return parts[1]
	}
	return ""
}

// readOnlyFunction reports whether a call of the function named by parts
// is known to change no data.
func readOnlyFunction(parts []string) bool {
	name := catalogName(parts)
	if name == "" {
		return false
	}
	if _, ok := deniedFunctions[name]; ok {
		return false
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	if strings.Contains(name, "_to_xml") { // query_to_xml, table_to_xml, …: run SQL built from text
		return false
	}
	if _, ok := catalogReadOnly[name]; ok {
		return true
	}
	if _, ok := harmlessFunctions[name]; ok {
		return true
	}
	return strings.HasPrefix(name, "pg_stat_get_") // statistics counters
}

// dblinkFunctions run SQL text on another connection, out of belay's
// sight.
var dblinkFunctions = map[string]struct{}{"dblink": {}, "dblink_exec": {}, "dblink_send_query": {}}

func isDblink(parts []string) bool {
	if len(parts) == 0 {
		return false
	}
	_, ok := dblinkFunctions[parts[len(parts)-1]]
	return ok
}
