# targets.sh: sourced by compare.sh. targets FILE measures rstscope's
# performance targets on FILE in $rounds interleaved rounds and prints them
# (see compare.sh's help). It uses compare.sh's $tmp, $rstscope_bin,
# $rounds, $cpu and log.

# tmed: the median of the numbers on stdin.
tmed() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# trun NAME CMD...: run CMD once under /usr/bin/time -v, stdout to
# /dev/null, and append "wall rss_kib" to $tmp/t-NAME.
trun() {
	local name=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	if ! /usr/bin/time -v -o "$tmp/t.txt" "$@" >"$tmp/t-out.txt" 2>"$tmp/t-err.txt"; then
		log "$name failed: $(tail -1 "$tmp/t-err.txt")"
		return 1
	fi
	t1=$EPOCHREALTIME
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}') $(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/t.txt")" >>"$tmp/t-$name"
}

targets() {
	local f=$1 r n name
	rm -f "$tmp"/t-*
	n=$("$tmp/floor" -mode state "$f" | awk '{print $2}') # also warms the page cache
	log "targets on $f ($n packets): $rounds rounds, one core = CPU $cpu"
	for ((r = 1; r <= rounds; r++)); do
		trun floor taskset -c "$cpu" "$tmp/floor" -mode state "$f" || return
		trun one taskset -c "$cpu" "$rstscope_bin" read --format json --workers 1 --no-progress "$f" || return
		trun w1 "$rstscope_bin" read --format json --workers 1 --no-progress "$f" || return
		trun w2 "$rstscope_bin" read --format json --workers 2 --no-progress "$f" || return
		log "round $r/$rounds: $(for name in floor one w1 w2; do tail -1 "$tmp/t-$name" | cut -d' ' -f1; done | xargs) s"
	done
	echo
	echo "Targets on $(basename "$f") ($n packets, $(awk -v s="$(stat -c %s "$f")" 'BEGIN {printf "%.2f GiB", s / 2^30}')): medians of $rounds interleaved rounds on $(nproc) cores, one core = CPU $cpu."
	echo
	echo "| what | wall time | packets/s | peak RSS |"
	echo "|---|---|---|---|"
	for name in floor one w1 w2; do
		local what wall rss
		case $name in
		floor) what="\`floor -mode state\` (the lean tracker), one core" ;;
		one) what="\`rstscope read --format json --workers 1\`, one core" ;;
		w1) what="\`rstscope read --format json --workers 1\`" ;;
		w2) what="\`rstscope read --format json --workers 2\`" ;;
		esac
		wall=$(cut -d' ' -f1 "$tmp/t-$name" | tmed)
		rss=$(cut -d' ' -f2 "$tmp/t-$name" | tmed)
		awk -v what="$what" -v w="$wall" -v r="$rss" -v n="$n" 'BEGIN {
			printf "| %s | %.2f s | %.2f M | %.0f MiB |\n", what, w, n / w / 1e6, r / 1024 }'
	done
	echo
	# Ratios within each round, then their medians.
	local one speed rss
	one=$(paste -d' ' "$tmp/t-one" "$tmp/t-floor" | awk '{print $1 / $3}' | tmed)
	speed=$(paste -d' ' "$tmp/t-w1" "$tmp/t-w2" | awk '{print $1 / $3}' | tmed)
	rss=$(cat "$tmp/t-one" "$tmp/t-w1" "$tmp/t-w2" | cut -d' ' -f2 | sort -g | tail -1)
	awk -v one="$one" -v speed="$speed" -v rss="$rss" 'BEGIN {
		printf "- one core: rstscope takes %.2f× the lean tracker'\''s time (target at most 1.5×: %s)\n", one, (one <= 1.5 ? "met" : "not met")
		printf "- two workers: %.2f× the speed of one (target at least 1.8×: %s)\n", speed, (speed >= 1.8 ? "met" : "not met")
		printf "- peak RSS: %.0f MiB at most over every rstscope run (target at most 150 MiB: %s)\n", rss / 1024, (rss <= 150 * 1024 ? "met" : "not met")
	}'
}
