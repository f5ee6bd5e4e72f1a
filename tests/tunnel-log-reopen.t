#!/bin/bash
# The log is reopened on SIGHUP, as logrotate needs; opt-site remove
# --force stops a real tunnel (letting its job finish) before removing
# the site.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
lp_site --read-delay 20
opt-tunnel start -q nautilus
log=$MAST_LOG_DIR/nautilus.log

mv "$log" "$log.1"
opt-tunnel reload nautilus
wait_for 5 test -s "$log"
ok $? "after rotation and SIGHUP the tunnel writes a new log"
like "$(cat "$log")" "event=reloaded" "the new log has the reload"
[ "$(stat -c %a "$log")" = 640 ]
ok $? "the log is not world-readable or writable (mode $(stat -c %a "$log"))"
[ "$(stat -c %a "$MAST_RUN_DIR/nautilus.state")" = 644 ]
ok $? "the state file is not world-writable"

head -c 2000000 /dev/urandom >"$T/job"
send-job "$port" "$T/job" >/dev/null &
job=$!
wait_for 5 grep -q "event=job-start" "$log"
run opt-site remove --force nautilus
is "$rc:$out" "0:nautilus: removed" "remove --force of a site whose tunnel runs a job"
wait "$job"
is "$?" 0 "the running job finished first"
wait_for 5 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job")" "...intact"
[ ! -e "$MAST_CONFIG_DIR/nautilus" ] && [ ! -e "$MAST_RUN_DIR/nautilus.pid" ]
ok $? "the site and its pidfile are gone"
done_testing
