#!/bin/bash
# sshd's session process killed (kill -9) in the middle of a job: the
# tunnel survives and reconnects, the next job passes, and the client of
# the interrupted job sees its connection fail, never a clean end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 20))
need_sshd
lp_site --read-delay 20
opt-tunnel start -q nautilus
tunnel=$(cat "$MAST_RUN_DIR/nautilus.pid")

head -c $((8 * 1024 * 1024)) /dev/urandom >"$T/big"
send-job "$port" "$T/big" >/dev/null 2>"$T/big.err" &
job=$!
wait_for 10 grep -q "event=job-start" "$MAST_LOG_DIR/nautilus.log"
sleep 0.5
# The session's processes: the listener's child and what it forked
# (OpenSSH 10 forwards in a grandchild, sshd-session as the user).
session=$(pgrep -P "$SSHD_PID" | head -1)
# shellcheck disable=SC2046 # one word per pid
[ -n "$session" ] && kill -9 $(family "$session")
ok $? "sshd's session process is killed mid-job"
wait "$job"
is "$?" 3 "the interrupted job's client sees a failure (reset), not a clean end"
size=$(cat "$T"/lp/job-1* 2>/dev/null | wc -c)
[ "$size" -lt $((8 * 1024 * 1024)) ]
ok $? "the printer got only part of it ($size bytes): the client must resend"
kill -0 "$tunnel"
ok $? "the tunnel process survives"
wait_for 20 grep -q "^reconnects=[1-9]" "$MAST_RUN_DIR/nautilus.state"
wait_for 20 grep -q "^state=up" "$MAST_RUN_DIR/nautilus.state"
ok $? "it reconnects by itself"
head -c 300000 /dev/urandom >"$T/next"
run send-job "$port" "$T/next"
wait_for 10 test -f "$T/lp/job-2"
is "$rc:$(sha "$T/lp/job-2" 2>/dev/null)" "0:$(sha "$T/next")" "the next job passes"
like "$(cat "$MAST_LOG_DIR/nautilus.log")" "event=job-failed channel=1 .*session lost" "the log says the job failed with the session"
done_testing
