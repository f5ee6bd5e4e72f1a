#!/bin/bash
# `opt-tunnel stop` during a job: the tunnel stops accepting (new jobs
# are refused), lets the running job finish (it arrives intact and ends
# cleanly), then exits; stop waits for that and says "SITE: stopped";
# no process, pidfile or state file is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

need_sshd
lp_site bind=127.0.0.1 --read-delay 20 --reply "@PJL EOJ"

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
pid=$(st pid)
[ -n "$pid" ] && alive "$pid"
ok $? "the tunnel runs (pid $pid)"

# 6 MiB to a printer that reads 64 KiB every 20 ms: 2 s at least.
head -c 6291456 /dev/urandom >"$T/job"
send-job "$port" "$T/job" >"$T/job.reply" 2>"$T/job.err" &
job=$!
cleanup "kill $job 2>/dev/null"
wait_for 10 test -s "$T/lp/job-1.part"
ok $? "the job is running"

t0=$(ms_now)
opt-tunnel stop nautilus >"$T/stop.out" 2>"$T/stop.err" &
stopper=$!
cleanup "kill $stopper 2>/dev/null"
wait_for 5 logged "event=draining"
ok $? "the log has event=draining"
wait_for 5 state_is draining
ok $? "the state is draining"
run send-job "$port" "$T/job"
is "$rc" 2 "a new job is refused while draining (send-job exit 2)"
kill -0 "$job" 2>/dev/null
ok $? "the running job goes on"

wait "$stopper"
stop_rc=$?
stop_ms=$(($(ms_now) - t0))
is "$stop_rc" 0 "stop exits 0"
is "$(cat "$T/stop.out")" "nautilus: stopped" "stop says 'nautilus: stopped'"
is "$(cat "$T/stop.err")" "" "...and nothing on stderr"
[ "$stop_ms" -lt 30000 ]
ok $? "stop returned once the job was done ($stop_ms ms)"

wait "$job"
is "$?" 0 "the job ends cleanly (send-job exit 0)"
is "$(cat "$T/job.reply")" "@PJL EOJ" "the printer's reply reached the client"
wait_for 5 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1" 2>/dev/null)" "$(sha "$T/job")" "the printer got the job byte for byte"
like "$(log)" "event=job-done channel=1 peer=127\.0\.0\.1:[0-9]+ bytes_up=6291456 bytes_down=8 " "the log has the job done"
! logged "event=(job-cut|job-failed) "
ok $? "no job was cut or failed"
like "$(log | tail -1)" "event=exit " "the log ends with event=exit"

! alive "$pid"
ok $? "the tunnel process is gone"
is "$(tunnel_pids)" "" "no opt-tunnel process of this test is left"
[ ! -e "$MAST_RUN_DIR/nautilus.pid" ]
ok $? "no pidfile"
[ ! -e "$MAST_RUN_DIR/nautilus.state" ]
ok $? "no state file"
run send-job "$port" "$T/job"
is "$rc" 2 "the port refuses"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: not running" "a second stop says not running"
done_testing
