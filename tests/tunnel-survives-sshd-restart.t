#!/bin/bash
# The site's sshd dies (listener and session killed, as in a crash or a
# reboot of the site's box) and comes back on the same port: the job
# running at that moment gets a reset (never a clean end), the tunnel
# goes to `retrying`, logs each retry with its delay, refuses jobs while
# down, comes back up by itself, and the next job passes byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))

retries() { [ "$(log | grep -c 'event=retry ')" -ge "$1" ]; }

need_sshd
start_printer lp
lp_port=$PRINTER_PORT
start_printer slow --read-delay 50
slow_port=$PRINTER_PORT
add_test_site nautilus bind=127.0.0.1
port=$(opt-channel add -q nautilus "127.0.0.1:$lp_port")
sport=$(opt-channel add -q nautilus "127.0.0.1:$slow_port")
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
head -c 1000000 /dev/urandom >"$T/job1"
run send-job "$port" "$T/job1"
is "$rc" 0 "a first job ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job1"
ok $? "the printer got it byte for byte"
is "$(st reconnects)" 0 "reconnects=0 before the crash"

# A slow job is running when sshd dies.
long_job slow "$sport" "$T/big" 8388608
ok $? "the slow job is running"
crash_sshd
wait_for 10 state_is retrying
ok $? "the tunnel goes to state retrying"
like "$(st last_error)" "." "last_error says why: $(st last_error)"
wait "$job"
is "$?" 3 "the job cut by the crash gets a reset (send-job exit 3), not a clean end"
like "$(log)" "event=job-failed channel=2 " "the log has that job as failed"
like "$(log)" "level=warn site=nautilus event=down reason=" "the log has event=down"
like "$(log)" "event=retry delay_ms=[0-9]+ " "the log has event=retry with delay_ms"

# Down: the channel ports refuse, as ssh -L does.
run send-job "$port" "$T/job1"
is "$rc" 2 "while the site is down a job is refused (send-job exit 2)"

# Nothing listens for a while: the retries back off.
wait_for 10 retries 3
ok $? "it keeps retrying while sshd is down"
delays=$(log | sed -n 's/.* event=retry delay_ms=\([0-9]*\) .*/\1/p' | head -3 | tr '\n' ' ')
set -- $delays
[ "${1:-0}" -ge 800 ] && [ "${1:-0}" -le 1200 ] && [ "${2:-0}" -gt "${1:-0}" ] &&
	[ "${3:-0}" -gt "${2:-0}" ]
ok $? "the retry delays grow from about 1 s ($delays ms)"
like "$(log)" "event=connect-failed reason=" "each failed attempt is logged"
state_is retrying
ok $? "still retrying while sshd is down"

# sshd comes back on the same port with the same host key.
before=$(st reconnects)
start_sshd
ok $? "sshd restarts on port $SSHD_PORT"
wait_for 20 state_is up
ok $? "the tunnel comes back up by itself"
is "$(log | grep -c 'event=up ')" 2 "the log has a second event=up"
[ "$(st reconnects)" -ge 1 ] && [ "$(st reconnects)" -ge "$before" ]
ok $? "reconnects grew (now $(st reconnects))"
is "$(st last_error)" "" "last_error is cleared once up"

head -c 2000000 /dev/urandom >"$T/job2"
run send-job "$port" "$T/job2"
is "$rc" 0 "the next job ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job2"
ok $? "the printer got it byte for byte"
head -c 300000 /dev/urandom >"$T/job3"
run send-job "$sport" "$T/job3"
is "$rc" 0 "a job on the other channel ends cleanly too"
wait_for 10 got_job "$T/slow" "$T/job3"
ok $? "that printer got it byte for byte"
like "$(log)" "event=job-done channel=1 peer=127.0.0.1:[0-9]+ bytes_up=2000000 " "the log has the job after the restart"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
[ ! -e "$MAST_RUN_DIR/nautilus.pid" ]
ok $? "the pidfile is gone"
done_testing
