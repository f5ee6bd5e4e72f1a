#!/bin/bash
# Started as root, the tunnel binds its ports, then runs as local_user:
# jobs still cross, it still writes its state, and stop still works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "dropping privileges needs root"
	done_testing
	exit
fi
need_sshd
start_printer lp
nobody_site nautilus
port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
opt-site trust -q nautilus
# What group mast gives in production: local_user may read the config.
chmod -R o+rX "$MAST_CONFIG_DIR"
cleanup stop_tunnels

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
