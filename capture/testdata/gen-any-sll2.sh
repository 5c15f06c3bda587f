#!/bin/sh
# Regenerates any-sll2.pcap: real traffic captured by `tcpdump -i any`
# (LINKTYPE_LINUX_SLL2, 276) on the loopback of a private network namespace.
# Two TCP connections to a closed port, over 127.0.0.1 and ::1: each is a
# SYN answered by the kernel's RST+ACK. Needs root, iproute2, tcpdump, bash.
# Run from anywhere: sh capture/testdata/gen-any-sll2.sh
set -eu
out=$(cd "$(dirname "$0")" && pwd)/any-sll2.pcap
ns=rstscope-gen-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" tcpdump -i any -U -n -w "$out" tcp 2>/dev/null &
pid=$!
sleep 1
ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>/dev/null || true
ip netns exec "$ns" bash -c 'exec 3<>/dev/tcp/::1/9' 2>/dev/null || true
sleep 1
kill -TERM "$pid"
wait "$pid" || true
