#!/bin/bash
# Started as root, the tunnel binds its ports, then runs as local_user:
# jobs still cross, it still writes its state, and stop still works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_root "dropping privileges"
need_sshd
dropping_site nobody

run opt-tunnel start nautilus
is "$rc" 0 "start as root"
pid=$(cat "$MAST_RUN_DIR/nautilus.pid")
is "$(ps -o user= -p "$pid")" nobody "the tunnel runs as local_user"
like "$(ps -o args= -p "$pid")" "^opt-tunnel: nautilus up 1ch" "its title shows site, state and channels"
head -c 1000000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job")" "a job crosses"
wait_for 5 grep -q '^jobs=1' "$MAST_RUN_DIR/nautilus.state"
ok $? "the state file is still written"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
[ ! -e "$MAST_RUN_DIR/nautilus.pid" ]
ok $? "the tunnel removed its pidfile"
done_testing
