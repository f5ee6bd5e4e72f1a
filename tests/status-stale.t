#!/bin/bash
# A live tunnel that does not rewrite its state file is shown stale, not
# up: frozen (SIGSTOP), or unable to write the file.  An idle tunnel that
# is well rewrites it within its interval (a heartbeat), so it is never
# stale for being idle; once it writes again it is up again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

# status_of SITE: the state opt-status -H shows.
status_of() { opt-status -H "$1" | cut -f2; }
status_is() { [ "$(status_of "$2")" = "$1" ]; }

need_sshd
# keepalives far apart: an idle tunnel moves no bytes for a while
lp_site keepalive_interval=30
opt-tunnel start -q nautilus
wait_for 10 state_is up
ok $? "the tunnel is up"
is "$(st interval)" 2 "the state file says its write interval: 2 s"

# Idle: no job, no change, no byte moving (the rates of the session's
# start have decayed after 8 s), and the file is rewritten all the same.
sleep 8
run opt-status -H nautilus
is "$(printf '%s' "$out" | cut -f2)" up "idle for more than three intervals: up, not stale"
u0=$(st updated)
wait_for 4 eval '[ "$(st updated)" -gt "$u0" ]'
ok $? "an idle tunnel rewrites its state within its interval"

# Frozen: the process lives, holds its lock, and writes nothing.
pid=$(st pid)
kill -STOP "$pid"
cleanup "kill -CONT $pid 2>/dev/null"
t0=$(ms_now)
wait_for 10 status_is stale nautilus
ok $? "a frozen tunnel is shown stale"
ms=$(($(ms_now) - t0))
[ "$ms" -le 9000 ]
ok $? "...within three intervals and the second the file counts in ($ms ms)"
run opt-status
like "$out" "nautilus +stale +$pid .*no state written for [0-9]+ s \(last: up\)" \
	"the table: stale, its pid, and why in LAST ERROR"
run opt-status --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
print(s["state"], s["pid"], s["age"] > 6, s["interval"], "no state written" in s["last_error"])')" \
	"stale $pid True 2 True" "--json: stale, with the pid, the age and the interval"
run opt-status --prometheus
like "$out" 'opt_tunnel_up\{site="nautilus"\} 0' "--prometheus: not up"
like "$out" 'opt_tunnel_state\{site="nautilus",state="stale"\} 1' "--prometheus: stale"
run opt-status --check --timeout 2
is "$rc" 2 "--check: a frozen tunnel is CRITICAL (2)"
like "$out" "^OPT CRITICAL - nautilus stale: no state written for [0-9]+ s \(last: up\) \|" \
	"...saying why"

kill -CONT "$pid"
wait_for 5 status_is up nautilus
ok $? "after SIGCONT it is up again"
run opt-status --check
is "$rc:${out%% - *}" "0:OPT OK" "--check: OK again"
head -c 300000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
wait_for 10 got_job "$T/lp" "$T/job"
ok $? "a job after SIGCONT arrives byte for byte"

# The file cannot be written: a directory stands where it goes.
rm -f "$MAST_RUN_DIR/nautilus.state"
mkdir "$MAST_RUN_DIR/nautilus.state"
wait_for 10 status_is stale nautilus
ok $? "a tunnel that cannot write its state is shown stale"
run opt-status -H nautilus
like "$(printf '%s' "$out" | cut -f12)" "^no state written for [0-9]+ s \(last: none\)$" "...saying why"
wait_for 5 logged "event=state-write-failed "
ok $? "the log says state-write-failed"
sleep 3
is "$(log | grep -c 'event=state-write-failed ')" 1 "...once, not at every heartbeat"
run opt-status --check --timeout 2
is "$rc" 2 "--check: CRITICAL"
rmdir "$MAST_RUN_DIR/nautilus.state"
wait_for 5 status_is up nautilus
ok $? "once it can write again, it is up"
wait_for 5 logged "event=state-write-recovered "
ok $? "...and the log says so"
is "$(st reconnects)" 0 "the session was never dropped"
done_testing
