#!/bin/bash
# A site has one tunnel process: two starts at once give one process,
# and a stale pidfile (its process gone) never blocks a start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 20))
need_sshd
lp_site
mkdir -p "$MAST_RUN_DIR"
echo 999999 >"$MAST_RUN_DIR/nautilus.pid"

opt-tunnel start nautilus >"$T/s1" 2>&1 &
a=$!
opt-tunnel start nautilus >"$T/s2" 2>&1 &
b=$!
wait $a
ra=$?
wait $b
rb=$?
is "$ra:$rb" "0:0" "two starts at once both exit 0"
like "$(cat "$T/s1" "$T/s2")" "nautilus: up \(pid [0-9]+" "one of them started it"
pid=$(cat "$MAST_RUN_DIR/nautilus.pid")
# Every tunnel process logs event=start first.
is "$(grep -c 'event=start ' "$MAST_LOG_DIR/nautilus.log")" 1 "exactly one tunnel process ran, despite the stale pidfile"
ps -o args= -p "$pid" | grep -q '^opt-tunnel: nautilus'
ok $? "the pidfile names it"
opt-tunnel stop -q nautilus

# A start takes the lock before it writes its pid: for that moment the
# file is empty, or still names the process before it, which may be
# gone or another program now.  The lock's holder is the tunnel.
sleep 60 >/dev/null 2>&1 &
victim=$!
cleanup "kill $victim 2>/dev/null"
# lock_pidfile: a process ($holder) takes the lock, as a starting tunnel.
lock_pidfile() {
	flock -o -n "$MAST_RUN_DIR/nautilus.pid" sleep 60 >/dev/null 2>&1 &
	holder=$!
	wait_for 5 sh -c "grep -q ' FLOCK .* $holder ' /proc/locks"
	# shellcheck disable=SC2046 # one word per pid
	cleanup "kill $holder $(pgrep -P $holder) 2>/dev/null"
}
echo 999999 >"$MAST_RUN_DIR/nautilus.pid"
lock_pidfile
run opt-tunnel run nautilus
is "$rc:$err" "75:opt-tunnel: nautilus: already running (pid $holder)" \
	"run: the old pid is gone: the pid of the lock's holder"
run opt-tunnel start nautilus
is "$rc:$out" "0:nautilus: already running (pid $holder)" "start: the same"
: >"$MAST_RUN_DIR/nautilus.pid"
run opt-tunnel run nautilus
is "$rc:$err" "75:opt-tunnel: nautilus: already running (pid $holder)" \
	"an empty pidfile, locked: already running"
echo "$victim" >"$MAST_RUN_DIR/nautilus.pid"
run opt-tunnel reload nautilus
wait_for 5 sh -c "! kill -0 $holder 2>/dev/null"
ok $? "the file names a live process that is not the holder: reload signals the holder"
kill -0 "$victim" 2>/dev/null
ok $? "...and not the process the file named"
lock_pidfile
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" \
	"the file names a live process that is not the holder: stop signals the holder"
kill -0 "$victim" 2>/dev/null
ok $? "...and not the process the file named"
kill -0 "$holder" 2>/dev/null
is $? 1 "...which is gone"

# A killed tunnel's pidfile and state file ("up") are left; the next
# tunnel cannot reach its site: start must not believe the old state.
opt-site set -q nautilus port="$(free_port)"
echo 999999 >"$MAST_RUN_DIR/nautilus.pid"
printf 'site=nautilus\npid=999999\nstate=up\nsince=%d\ncompression=zlib\n' \
	"$(date +%s)" >"$MAST_RUN_DIR/nautilus.state"
run opt-tunnel start --wait 2 nautilus
is "$rc" 69 "a stale state file saying up: start still waits for the new tunnel"
like "$err" "nautilus: not up \(retrying" "...and says it is not up"
opt-tunnel stop -q nautilus
done_testing
