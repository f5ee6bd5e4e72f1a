#!/bin/bash
# The wire bytes of a job are its own (issue 11, defect 10).  8 jobs of
# 16 MiB of random bytes run at once, 4 on each of 2 channels, through a
# compressed session.  Each `event=job-done` line's wire_up must count
# the SSH packets of that job's own channel: random bytes do not
# compress, so about its bytes_up (0.9 to 1.25 times), and the jobs'
# wire_up figures add up to at most the session's wire_up in the state
# file, and to at least 90% of it (the rest is handshake and
# keepalives).  The old tunnel logged the session's wire bytes during
# the job's lifetime, the other jobs' included: about 6 to 7 times bytes_up
# each, their sum far more than the session sent.  Every job arrives
# byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))
SIZE=16777216
NJOBS=8

jobs_logged() { [ "$(log | grep -c 'event=job-done ')" -ge "$1" ]; }

need_sshd
start_printer lp
add_test_site nautilus bind=127.0.0.1 compression=true
ch[1]=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
ch[2]=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
like "$out" "compression zlib@openssh.com" "the session is compressed"

pids=
for i in $(seq 1 "$NJOBS"); do
	head -c "$SIZE" /dev/urandom >"$T/job$i"
	c=$((1 + i % 2))
	send-job "${ch[c]}" "$T/job$i" >/dev/null 2>"$T/job$i.err" &
	pids="$pids $!"
done
cleanup "kill $pids 2>/dev/null"
wait_all $pids
is "$failed" 0 "$NJOBS parallel jobs of 16 MiB end cleanly"
wait_for 30 njobs_done "$T/lp" "$NJOBS"
want=$(for i in $(seq 1 "$NJOBS"); do sha "$T/job$i"; done | sort)
is "$(shas "$T/lp")" "$want" "the printer got all $NJOBS jobs byte for byte"
wait_for 10 jobs_logged "$NJOBS"
ok $? "the log has $NJOBS job-done lines"
# The state file, before the tunnel stops: written within a second of a
# change, so once payload_up has every job, one more write has their
# wire bytes too.
wait_for 10 st_is payload_up $((NJOBS * SIZE))
ok $? "the state file's payload_up has every job's bytes"
sleep 1.5
state_wire=$(st wire_up)
[ -n "$state_wire" ] && [ "$state_wire" -gt 0 ]
ok $? "the state file has the session's wire_up ($state_wire)"
is "$(st reconnects)" 0 "the session was never dropped"

# job-done lines: bytes_up and wire_up of each job.
log | grep 'event=job-done ' | awk '{
	b = w = ""
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^bytes_up=[0-9]+$/) b = substr($i, 10)
		if ($i ~ /^wire_up=[0-9]+$/) w = substr($i, 9)
	}
	if (b != "" && w != "") print b, w
}' >"$T/wire"
is "$(grep -c '' "$T/wire")" "$NJOBS" "each job-done line has bytes_up and wire_up"
is "$(awk -v s="$SIZE" '$1 != s' "$T/wire" | grep -c '')" 0 "each job's bytes_up is 16 MiB"
ratios=$(awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $2 / $1 }' "$T/wire")
bad=$(awk '$2 < 0.9 * $1 || $2 > 1.25 * $1 { printf " %d(%.2fx)", NR, $2 / $1 }' "$T/wire")
is "$bad" "" "each job's wire_up is 0.9 to 1.25 times its bytes_up (ratios: $ratios)"
sum=$(awk '{ s += $2 } END { printf "%d", s }' "$T/wire")
[ -n "$state_wire" ] && [ "$sum" -le "$state_wire" ]
ok $? "the jobs' wire_up add up to at most the session's ($sum <= $state_wire)"
[ -n "$state_wire" ] && [ "$((sum * 10))" -ge "$((state_wire * 9))" ]
ok $? "...and to at least 90% of it ($sum >= 0.9 x $state_wire)"
diag "per-job wire_up / bytes_up: $ratios" \
	"sum of jobs' wire_up $sum, session wire_up $state_wire ($(awk -v a="$sum" -v b="$state_wire" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x)"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
