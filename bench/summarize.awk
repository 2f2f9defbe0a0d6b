# bench/summarize.awk: medians over rounds of bench/run's raw TSV, as a Markdown table.
#   awk -v cells="S|simple|8,S|extended|8" -v targets="direct,pgbouncer" -f bench/summarize.awk raw.tsv
# The raw file has a header line naming its columns (see RAW_COLUMNS in bench/run).
# Rows whose status starts with "discarded" (noisy runs, or runs during which belay was stopped from outside, that were repeated) are skipped.
# ×PgBouncer and ×direct are medians of per-round ratios: runs of one round and
# cell are back to back, so pairing them cancels slow drift of the machine.
BEGIN { FS = "\t" }

NR == 1 {
	for (i = 1; i <= NF; i++) col[$i] = i
	next
}

{
	round = $col["round"]
	t = $col["target"]
	cell = $col["script"] "|" $col["mode"] "|" $col["clients"]
	if ($col["status"] ~ /^discarded/) { discarded[cell, t]++; next }
	runs[cell, t]++
	if ($col["tps"] == "NA" || $col["status"] !~ /^(ok|failed-txns)/) next
	ok[cell, t]++
	tps[round, cell, t] = $col["tps"]
	add("tps", cell, t, $col["tps"])
	add("p50", cell, t, $col["p50_ms"])
	add("p99", cell, t, $col["p99_ms"])
	add("cpu", cell, t, $col["proxy_cpu_us"])
	add("other", cell, t, $col["other_cpu_pct"])
	if (!((round, cell) in seen)) { seen[round, cell] = 1; rounds[cell] = rounds[cell] " " round }
}

# add appends v to the list of metric m for (cell, target), skipping "NA".
function add(m, cell, t, v,    k) {
	if (v == "NA" || v == "") return
	k = m SUBSEP cell SUBSEP t
	vals[k, ++nvals[k]] = v + 0
}

# median of the list stored under key k ("" when empty).
function median(k,    n, i, j, x, a) {
	n = nvals[k]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) a[i] = vals[k, i]
	for (i = 2; i <= n; i++) {                # insertion sort: n is the number of rounds
		x = a[i]
		for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
		a[j + 1] = x
	}
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# ratio_median: median over rounds of tps(t) / tps(ref) in one cell.
function ratio_median(cell, t, ref,    k, nr, rs, i, r) {
	k = "ratio" SUBSEP ref SUBSEP cell SUBSEP t
	nvals[k] = 0
	nr = split(rounds[cell], rs, " ")
	for (i = 1; i <= nr; i++) {
		r = rs[i]
		if (((r, cell, t) in tps) && ((r, cell, ref) in tps) && tps[r, cell, ref] > 0)
			vals[k, ++nvals[k]] = tps[r, cell, t] / tps[r, cell, ref]
	}
	return median(k)
}

function fmt(f, v) { return v == "" ? "–" : sprintf(f, v) }

END {
	nc = split(cells, cl, ",")
	nt = split(targets, tl, ",")
	print "| script | mode | clients | target | TPS | ×PgBouncer | ×direct | p50 ms | p99 ms | CPU µs/txn | other CPU % | runs ok |"
	print "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nc; i++) {
		split(cl[i], p, "|")
		for (j = 1; j <= nt; j++) {
			t = tl[j]
			k = SUBSEP cl[i] SUBSEP t
			n = sprintf("%d/%d", ok[cl[i], t], runs[cl[i], t])
			if (discarded[cl[i], t]) n = n sprintf(" (+%d repeated)", discarded[cl[i], t])
			printf "| -%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
				p[1], p[2], p[3], t, \
				fmt("%.0f", median("tps" k)), \
				fmt("%.2f", ratio_median(cl[i], t, "pgbouncer")), \
				fmt("%.2f", ratio_median(cl[i], t, "direct")), \
				fmt("%.3f", median("p50" k)), \
				fmt("%.3f", median("p99" k)), \
				fmt("%.1f", median("cpu" k)), \
				fmt("%.1f", median("other" k)), \
				n
		}
	}
}
