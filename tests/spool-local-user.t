#!/bin/bash
# A spool channel of a tunnel that drops root: started as root, the
# tunnel makes the spool local_user's (nobody), stores and delivers as
# that user; root's opt-queue and opt-status read it.  local_user then
# plants a symbolic link for last_id, the file opt-queue remove writes
# as root: the link is not followed (a new file takes its name), and the
# file it points to is left as it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_root
need_sshd
start_printer lp
nobody_site nautilus
chgrp -R "$(id -g nobody)" "$MAST_CONFIG_DIR"
port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT" --mode spool)
mkdir -m 750 "$MAST_LOG_DIR" && chown nobody "$MAST_LOG_DIR"
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc:$err" "0:" "the tunnel starts as root"
is "$(ps -o user= -p "$(cat "$MAST_RUN_DIR/nautilus.pid" 2>/dev/null || echo 0)")" nobody \
	"...and runs as local_user"
is "$(stat -c '%U %a' "$MAST_SPOOL_DIR" "$MAST_SPOOL_DIR/nautilus" | tr '\n' ' ')" \
	"nobody 750 nobody 750 " "the spool it made is local_user's, 0750"

head -c 500000 /dev/urandom >"$T/j1"
run send-job "$port" "$T/j1"
is "$rc" 0 "a job is stored"
wait_for 20 got_job "$T/lp" "$T/j1"
ok $? "...and delivered byte for byte"
run opt-status --channels -H nautilus
is "$rc" 0 "root's opt-status reads the spool"

# A job to remove, while the site is down.
stop_sshd
head -c 300000 /dev/urandom >"$T/j2"
run send-job "$port" "$T/j2"
is "$rc" 0 "a job is stored while the site is down"
is "$(opt-queue list -H nautilus | cut -f3,4)" "0000000002	queued" "root's opt-queue lists it"
is "$(stat -c %U "$MAST_SPOOL_DIR/nautilus/1/0000000002.job")" nobody "its files are local_user's"

echo "precious" >"$T/precious"
sum=$(fp "$T/precious")
setpriv --reuid=nobody --regid="$(id -g nobody)" --init-groups \
	sh -c "rm -f '$MAST_SPOOL_DIR/nautilus/last_id' && ln -s '$T/precious' '$MAST_SPOOL_DIR/nautilus/last_id'"
ok $? "local_user plants last_id as a link to a file of root's"
run opt-queue remove nautilus 2
is "$rc:$out" "0:nautilus: job 0000000002 removed (300000 bytes, not printed)" "root's opt-queue removes the job"
is "$(fp "$T/precious")" "$sum" "...and did not write through the link"
[ -f "$MAST_SPOOL_DIR/nautilus/last_id" ] && [ ! -L "$MAST_SPOOL_DIR/nautilus/last_id" ]
ok $? "...but put a file of its own in the link's place"
is "$(cat "$MAST_SPOOL_DIR/nautilus/last_id")" 0000000002 "...that keeps the highest id"
done_testing
