#!/usr/bin/env bash
# livereplay.sh: replay a capture onto a veth pair between two network
# namespaces with tcpreplay, at fixed rates, while `rstscope live` (and, for
# comparison, `tcpdump -w /dev/null`) captures on the other end, and print
# per rate and tool the rate tcpreplay reached, the packets seen, the
# kernel's drops (libpcap's statistics) and the capturing process's CPU.
#
# Usage: internal/bench/livereplay.sh [options] FILE
#   -r LIST   rates in packets/s, comma-separated, "top" for --topspeed
#             (default 100000,250000,500000,top)
#   -b PATH   rstscope binary (default: go build ./cmd/rstscope)
#   -a ARGS   more arguments for rstscope live (e.g. "-B 2048"), split on spaces
#   -T        no tcpdump runs
#   -h        this help
#
# Needs root, tcpreplay and tcpdump (Debian packages), iproute2 and
# /usr/bin/time. It makes the namespaces rstbench-tx and rstbench-rx and
# deletes them on exit. Both ends share this machine's cores, so the rate
# tcpreplay reaches depends on how much CPU the capturing tool leaves it:
# compare the "sent at" column, not only the rate asked for.
set -euo pipefail

rates=100000,250000,500000,top bin="" extra="" no_tcpdump=0
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
while getopts "r:b:a:Th" opt; do
	case $opt in
	r) rates=$OPTARG ;;
	b) bin=$OPTARG ;;
	a) extra=$OPTARG ;;
	T) no_tcpdump=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || { usage >&2; exit 2; }
file=$1
[[ -r $file ]] || { echo "livereplay.sh: cannot read $file" >&2; exit 1; }
for tool in tcpreplay tcpdump ip /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "livereplay.sh: $tool is missing" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/livereplay.XXXXXX")
tx=rstbench-tx rx=rstbench-rx
cleanup() {
	ip netns del "$tx" 2>/dev/null || true
	ip netns del "$rx" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
if [[ -z $bin ]]; then
	repo=$(cd "$(dirname "$0")/../.." && pwd)
	(cd "$repo" && go build -o "$tmp/rstscope" ./cmd/rstscope)
	bin=$tmp/rstscope
fi
ip netns add "$tx"
ip netns add "$rx"
ip link add rstb-a type veth peer name rstb-b
ip link set rstb-a netns "$tx"
ip link set rstb-b netns "$rx"
ip -n "$tx" link set rstb-a up
ip -n "$rx" link set rstb-b up

# run TOOL RATE: one capture while tcpreplay sends the file; prints a row.
run() {
	local tool=$1 rate=$2 pid sent seen drops cpu
	local -a cmd r
	case $tool in
	tcpdump) cmd=(tcpdump -i rstb-b -s 512 -w /dev/null) ;;
	*) read -r -a r <<<"$extra"; cmd=("$bin" live -i rstb-b -o json --json-summary --no-status "${r[@]}") ;;
	esac
	ip netns exec "$rx" /usr/bin/time -f "%e %U %S" -o "$tmp/time" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	sleep 2
	if [[ $rate == top ]]; then r=(--topspeed); else r=(--pps="$rate"); fi
	ip netns exec "$tx" tcpreplay -i rstb-a "${r[@]}" "$file" >"$tmp/replay" 2>&1
	sleep 2
	pkill -INT -P "$pid" || true
	wait "$pid" || true
	sent=$(awk '/Rated:/ {printf "%.0f k", $(NF-1) / 1000}' "$tmp/replay")
	if [[ $tool == tcpdump ]]; then
		seen=$(awk '/packets captured/ {print $1}' "$tmp/err")
		drops=$(awk '/dropped by kernel/ {print $1}' "$tmp/err")
	else
		seen=$(tail -1 "$tmp/out" | grep -o '"tcp_packets":[0-9]*' | cut -d: -f2)
		drops=$(tail -1 "$tmp/out" | grep -o '"dropped":[0-9]*' | cut -d: -f2)
	fi
	cpu=$(awk '{printf "%.0f%%", 100 * ($2 + $3) / $1}' "$tmp/time")
	echo "| $rate | $tool | $sent | $seen | $drops | $cpu |"
}

echo "$(basename "$file"), replayed by tcpreplay onto a veth pair; CPU is (user + system) / wall time of the capturing process."
echo
echo "| rate asked (packets/s) | capture | sent at (packets/s) | TCP packets seen | dropped by the kernel | CPU |"
echo "|---|---|---|---|---|---|"
IFS=, read -r -a list <<<"$rates"
for rate in "${list[@]}"; do
	((no_tcpdump)) || run tcpdump "$rate"
	run "rstscope live${extra:+ $extra}" "$rate"
done
