#!/bin/bash
# opt-site remove refuses while the site's tunnel runs (its pidfile is
# locked); --force stops it first (SIGTERM, then waits for it to go); a
# stale pidfile does not block.
. "$(dirname "$0")/lib.sh"

mkdir -p "$MAST_RUN_DIR"
opt-site add -q nautilus 203.0.113.10
pidfile=$MAST_RUN_DIR/nautilus.pid

# A stand-in for a tunnel: holds the pidfile lock as libbsd's
# pidfile_open does, and takes a second to drain on SIGTERM.
fake_tunnel() {
	python3 -c '
import fcntl, os, signal, sys, time
f = open(sys.argv[1], "w")
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
f.write("%d\n" % os.getpid()); f.flush()
def term(*a):
	time.sleep(1)
	sys.exit(0)
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
time.sleep(120)' "$pidfile" >"$T/tunnel.out" &
	tunnel=$!
	cleanup "kill $tunnel 2>/dev/null"
	wait_for 5 grep -q ready "$T/tunnel.out"
}

fake_tunnel
refused 75 "^opt-site: nautilus: tunnel is running \(pid $tunnel\); stop it first with 'opt-tunnel stop nautilus', or use --force$" \
	"remove refuses while the tunnel runs" -- opt-site remove nautilus
kill -0 $tunnel
ok $? "the tunnel still runs"

start=$(date +%s%N)
succeeds "remove --force" -- opt-site remove --force nautilus
ms=$(( ($(date +%s%N) - start) / 1000000 ))
! kill -0 $tunnel 2>/dev/null
ok $? "--force stopped the tunnel"
[ "$ms" -ge 900 ]
ok $? "...and waited for it to drain (${ms} ms)"
[ ! -e "$MAST_CONFIG_DIR/nautilus" ]
ok $? "the site is gone"
[ ! -e "$pidfile" ]
ok $? "its stale pidfile is gone"

# A pidfile left by a dead process does not block a removal.
opt-site add -q nautilus 203.0.113.10
echo 999999 >"$pidfile"
succeeds "remove with a stale pidfile" -- opt-site remove nautilus
[ ! -e "$pidfile" ]
ok $? "the stale pidfile is removed with the site"

done_testing
