#!/bin/bash
# opt-tunnel stop with a job longer than the drain time (30 s): the job
# is cut when the time is up, its client sees a failure (a reset, so the
# spooler sends it again), and the log says job-cut.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 8000)) PORT_HI=$((PORT_LO + 20))
need_sshd
lp_site
opt-throttle set -q nautilus --up 64K >/dev/null
opt-tunnel start -q nautilus

head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/long" # 64 s at 64 KiB/s
send-job "$port" "$T/long" >/dev/null 2>&1 &
job=$!
wait_for 10 grep -q "event=job-start" "$MAST_LOG_DIR/nautilus.log"
start=$(date +%s)
run opt-tunnel stop nautilus
took=$(( $(date +%s) - start ))
is "$rc:$out" "0:nautilus: stopped" "stop returns"
[ "$took" -ge 29 ] && [ "$took" -le 40 ]
ok $? "after the 30 s drain (took $took s)"
wait "$job"
is "$?" 3 "the cut job's client sees a reset, not a clean end"
like "$(cat "$MAST_LOG_DIR/nautilus.log")" "event=job-cut channel=1 .*error=\"cut: still running when the drain time ended\"" "the log says the job was cut"
# The printer only sees its connection end (as with ssh -L); what counts
# is that the client knows, and sends the job again.
size=$(cat "$T"/lp/job-1* 2>/dev/null | wc -c)
[ "$size" -lt $((4 * 1024 * 1024)) ]
ok $? "the printer got only part of it ($size bytes)"
done_testing
