#!/usr/bin/env bash
# compare.sh: generate a multi-million-packet capture with rstgen and time
# rstscope against tcpdump and tshark on it, and against the reference ladder
# (internal/bench/floor: pcapgo read loops that decode, map 5-tuples and
# keep a lean per-connection record), printing one markdown table (median wall
# time, packets/s and peak RSS of N runs, from /usr/bin/time -v). With the
# ladder, a last column gives each row's wall time over the lean record's, and
# a line under the table states rstscope's ratio to it (the one-core target of
# docs/performance.md: at most 1.5× the lean record's time with one worker).
#
# Usage: internal/bench/compare.sh [options] [PACKETS]
#   PACKETS              packets to generate (default 5000000)
#   -c N                 connections open at once (default 50000)
#   -r N                 runs per tool; the table shows medians (default 3)
#   -w N                 workers for the multi-worker rstscope row (default: nproc)
#   -s SEED              generator seed (default 1)
#   -S N                 snap length in bytes, passed to rstgen -snaplen: keep the first N
#                        bytes of each frame, like tcpdump -s N (default 0 = whole frames;
#                        otherwise at least 94, the longest header rstgen writes)
#   -t N                 run tshark on the first N packets only and scale (default 500000;
#                        0 = the whole file)
#   -T                   skip tshark
#   -L                   skip the reference ladder (floor -mode read, decode, map,
#                        lean, newpacket)
#   -b PATH              rstscope binary (default: go build ./cmd/rstscope)
#   -k                   keep the temp directory (prints its path)
#   -f FILE              also measure the targets (below) on FILE, a classic Ethernet
#                        pcap such as the benchmark capture; repeatable
#   -X                   targets only: no table, no ladder (with -f and -G, nothing
#                        is generated)
#   -G                   with -X: do not generate a capture, measure the -f files only
#   -n N                 rounds of the targets (default 5)
#   -p CPU               the core the one-core runs are pinned to (default: the last)
#   -h                   this help
#
# The targets, for the generated capture and each -f file: N rounds, each
# running back to back, with /usr/bin/time -v, `floor -mode state` (the lean
# tracker) and `rstscope read --format json --workers 1` pinned to one core
# with taskset, then `rstscope read --format json` with --workers 1 and
# --workers 2 on every core. It prints their medians and, from the ratios
# within each round, rstscope's time on one core over the lean tracker's
# (target at most 1.5×), the speed-up of two workers over one (target at
# least 1.8×), and rstscope's peak RSS (target at most 150 MiB).
#
# Needs: bash 5, go, /usr/bin/time (Debian package "time"), tcpdump, tshark and
# editcap (package "tshark"). A missing tool, or an rstscope that is not
# built yet or lacks --workers, gives "n/a" in its row instead of failing.
# The ladder's runs of one mode are consecutive, like every other row's; for a
# careful ladder on a noisy machine, run floor's modes interleaved by hand.
set -euo pipefail

packets=5000000 conc=50000 runs=3 workers=$(nproc) seed=1 tshark_prefix=500000 snaplen=0
skip_tshark=0 skip_ladder=0 rstscope_bin="" keep=0
extra=() targets_only=0 no_gen=0 rounds=5 cpu=$(($(nproc) - 1))

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
while getopts "c:r:w:s:S:t:TLb:kf:XGn:p:h" opt; do
	case $opt in
	c) conc=$OPTARG ;;
	r) runs=$OPTARG ;;
	w) workers=$OPTARG ;;
	s) seed=$OPTARG ;;
	S) snaplen=$OPTARG ;;
	t) tshark_prefix=$OPTARG ;;
	T) skip_tshark=1 ;;
	L) skip_ladder=1 ;;
	b) rstscope_bin=$OPTARG ;;
	k) keep=1 ;;
	f) extra+=("$OPTARG") ;;
	X) targets_only=1 ;;
	G) no_gen=1 ;;
	n) rounds=$OPTARG ;;
	p) cpu=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# > 0)); then packets=$1; fi
for v in "$packets" "$conc" "$runs" "$workers" "$tshark_prefix" "$snaplen" "$rounds" "$cpu"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "compare.sh: not a number: $v" >&2; exit 2; }
done
((runs >= 1)) || { echo "compare.sh: -r must be at least 1" >&2; exit 2; }

if [[ ! -x /usr/bin/time ]]; then
	echo "compare.sh: /usr/bin/time is missing: apt-get install -y time" >&2
	exit 1
fi
for f in "${extra[@]}"; do
	[[ -r $f ]] || { echo "compare.sh: cannot read $f" >&2; exit 2; }
done
((no_gen && !targets_only)) && { echo "compare.sh: -G goes with -X" >&2; exit 2; }
((no_gen && ${#extra[@]} == 0)) && { echo "compare.sh: -G needs a -f file" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rstbench.XXXXXX")
cleanup() {
	if ((keep)); then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

log() { echo "compare.sh: $*" >&2; }

# --- the capture ---------------------------------------------------------
file=$tmp/capture.pcap
if ((!no_gen)); then
	log "building rstgen"
	(cd "$repo" && go build -o "$tmp/rstgen" ./cmd/rstgen)
	log "generating $packets packets, concurrency $conc, seed $seed, snaplen $snaplen"
	"$tmp/rstgen" -packets "$packets" -concurrency "$conc" -seed "$seed" -snaplen "$snaplen" -o "$file"
	size=$(stat -c %s "$file")
fi

# --- rstscope --------------------------------------------------------------
rstscope_note=""
if [[ -z $rstscope_bin ]]; then
	if (cd "$repo" && go build -o "$tmp/rstscope" ./cmd/rstscope) 2>"$tmp/build.log"; then
		rstscope_bin=$tmp/rstscope
	else
		rstscope_note="rstscope does not build yet ($(head -1 "$tmp/build.log"))"
	fi
fi
have_read=0 have_workers=0
if [[ -n $rstscope_bin ]]; then
	help=$("$rstscope_bin" read --help 2>&1 || true)
	if grep -q -- "--format" <<<"$help"; then have_read=1; fi
	if grep -q -- "--workers" <<<"$help"; then have_workers=1; fi
	((have_read)) || rstscope_note="rstscope has no 'read --format'"
	((have_read && !have_workers)) && rstscope_note="rstscope read has no --workers flag"
fi

if ((targets_only)); then
	((have_read && have_workers)) || { echo "compare.sh: ${rstscope_note:-rstscope lacks --workers}" >&2; exit 1; }
	log "building floor"
	(cd "$repo" && go build -o "$tmp/floor" ./internal/bench/floor)
	files=("${extra[@]}")
	((no_gen)) || files=("$file" "${extra[@]}")
	# shellcheck source=internal/bench/targets.sh
	source "$(dirname "$0")/targets.sh"
	for f in "${files[@]}"; do
		targets "$f"
	done
	exit 0
fi

# --- measuring -----------------------------------------------------------
# measure NAME CMD...: run CMD $runs times under /usr/bin/time -v (stdout to
# /dev/null; peak RSS from time -v, wall time from $EPOCHREALTIME) and record the medians as "wall rss_kib" in $tmp/NAME.res, or
# "fail RC" if it failed.
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
measure() {
	local name=$1
	shift
	local walls=() rsss=() i rc t0 t1
	for ((i = 1; i <= runs; i++)); do
		rc=0
		t0=$EPOCHREALTIME
		/usr/bin/time -v -o "$tmp/time.txt" "$@" >/dev/null 2>"$tmp/err.txt" || rc=$?
		t1=$EPOCHREALTIME
		if ((rc != 0)); then
			log "$name failed (exit $rc): $(tail -1 "$tmp/err.txt")"
			echo "fail $rc" >"$tmp/$name.res"
			return
		fi
		# Wall time from bash's microsecond clock (time -v rounds to 10 ms).
		walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')")
		rsss+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt")")
	done
	echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${rsss[@]}" | median)" >"$tmp/$name.res"
}

log "warming the page cache"
cat "$file" >/dev/null
measure cat cat "$file"

if ((have_read && have_workers)); then
	log "rstscope, 1 worker"
	measure rs1 "$rstscope_bin" read --format json --workers 1 "$file"
	log "rstscope, $workers workers"
	measure rsN "$rstscope_bin" read --format json --workers "$workers" "$file"
elif ((have_read)); then
	log "rstscope (default workers)"
	measure rsD "$rstscope_bin" read --format json "$file"
fi

if command -v tcpdump >/dev/null; then
	log "tcpdump"
	if tcpdump --help 2>&1 | grep -q -- --count; then
		measure tcpdump tcpdump -nr "$file" --count
	else
		measure tcpdump tcpdump -nr "$file" -w /dev/null
	fi
fi

tshark_packets=$packets
if ((!skip_tshark)) && command -v tshark >/dev/null; then
	tfile=$file
	if ((tshark_prefix > 0 && tshark_prefix < packets)); then
		if command -v editcap >/dev/null; then
			tfile=$tmp/prefix.pcap
			editcap -r "$file" "$tfile" "1-$tshark_prefix"
			tshark_packets=$tshark_prefix
		else
			log "editcap missing: tshark runs on the whole file"
		fi
	fi
	log "tshark on $tshark_packets packets"
	cat "$tfile" >/dev/null
	measure tshark tshark -n -r "$tfile" -Y "tcp.flags.reset==1"
fi

# --- the reference ladder ------------------------------------------------
ladder=(read decode map lean newpacket)
if ((!skip_ladder)); then
	log "building floor"
	if (cd "$repo" && go build -o "$tmp/floor" ./internal/bench/floor) 2>"$tmp/build.log"; then
		cat "$file" >/dev/null
		for m in "${ladder[@]}"; do
			log "floor -mode $m"
			measure "floor-$m" "$tmp/floor" -mode "$m" "$file"
		done
	else
		log "floor does not build: $(head -1 "$tmp/build.log")"
	fi
fi

# --- the table -----------------------------------------------------------
ref=""
for r in rsN rs1 rsD; do
	if [[ -f $tmp/$r.res ]] && [[ $(cut -d' ' -f1 "$tmp/$r.res") != fail ]]; then ref=$r; break; fi
done

# The lean record's median wall time, when the ladder ran: the last column.
leanwall=""
if ((!skip_ladder)) && [[ -f $tmp/floor-lean.res ]] && [[ $(cut -d' ' -f1 "$tmp/floor-lean.res") != fail ]]; then
	leanwall=$(cut -d' ' -f1 "$tmp/floor-lean.res")
fi
# na: the empty cells of a row without a result.
na="n/a | n/a | n/a"
((skip_ladder)) || na="$na | n/a"

# row LABEL NAME PACKETS: one table line; a tool measured on a prefix is
# scaled to the whole file (wall time) and says so.
row() {
	local label=$1 name=$2 n=$3 res
	if [[ ! -f $tmp/$name.res ]]; then
		echo "| $label | n/a | $na |"
		return
	fi
	res=$(cat "$tmp/$name.res")
	if [[ $res == fail* ]]; then
		echo "| $label | failed (exit ${res#fail }) | $na |"
		return
	fi
	local refwall=""
	[[ -n $ref ]] && refwall=$(cut -d' ' -f1 "$tmp/$ref.res")
	awk -v label="$label" -v res="$res" -v n="$n" -v total="$packets" -v refwall="$refwall" -v leanwall="$leanwall" -v ladder="$((!skip_ladder))" -v isref="$([[ $name == "$ref" ]] && echo 1 || echo 0)" -v iscat="$([[ $name == cat ]] && echo 1 || echo 0)" 'BEGIN {
		split(res, r, " "); wall = r[1]; rss = r[2] / 1024
		scaled = wall * total / n
		w = sprintf("%.2f s", scaled)
		if (n != total) w = w sprintf(" (est. from %.2f s on %d)", wall, n)
		pps = (wall > 0) ? sprintf("%.2f M", n / wall / 1e6) : "n/a"
		if (iscat) pps = "—"
		mem = (rss >= 1024) ? sprintf("%.2f GiB", rss / 1024) : sprintf("%.0f MiB", rss)
		if (refwall == "" ) ratio = "n/a"
		else if (isref) ratio = "1×"
		else if (refwall > 0) ratio = sprintf("%.1f×", scaled / refwall)
		else ratio = "n/a"
		lean = ""
		if (ladder) {
			if (leanwall == "" || leanwall <= 0) lean = " n/a |"
			else lean = sprintf(" %.2f× |", scaled / leanwall)
		}
		printf "| %s | %s | %s | %s | %s |%s\n", label, w, pps, mem, ratio, lean
	}'
}

refname="rstscope"
case $ref in
rsN) refname="rstscope ($workers workers)" ;;
rs1) refname="rstscope (1 worker)" ;;
rsD) refname="rstscope" ;;
esac

echo
snapdesc="whole frames"
((snaplen > 0)) && snapdesc="snaplen $snaplen"
echo "Capture: $packets packets, $(awk -v s="$size" -v n="$packets" 'BEGIN {printf "%.2f GiB, %.0f bytes per packet", s / 2^30, s / n}') ($snapdesc), concurrency $conc, seed $seed; medians of $runs runs on $(nproc) cores."
[[ -n $rstscope_note ]] && echo "Note: $rstscope_note."
echo
if ((skip_ladder)); then
	echo "| what | wall time | packets/s | peak RSS | speed of $refname vs this |"
	echo "|---|---|---|---|---|"
else
	echo "| what | wall time | packets/s | peak RSS | speed of $refname vs this | wall time vs the lean record |"
	echo "|---|---|---|---|---|---|"
fi
row "\`cat file > /dev/null\` (page cache)" cat "$packets"
row "\`rstscope read --format json --workers 1\`" rs1 "$packets"
row "\`rstscope read --format json --workers $workers\`" rsN "$packets"
if [[ -f $tmp/rsD.res ]]; then
	row "\`rstscope read --format json\` (no --workers flag)" rsD "$packets"
fi
row "\`tcpdump -nr file --count\`" tcpdump "$packets"
if ((skip_tshark)); then
	echo "| \`tshark -Y tcp.flags.reset==1\` | skipped | | | |$( ((skip_ladder)) || echo " |")"
else
	row "\`tshark -r file -Y tcp.flags.reset==1\`" tshark "$tshark_packets"
fi
if ((!skip_ladder)); then
	row "floor read: pcapgo read loop, no decoding" floor-read "$packets"
	row "floor decode: + DecodingLayerParser (eth/VLAN/IP/TCP)" floor-decode "$packets"
	row "floor map: + a map of 5-tuples" floor-map "$packets"
	row "floor lean: + a lean per-connection record" floor-lean "$packets"
	row "floor newpacket: the map of 5-tuples with gopacket.NewPacket" floor-newpacket "$packets"
	echo
	if [[ -z $leanwall ]]; then
		echo "The lean record (floor -mode lean) did not run: no ratio to it."
	else
		for r in rs1 rsN rsD; do
			[[ -f $tmp/$r.res ]] || continue
			res=$(cat "$tmp/$r.res")
			[[ $res == fail* ]] && continue
			case $r in
			rs1) what="\`rstscope read --format json --workers 1\`" ;;
			rsN) what="\`rstscope read --format json --workers $workers\`" ;;
			rsD) what="\`rstscope read --format json\`" ;;
			esac
			awk -v what="$what" -v wall="${res%% *}" -v lean="$leanwall" -v one="$([[ $r == rs1 ]] && echo 1 || echo 0)" 'BEGIN {
				printf "%s takes %.2f× the lean record'\''s wall time", what, wall / lean
				if (one) printf " (the one-core target: at most 1.5×; %s)", (wall / lean <= 1.5) ? "met" : "not met"
				printf ".\n"
			}'
		done
	fi
fi

# --- the targets ---------------------------------------------------------
if ((${#extra[@]} > 0)) || ((rounds > 0)); then
	[[ -x $tmp/floor ]] || (cd "$repo" && go build -o "$tmp/floor" ./internal/bench/floor)
	# shellcheck source=internal/bench/targets.sh
	source "$(dirname "$0")/targets.sh"
	for f in "$file" "${extra[@]}"; do
		targets "$f"
	done
fi
