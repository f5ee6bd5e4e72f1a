#!/bin/bash
# The run and log directories belong to local_user, who may plant a
# symbolic or hard link there to a file of root's.  Root's start, run,
# stop, restart and the tunnel's log reopen never write through one:
# the file stays byte for byte, owner and mode what it was, and the
# tunnel either works or refuses, in one line, with status 77.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_root "a less privileged local_user"
need_sshd
dropping_site nobody
# As the package makes them (tmpfiles.d, postinst).
install -d -o nobody -g nogroup -m 755 "$MAST_RUN_DIR"
install -d -o nobody -g nogroup -m 750 "$MAST_LOG_DIR"
pidf=$MAST_RUN_DIR/nautilus.pid
statef=$MAST_RUN_DIR/nautilus.state
logf=$MAST_LOG_DIR/nautilus.log

victim=$T/victim
head -c 4096 /dev/urandom >"$victim"
chmod 600 "$victim"
want=$(fp "$victim")
unharmed() { is "$(fp "$victim")" "$want" "$1: root's file is unchanged (content, owner, mode)"; }
no_tunnel() { is "$(tunnel_pids)" "" "$1: no tunnel process"; }
# crosses NAME: a job reaches the printer byte for byte.
n=0
crosses() {
	n=$((n + 1))
	head -c 300000 /dev/urandom >"$T/job$n"
	send-job "$port" "$T/job$n" >/dev/null
	wait_for 10 got_job "$T/lp" "$T/job$n"
	ok $? "$1: a job crosses byte for byte"
}

# The pidfile.
as nobody ln -s "$victim" "$pidf"
refused 77 "^opt-tunnel: nautilus: $(re "$pidf"): a symbolic link, refusing it$" \
	"start: a symbolic link at the pidfile is refused (exit 77)" -- opt-tunnel start nautilus
unharmed "start"
no_tunnel "start"
refused 77 "^opt-tunnel: nautilus: $(re "$pidf"): a symbolic link, refusing it$" \
	"run: a symbolic link at the pidfile is refused (exit 77)" -- opt-tunnel run nautilus
unharmed "run"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: not running" "stop: not running"
unharmed "stop"
# A hard link, as local_user may make where fs.protected_hardlinks is 0.
ln "$victim" "$pidf"
refused 77 "^opt-tunnel: nautilus: $(re "$pidf"): has 2 links, refusing it$" \
	"start: a hard link at the pidfile is refused (exit 77)" -- opt-tunnel start nautilus
unharmed "start, hard link"
rm -f "$pidf"
ln "$victim" "$logf"
refused 77 "^opt-tunnel: nautilus: $(re "$logf"): has 2 links, refusing it$" \
	"start: a hard link at the log is refused (exit 77)" -- opt-tunnel start nautilus
unharmed "start, hard link at the log"
rm -f "$logf"

# The log: start refuses it; run logs to stderr and leaves it alone.
as nobody ln -s "$victim" "$logf"
refused 77 "^opt-tunnel: nautilus: $(re "$logf"): a symbolic link, refusing it$" \
	"start: a symbolic link at the log is refused (exit 77)" -- opt-tunnel start nautilus
unharmed "start, log"
no_tunnel "start, log"
opt-tunnel run nautilus 2>"$T/run.err" &
runpid=$!
wait_for 10 state_is up
ok $? "run: up, logging to stderr"
crosses "run"
kill -TERM "$runpid"
wait "$runpid"
is "$?" 0 "run: SIGTERM ends it, exit 0"
unharmed "run, log"
rm -f "$logf"

# The state file: removed (not followed) at start, then replaced.
as nobody ln -s "$victim" "$statef"
run opt-tunnel start nautilus
is "$rc" 0 "start with a symbolic link at the state file: up"
crosses "start, state"
unharmed "start, state"
wait_for 5 test -f "$statef" -a ! -L "$statef"
ok $? "the state file is the tunnel's own"
is "$(stat -c %U "$logf")" nobody "the log root created is local_user's"

# Rotated under it and a link planted: the tunnel keeps its old log.
as nobody mv "$logf" "$logf.1"
as nobody ln -s "$victim" "$logf"
as nobody ln -sf "$victim" "$statef"
run opt-tunnel reload nautilus
is "$rc" 0 "reload exits 0"
wait_for 5 grep -qs 'event=log-reopen-failed' "$logf.1"
ok $? "the tunnel refused to reopen its log through the link, and said so"
crosses "reload"
unharmed "reload"

# restart: the stop goes through, the start refuses the log.
refused 77 "^opt-tunnel: nautilus: $(re "$logf"): a symbolic link, refusing it$" \
	"restart: the stop goes, the start refuses the log (exit 77)" -- opt-tunnel restart -q nautilus
no_tunnel "restart"
unharmed "restart"
rm -f "$logf"
as nobody ln -s "$victim" "$pidf"
as nobody ln -s "$victim" "$statef"
run opt-tunnel restart nautilus
like "$rc:$out" "^0:nautilus: not running
nautilus: up " "restart: a stale link at the pidfile is removed, not followed"
crosses "restart"
unharmed "restart, pidfile"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
no_tunnel "stop"
unharmed "stop"
done_testing
