#!/bin/bash
# opt-channel add, set and remove on a site whose tunnel runs take
# effect at once (the tool signals the tunnel), without a reconnect.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
start_printer a
pa=$PRINTER_PORT
start_printer b
pb=$PRINTER_PORT
add_test_site nautilus
p1=$(opt-channel add -q nautilus "127.0.0.1:$pa")
cleanup stop_tunnels
opt-tunnel start -q nautilus
head -c 300000 /dev/urandom >"$T/job"

run opt-channel add -H nautilus "127.0.0.1:$pb"
p2=$(printf '%s' "$out" | cut -f2)
wait_for 5 listening "$p2"
ok $? "a channel added with opt-channel listens at once"
run send-job "$p2" "$T/job"
wait_for 5 test -f "$T/b/job-1"
is "$rc:$(sha "$T/b/job-1")" "0:$(sha "$T/job")" "a job on it reaches printer b"

succeeds "point channel 2 at printer a" -- opt-channel set nautilus 2 printer_port="$pa"
wait_for 5 grep -q "event=reloaded" "$MAST_LOG_DIR/nautilus.log"
sleep 0.3
run send-job "$p2" "$T/job"
wait_for 5 test -f "$T/a/job-1"
is "$rc:$(sha "$T/a/job-1")" "0:$(sha "$T/job")" "after set, its jobs go to printer a"

succeeds "remove channel 1" -- opt-channel remove nautilus 1
wait_for 5 eval "! listening $p1"
ok $? "the removed channel's port closes"
run send-job "$p1" "$T/job"
is "$rc" 2 "a job there is refused"
is "$(sed -n 's/^reconnects=//p' "$MAST_RUN_DIR/nautilus.state")" 0 "the session was never dropped"
is "$(sed -n 's/^channels=//p' "$MAST_RUN_DIR/nautilus.state")" 1 "the state file lists one channel"
done_testing
