#!/bin/bash
# `opt-tunnel reload` (SIGHUP) applies channel changes to a running
# tunnel without dropping its session or its running jobs: while a long
# job runs, a channel is added (its port accepts a job that arrives
# intact) and another removed (its port refuses); the long job arrives
# intact, also once its own channel is removed, and the session was never
# dropped (reconnects stays 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

reloads_gt() { [ "$(log | grep -c 'event=reloaded ')" -gt "$1" ]; }
reload_failed_gt() { [ "$(log | grep -c 'event=reload-failed ')" -gt "$1" ]; }

need_sshd
slow_lp_site
old=$(opt-channel add -q nautilus "127.0.0.1:$lp_port")

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
pid=$(st pid)
head -c 300000 /dev/urandom >"$T/job-old"
run send-job "$old" "$T/job-old"
is "$rc" 0 "channel 2 works before the changes"
wait_for 10 got_job "$T/lp" "$T/job-old"
ok $? "...byte for byte"

# The long job: 8 MiB to a printer that reads 64 KiB every 20 ms.
long_job slow "$long" "$T/long" 8388608
ok $? "the long job is running"

# Add a channel, reload.
new=$(opt-channel add -q nautilus "127.0.0.1:$lp_port")
[ -n "$new" ]
ok $? "a channel is added (port $new)"
run opt-tunnel reload nautilus
is "$rc" 0 "reload exits 0"
wait_for 10 logged "event=channel-added channel=3 listen=$new"
ok $? "the log has event=channel-added for channel 3"
wait_for 10 logged "event=reloaded .*reconnect=no"
ok $? "the log has event=reloaded reconnect=no"
wait_for 5 st_is channel.3.listen "$new"
ok $? "the state file has channel 3"
head -c 1000000 /dev/urandom >"$T/job-new"
run send-job "$new" "$T/job-new"
is "$rc" 0 "the new channel's port takes a job"
wait_for 10 got_job "$T/lp" "$T/job-new"
ok $? "...which arrives byte for byte"

# Remove channel 2, reload.
n=$(log | grep -c 'event=reloaded ')
opt-channel remove -q nautilus 2
run opt-tunnel reload nautilus
is "$rc" 0 "reload exits 0"
wait_for 10 logged "event=channel-removed channel=2"
ok $? "the log has event=channel-removed for channel 2"
wait_for 10 reloads_gt "$n"
ok $? "the log has another event=reloaded"
run send-job "$old" "$T/job-old"
is "$rc" 2 "the removed channel's port refuses (send-job exit 2)"
kill -0 "$job" 2>/dev/null && ! [ -f "$T/slow/job-1" ]
ok $? "the long job was still running through both reloads"

# Remove the long job's own channel: the job runs on to its end, new
# connections to that port are refused.
n=$(log | grep -c 'event=reloaded ')
opt-channel remove -q nautilus 1
run opt-tunnel reload nautilus
is "$rc" 0 "reload exits 0"
wait_for 10 reloads_gt "$n"
ok $? "the log has a third event=reloaded"
like "$(log)" "event=channel-removed channel=1" "the log has event=channel-removed for channel 1"
run send-job "$long" "$T/job-old"
is "$rc" 2 "channel 1's port refuses new jobs (send-job exit 2)"
kill -0 "$job" 2>/dev/null && ! [ -f "$T/slow/job-1" ]
ok $? "the long job on the removed channel is still running"

wait "$job"
is "$?" 0 "the long job ends cleanly"
wait_for 10 test -f "$T/slow/job-1"
is "$(sha "$T/slow/job-1" 2>/dev/null)" "$(sha "$T/long")" "the printer got the long job byte for byte"
like "$(log)" "event=job-done channel=1 peer=127\.0\.0\.1:[0-9]+ bytes_up=8388608 " "the log has the long job done"

# A hand edit gone wrong: the reload is refused and changes nothing.
cc=$MAST_CONFIG_DIR/nautilus/channels.conf
cp -p "$cc" "$T/channels.conf.good"
printf 'channels = ( { id = 4; listen = ' >>"$cc"
n=$(log | grep -c 'event=reload-failed ')
run opt-tunnel reload nautilus
is "$rc" 78 "reload of a broken channels.conf exits 78"
like "$err" "$(re "$cc")" "...naming the file"
# A SIGHUP from elsewhere (logrotate) reaches the tunnel all the same.
kill -HUP "$(cat "$MAST_RUN_DIR/nautilus.pid")"
wait_for 10 reload_failed_gt "$n"
ok $? "the log has event=reload-failed"
like "$(log | grep 'event=reload-failed ' | tail -1)" "level=error .*$(re "$cc")" "...as an error naming the file"
head -c 700000 /dev/urandom >"$T/job-new2"
run send-job "$new" "$T/job-new2"
is "$rc" 0 "channel 3 still takes jobs"
wait_for 10 got_job "$T/lp" "$T/job-new2"
ok $? "...byte for byte"
cp -p "$T/channels.conf.good" "$cc"

is "$(st reconnects)" 0 "reconnects stayed 0"
is "$(st state)" up "the state is up"
is "$(st pid)" "$pid" "the same process"
is "$(log | grep -c 'event=up ')" 1 "one event=up: the session was never dropped"
! logged "event=(down|retry|job-failed|job-cut) "
ok $? "no down, retry, job-failed or job-cut in the log"
is "$(st channels)" 1 "the state file has 1 channel"
is "$(st channel.1.listen):$(st channel.2.listen):$(st channel.3.listen)" "::$new" "...channel 3"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
