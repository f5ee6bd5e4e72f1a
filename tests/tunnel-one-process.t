#!/bin/bash
# A site has one tunnel process: two starts at once give one process,
# and a stale pidfile (its process gone) never blocks a start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 20))
need_sshd
lp_site
mkdir -p "$MAST_RUN_DIR"
echo 999999 >"$MAST_RUN_DIR/nautilus.pid"

opt-tunnel start nautilus >"$T/s1" 2>&1 &
a=$!
opt-tunnel start nautilus >"$T/s2" 2>&1 &
b=$!
wait $a
ra=$?
wait $b
rb=$?
is "$ra:$rb" "0:0" "two starts at once both exit 0"
like "$(cat "$T/s1" "$T/s2")" "nautilus: up \(pid [0-9]+" "one of them started it"
pid=$(cat "$MAST_RUN_DIR/nautilus.pid")
# Every tunnel process logs event=start first.
is "$(grep -c 'event=start ' "$MAST_LOG_DIR/nautilus.log")" 1 "exactly one tunnel process ran, despite the stale pidfile"
ps -o args= -p "$pid" | grep -q '^opt-tunnel: nautilus'
ok $? "the pidfile names it"
done_testing
