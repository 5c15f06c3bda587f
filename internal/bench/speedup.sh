#!/usr/bin/env bash
# speedup.sh: measure rstscope's speed-up from more workers on one capture,
# against the two-core target of docs/performance.md (with two workers, at
# least 1.8× the speed of one), in a way that survives a noisy machine: each
# round runs `rstscope read --format json` with every worker count given,
# back to back, and the ratio of the one-worker time to each other time is
# taken within the round. The medians (and ranges) of those per-round ratios
# are printed, then the median wall time per worker count. Rounds are short,
# so a slow minute of the machine slows every run of a round alike and
# cancels out of its ratios.
#
# Usage: internal/bench/speedup.sh [options] FILE
#   -n N      rounds (default 9)
#   -j LIST   worker counts after the first, comma-separated (default 2)
#   -b PATH   rstscope binary (default: go build ./cmd/rstscope)
#   -h        this help
#
# Needs: bash, go (unless -b), /usr/bin/time (Debian package "time").
set -euo pipefail

rounds=9 counts=2 bin=""
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
while getopts "n:j:b:h" opt; do
	case $opt in
	n) rounds=$OPTARG ;;
	j) counts=$OPTARG ;;
	b) bin=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 1)); then usage >&2; exit 2; fi
file=$1
[[ -r $file ]] || { echo "speedup.sh: cannot read $file" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "speedup.sh: -n wants a positive number, not $rounds" >&2; exit 2; }
IFS=, read -r -a others <<<"$counts"
for j in "${others[@]}"; do
	[[ $j =~ ^[1-9][0-9]*$ ]] || { echo "speedup.sh: -j wants worker counts like 2,3, not $counts" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "speedup.sh: /usr/bin/time is missing: apt-get install -y time" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/speedup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [[ -z $bin ]]; then
	repo=$(cd "$(dirname "$0")/../.." && pwd)
	echo "speedup.sh: building rstscope" >&2
	(cd "$repo" && go build -o "$tmp/rstscope" ./cmd/rstscope)
	bin=$tmp/rstscope
fi

all=(1 "${others[@]}")
wall() { # wall time of one run, in seconds
	/usr/bin/time -f "%e" -o "$tmp/t" "$bin" read --format json --workers "$1" --no-progress "$file" >/dev/null
	cat "$tmp/t"
}
for ((r = 1; r <= rounds; r++)); do
	line=""
	for j in "${all[@]}"; do line+="$(wall "$j") "; done
	echo "$line" >>"$tmp/rounds"
	echo "speedup.sh: round $r/$rounds: ${line% } s for workers ${all[*]}" >&2
done

if awk '{for (i = 1; i <= NF; i++) if ($i + 0 == 0) z = 1} END{exit !z}' "$tmp/rounds"; then
	echo "speedup.sh: some runs took under 10 ms, too short to time: use a bigger capture (cmd/rstgen makes one)" >&2
	exit 1
fi
median() { sort -n | awk '{a[NR]=$1} END{printf "%.2f (%.2f–%.2f)", a[int((NR+1)/2)], a[1], a[NR]}'; }
echo "$(basename "$file"), $rounds rounds; ratio = one-worker time / that time, within each round:"
for ((k = 2; k <= ${#all[@]}; k++)); do
	echo "  --workers ${all[k-1]}: speed-up $(awk -v k="$k" '{print $1/$k}' "$tmp/rounds" | median)"
done
for ((k = 1; k <= ${#all[@]}; k++)); do
	echo "  --workers ${all[k-1]}: wall $(awk -v k="$k" '{print $k}' "$tmp/rounds" | median) s"
done
