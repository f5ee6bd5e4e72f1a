#!/bin/bash
# A SIGHUP storm (40 reloads in 2 s) during a 64 MiB job, with config
# edits racing it: the job arrives intact, the tunnel never reads a torn
# file, and no edit is lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 8000)) PORT_HI=$((PORT_LO + 60))
need_sshd
lp_site
opt-tunnel start -q nautilus
pid=$(cat "$MAST_RUN_DIR/nautilus.pid")

head -c $((64 * 1024 * 1024)) /dev/urandom >"$T/big"
send-job "$port" "$T/big" >/dev/null &
job=$!
wait_for 10 grep -q "event=job-start" "$MAST_LOG_DIR/nautilus.log"
# Edits from two writers at once, each signalling the tunnel, while a
# third sends SIGHUP 40 times in 2 s.
(for i in $(seq 10); do opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT" >/dev/null; done) &
w1=$!
(for i in $(seq 10); do opt-throttle set -q nautilus --up $((1000 + i))M >/dev/null; opt-throttle off -q nautilus >/dev/null; done) &
w2=$!
for i in $(seq 40); do kill -HUP "$pid"; sleep 0.05; done
wait $w1 $w2
wait "$job"
is "$?" 0 "the 64 MiB job ends cleanly"
wait_for 30 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/big")" "...and arrives intact"
is "$(grep -c 'event=reload-failed' "$MAST_LOG_DIR/nautilus.log")" 0 "no reload ever saw a torn or broken file"
[ "$(grep -c 'event=reloaded' "$MAST_LOG_DIR/nautilus.log")" -ge 20 ]
ok $? "the tunnel reloaded through the storm ($(grep -c 'event=reloaded' "$MAST_LOG_DIR/nautilus.log") times)"
is "$(opt-channel list nautilus -H | wc -l)" 11 "no edit is lost: 11 channels"
opt-tunnel reload nautilus
wait_for 5 test "$(sed -n 's/^channels=//p' "$MAST_RUN_DIR/nautilus.state")" = 11
ok $? "the tunnel serves all 11"
is "$(sed -n 's/^reconnects=//p' "$MAST_RUN_DIR/nautilus.state")" 0 "the session was never dropped"
done_testing
