#!/bin/bash
# `allow`: a client outside the site's allow list is turned away (no
# byte reaches the printer, never a clean end) and logged as
# event=refused reason=not-allowed; a list that holds it lets it
# through; both take effect on reload.  SIGUSR1 probes every idle
# channel: the state file's probes counter grows and each channel's
# probe says ok (printer reachable from the site) or failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

count() { log | grep -c -- "$1"; }
count_gt() { [ "$(count "$1")" -gt "$2" ]; }
probes_gt() { [ "$(st probes)" -gt "$1" ]; }

need_sshd
start_printer lp
lp_port=$PRINTER_PORT
dead_port=$(free_port) # nothing listens there: the printer is off
add_test_site nautilus bind=127.0.0.1
port=$(opt-channel add -q nautilus "127.0.0.1:$lp_port")
dport=$(opt-channel add -q nautilus "127.0.0.1:$dead_port")
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
pid=$(st pid)

# allow = 10.0.0.0/8: 127.0.0.1 is outside.
n=$(count 'event=reloaded ')
opt-site set -q nautilus allow=10.0.0.0/8
run opt-tunnel reload nautilus
is "$rc" 0 "reload exits 0"
wait_for 10 count_gt 'event=reloaded ' "$n"
ok $? "the tunnel reloaded"
head -c 200000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
[ "$rc" != 0 ]
ok $? "a client outside allow does not get a clean end (send-job exit $rc)"
wait_for 5 grep -q 'event=refused ' "$MAST_LOG_DIR/nautilus.log"
like "$(log | grep 'event=refused ' | head -1)" "level=warn site=nautilus event=refused channel=1 peer=127\.0\.0\.1:[0-9]+ reason=not-allowed" \
	"the log has event=refused with the peer and reason=not-allowed"
sleep 0.5
is "$(njobs "$T/lp")" 0 "nothing reached the printer"
! grep -q 'event=job-start' "$MAST_LOG_DIR/nautilus.log"
ok $? "no job was started"
is "$(st jobs)" 0 "the jobs counter did not move"

# allow = 127.0.0.0/8: it gets through.
n=$(count 'event=reloaded ')
opt-site set -q nautilus allow=127.0.0.0/8
run opt-tunnel reload nautilus
wait_for 10 count_gt 'event=reloaded ' "$n"
ok $? "the tunnel reloaded again"
run send-job "$port" "$T/job"
is "$rc" 0 "a client inside allow gets its job through"
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1" 2>/dev/null)" "$(sha "$T/job")" "the printer got it byte for byte"
is "$(count 'event=refused ')" 1 "no new refusal"
is "$(st reconnects):$(st pid)" "0:$pid" "the session stayed (reconnects=0, same pid)"
is "$(count 'event=reloaded .*reconnect=yes')" 0 "an allow change does not reconnect"

# Probes: channel 1's printer is up, channel 2's is off.
is "$(st probes)" 0 "probes=0 before any SIGUSR1"
is "$(st channel.1.probe):$(st channel.2.probe)" "unknown:unknown" "the probes are unknown at first"
kill -USR1 "$pid"
wait_for 10 probes_gt 0
ok $? "after SIGUSR1 the probes counter grows"
is "$(st probes)" 1 "probes=1"
is "$(st channel.1.probe)" ok "channel.1.probe=ok (live printer)"
is "$(st channel.2.probe)" failed "channel.2.probe=failed (printer down)"
[ "$(st channel.1.probe_at)" -gt 0 ] && [ "$(st channel.2.probe_at)" -gt 0 ]
ok $? "both have a probe time"
like "$(st channel.2.last_error)" "127\.0\.0\.1:$dead_port" "channel.2.last_error names the printer"
like "$(log)" "event=probed " "the log has event=probed"
is "$(st state):$(st reconnects)" "up:0" "a failed probe does not touch the session"

# The printer of channel 2 comes up: the next probe says ok.
start_printer lp2 -p "$dead_port"
kill -USR1 "$pid"
wait_for 10 probes_gt 1
ok $? "a second SIGUSR1 grows the counter again"
is "$(st probes)" 2 "probes=2"
is "$(st channel.1.probe):$(st channel.2.probe)" "ok:ok" "now both probes are ok"

# A channel with a job running is reachable by definition: no probe is
# opened to its printer (which here stalls on the job).
start_printer stall --stall
sp=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
n=$(count 'event=reloaded ')
opt-tunnel reload nautilus
wait_for 10 count_gt 'event=reloaded ' "$n"
ok $? "channel 3 (a stalling printer) is added"
head -c 4194304 /dev/urandom >"$T/stalled"
send-job "$sp" "$T/stalled" >/dev/null 2>&1 &
stalled=$!
cleanup "kill $stalled 2>/dev/null"
wait_for 10 test -e "$T/stall/job-1.part"
ok $? "a job is running on channel 3"
kill -USR1 "$pid"
wait_for 10 probes_gt 2
is "$(st probes)" 3 "probes=3"
is "$(st channel.3.probe)" ok "channel.3.probe=ok: its job proves the printer is reachable"
sleep 0.3
is "$(njobs "$T/stall")" 1 "no probe connection was opened to its printer"
kill "$PRINTER_PID_stall" "$stalled" 2>/dev/null # or stop would drain it
wait "$stalled" 2>/dev/null

# A probe is not a job.
wait_for 5 st_is jobs 2 # written within a second
is "$(st jobs)" 2 "the jobs counter counts only the real jobs"
is "$(count 'event=job-start')" 2 "the log has only the real jobs"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
