#!/usr/bin/env bash
# ceiling.sh: how close can two workers come to twice one worker's speed on
# this machine? It splits a capture in two by connection, as rstscope's two
# workers split it (internal/bench/halves), and times, in N interleaved
# rounds:
#
#   full   the whole capture on one core (taskset), as the one-core target does
#   0, 1   each half alone on that core
#   pair   both halves at once, one process per core: a split with no
#          hand-over, no shared table and no merge, only the two cores'
#          shared caches and memory between them
#   -j1    `rstscope read --format json --workers 1` on the whole capture, unpinned
#   -j2    the same with --workers 2
#
# for rstscope (`read --format json --workers 1`) and for the lean tracker
# (`floor -mode state`). It prints the medians and, from the ratios within
# each round, the speed-up of the perfect split (full over pair) beside
# rstscope's --workers 2 (-j1 over -j2), and how much running at once slows
# each half (pair over the slower half alone). The halves do not give the
# whole capture's verdicts: each process sees only its half's hosts.
#
# Usage: internal/bench/ceiling.sh [options] FILE
#   -n N     rounds (default 5)
#   -p CPU   the core of the one-core runs (default: the last); the pair's
#            other half runs on the other core (the first)
#   -b PATH  rstscope binary (default: go build ./cmd/rstscope)
#   -k       keep the temp directory with the halves (prints its path)
#   -h       this help
#
# Needs: bash 5, go, taskset (util-linux), two cores or more, and room in
# $TMPDIR for a copy of FILE.
set -euo pipefail

rounds=5 cpu=$(($(nproc) - 1)) bin="" keep=0
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
while getopts "n:p:b:kh" opt; do
	case $opt in
	n) rounds=$OPTARG ;;
	p) cpu=$OPTARG ;;
	b) bin=$OPTARG ;;
	k) keep=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || { usage >&2; exit 2; }
file=$1
[[ -r $file ]] || { echo "ceiling.sh: cannot read $file" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ceiling.sh: -n wants a positive number, not $rounds" >&2; exit 2; }
(($(nproc) >= 2)) || { echo "ceiling.sh: needs two cores, this machine has $(nproc)" >&2; exit 1; }
other=0
((cpu != other)) || other=1

repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rstceil.XXXXXX")
cleanup() { if ((keep)); then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
log() { echo "ceiling.sh: $*" >&2; }

log "building"
(cd "$repo" && go build -o "$tmp/halves" ./internal/bench/halves && go build -o "$tmp/floor" ./internal/bench/floor)
if [[ -z $bin ]]; then
	(cd "$repo" && go build -o "$tmp/rstscope" ./cmd/rstscope)
	bin=$tmp/rstscope
fi
log "splitting $file by connection"
"$tmp/halves" "$file" "$tmp/h0.pcap" "$tmp/h1.pcap"
cat "$file" "$tmp/h0.pcap" "$tmp/h1.pcap" >/dev/null

# wall CMD...: run CMD (stdout to /dev/null) and print its wall time in seconds.
wall() {
	local t0=$EPOCHREALTIME
	"$@" >/dev/null
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.4f\n", b - a}'
}
# pair CMD...: run CMD on each half at once, one per core; print the wall
# time until both are done.
pair() {
	local t0=$EPOCHREALTIME p
	taskset -c "$other" "$@" "$tmp/h0.pcap" >/dev/null &
	p=$!
	taskset -c "$cpu" "$@" "$tmp/h1.pcap" >/dev/null
	wait "$p"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.4f\n", b - a}'
}

declare -A t
rs=("$bin" read --format json --workers 1)
fl=("$tmp/floor" -mode state)
for ((r = 1; r <= rounds; r++)); do
	for tool in rs fl; do
		if [[ $tool == rs ]]; then cmd=("${rs[@]}"); else cmd=("${fl[@]}"); fi
		t[$tool.full]+=" $(wall taskset -c "$cpu" "${cmd[@]}" "$file")"
		t[$tool.0]+=" $(wall taskset -c "$cpu" "${cmd[@]}" "$tmp/h0.pcap")"
		t[$tool.1]+=" $(wall taskset -c "$cpu" "${cmd[@]}" "$tmp/h1.pcap")"
		t[$tool.pair]+=" $(pair "${cmd[@]}")"
	done
	t[j1]+=" $(wall "$bin" read --format json --workers 1 "$file")"
	t[j2]+=" $(wall "$bin" read --format json --workers 2 "$file")"
	log "round $r/$rounds: rstscope full ${t[rs.full]##* } pair ${t[rs.pair]##* }, -j1 ${t[j1]##* } -j2 ${t[j2]##* }; lean tracker full ${t[fl.full]##* } pair ${t[fl.pair]##* } s"
done

# col "a b c": one time a line. med "a b c": the median. spread: the median,
# minimum and maximum of the numbers on standard input, as "median× (min–max)".
# ratios "a b c" "x y z": the per-round a/x, spread.
col() { tr ' ' '\n' <<<"$1" | grep .; }
med() { col "$1" | sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
spread() { sort -g | awk '{v[NR]=$1} END {printf "%.2f× (%.2f–%.2f)", v[int((NR+1)/2)], v[1], v[NR]}'; }
ratios() { paste <(col "$1") <(col "$2") | awk '{print $1 / $2}' | spread; }
slower() { # per round: pair over the slower half alone
	paste <(col "$1") <(col "$2") <(col "$3") | awk '{m = $2 > $3 ? $2 : $3; print $1 / m}' | spread
}

echo
echo "Split by connection, $(basename "$file"): medians of $rounds interleaved rounds, seconds; one core = CPU $cpu, the pair on CPUs $other and $cpu."
echo
echo "| | whole, one core | half 0 alone | half 1 alone | both halves at once | speed-up of the split | at once ÷ alone |"
echo "|---|---|---|---|---|---|---|"
for tool in rs fl; do
	name='`rstscope read --format json --workers 1`'
	[[ $tool == fl ]] && name='`floor -mode state` (the lean tracker)'
	echo "| $name | $(med "${t[$tool.full]}") | $(med "${t[$tool.0]}") | $(med "${t[$tool.1]}") | $(med "${t[$tool.pair]}") | $(ratios "${t[$tool.full]}" "${t[$tool.pair]}") | $(slower "${t[$tool.pair]}" "${t[$tool.0]}" "${t[$tool.1]}") |"
done
echo
echo "- rstscope --workers 2 on the whole capture: $(med "${t[j2]}") s against --workers 1 $(med "${t[j1]}") s: $(ratios "${t[j1]}" "${t[j2]}") (target at least 1.8×)"
