#!/bin/bash
# A printer that cannot be reached from the site fails that job only:
# the client gets a reset within seconds (never a clean end, so the
# spooler retries instead of believing the job printed), the log says
# job-failed, and a job on another channel of the same tunnel passes
# meanwhile.  A printer that closes before the end of the job also gives
# the client a reset.  The session is never dropped for this.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((28000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))

st_like() { st "$1" | grep -Eq -- "$2"; }

need_sshd
start_printer lp
lp_port=$PRINTER_PORT
start_printer early --close-after 65536
early_port=$PRINTER_PORT
dead_port=$(free_port) # nothing listens there: the printer is off
add_test_site nautilus bind=127.0.0.1
down=$(opt-channel add -q nautilus "127.0.0.1:$dead_port")
good=$(opt-channel add -q nautilus "127.0.0.1:$lp_port")
cut=$(opt-channel add -q nautilus "127.0.0.1:$early_port")
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"

# A job on the down printer and one on the good printer, at once.
head -c 1048576 /dev/urandom >"$T/job-down"
head -c 4194304 /dev/urandom >"$T/job-good"
t0=$(ms_now)
(
	send-job "$down" "$T/job-down" >/dev/null 2>"$T/down.err"
	echo "$? $(($(ms_now) - t0))" >"$T/down.rc"
) &
d=$!
send-job "$good" "$T/job-good" >/dev/null 2>"$T/good.err" &
g=$!
cleanup "kill $d $g 2>/dev/null"
wait "$d"
read -r down_rc down_ms <"$T/down.rc"
is "$down_rc" 3 "the job to the unreachable printer gets a reset (send-job exit 3), not a clean end"
[ "$down_ms" -lt 5000 ]
ok $? "...within a few seconds ($down_ms ms)"
wait "$g"
is "$?" 0 "the job on the other channel ends cleanly meanwhile"
wait_for 10 got_job "$T/lp" "$T/job-good"
ok $? "...and its printer got it byte for byte"
wait_for 5 grep -q "event=job-failed channel=1 " "$MAST_LOG_DIR/nautilus.log"
ok $? "the log has event=job-failed for channel 1"
line=$(log | grep "event=job-failed channel=1 " | head -1)
like "$line" "level=warn " "...as a warning"
like "$line" "peer=127\.0\.0\.1:[0-9]+ bytes_up=0 " "...with nothing delivered"
like "$line" " error=.*127\.0\.0\.1:$dead_port" "...and an error naming the printer"
like "$(log)" "event=job-done channel=2 peer=127\.0\.0\.1:[0-9]+ bytes_up=4194304 " "the log has the other job done"
! log | grep -q "event=job-done channel=1 "
ok $? "no job-done for channel 1"
wait_for 5 st_like channel.1.last_error "127\.0\.0\.1:$dead_port" # written within a second
like "$(st channel.1.last_error)" "127\.0\.0\.1:$dead_port" "channel.1.last_error names the printer"
is "$(st state):$(st reconnects)" "up:0" "the session stayed up (state=up, reconnects=0)"

# A small job, all sent before the failure is known, is reset too.
printf 'small job\f' >"$T/small"
run send-job "$down" "$T/small"
is "$rc" 3 "a small job to the unreachable printer gets a reset too"

# A printer that closes before the end of the job, while the client is
# still sending (32 MiB cannot hide in socket buffers; a job that fits
# in them entirely cannot be told from a complete one: sshd turns the
# printer's reset into a plain end of file, as it does for ssh -L).
head -c 33554432 /dev/urandom >"$T/job-cut"
t0=$(ms_now)
run send-job "$cut" "$T/job-cut"
is "$rc" 3 "a printer closing early gives the client a reset (send-job exit 3), not a clean end"
[ $(($(ms_now) - t0)) -lt 10000 ]
ok $? "...promptly"
wait_for 5 grep -q "event=job-failed channel=3 " "$MAST_LOG_DIR/nautilus.log"
ok $? "the log has event=job-failed for channel 3"
! log | grep -q "event=job-done channel=3 "
ok $? "no job-done for channel 3"
wait_for 5 test -f "$T/early/job-1.cut"
ok $? "the printer did close that job early"

# The tunnel is fine after all that.
head -c 500000 /dev/urandom >"$T/job-after"
run send-job "$good" "$T/job-after"
is "$rc" 0 "a later job on the good printer ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job-after"
ok $? "...byte for byte"
is "$(st state):$(st reconnects)" "up:0" "the session was never dropped"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
