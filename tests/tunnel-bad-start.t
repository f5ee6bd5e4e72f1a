#!/bin/bash
# `opt-tunnel start` and `run` refuse what cannot work with the right
# exit code (sysexits) and one clear line on stderr, and leave no process
# and no pidfile behind: unknown site, invalid site id, broken site.conf,
# missing, too open or passphrase-protected identity (an RSA one, which
# depends on libssh2: tunnel-rsa-key.t), a listen port held by another
# process, a bad --wait.  Starting a running site again is a no-op that
# says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

# nothing_left SITE: no tunnel process of this test but the $running
# ones, and no pidfile of SITE (or one nobody holds locked).
running=0
nothing_left() {
	local pids n pf=$MAST_RUN_DIR/$1.pid
	sleep 0.2 # a failing child may still be on its way out
	pids=$(tunnel_pids)
	n=$(printf '%s' "$pids" | grep -c '')
	if [ "$n" = "$running" ] &&
		{ [ ! -e "$pf" ] || flock -n "$pf" true; }; then
		ok 0 "...and no process or pidfile of $1 is left"
	else
		ok 1 "...and no process or pidfile of $1 is left"
		diag "tunnel processes: $pids (want $running)" \
			"pidfile: $(ls -l "$pf" 2>&1)"
	fi
}
# bad SITE CODE ERE NAME: start and run of SITE both refuse.
bad() {
	local site=$1 code=$2 re=$3 name=$4
	refused "$code" "^opt-tunnel: $site: $re" "start: $name (exit $code)" -- \
		opt-tunnel start "$site"
	nothing_left "$site"
	refused "$code" "^opt-tunnel: $site: $re" "run: $name (exit $code)" -- \
		timeout 20 opt-tunnel run "$site"
	nothing_left "$site"
}
port_free() {
	python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
site_like() { # site_like NEW: a copy of site "good" with another identity
	opt-site add -q "$1" 127.0.0.1 --port "$SSHD_PORT" --user "$(id -un)" \
		--identity "$T/id_ed25519"
	opt-site set -q "$1" bind=127.0.0.1
}

need_sshd
start_printer lp
add_test_site good bind=127.0.0.1
gport=$(opt-channel add -q good "127.0.0.1:$PRINTER_PORT")
cleanup stop_tunnels

# No such site, invalid id.
refused 66 "^opt-tunnel: nosuch: no such site$" "start: unknown site (exit 66)" -- \
	opt-tunnel start nosuch
nothing_left nosuch
refused 66 "^opt-tunnel: nosuch: no such site$" "run: unknown site (exit 66)" -- \
	timeout 20 opt-tunnel run nosuch
nothing_left nosuch
refused 65 "^opt-tunnel: .*'Bad Site'.* not a valid site id" "start: invalid site id (exit 65)" -- \
	opt-tunnel start 'Bad Site'
refused 65 "^opt-tunnel: .*'\.\./etc'.* not a valid site id" "run: invalid site id (exit 65)" -- \
	timeout 20 opt-tunnel run ../etc
refused 65 "not a valid site id" "start: a valid and an invalid id: nothing starts (exit 65)" -- \
	opt-tunnel start good BAD
nothing_left good

# A broken site.conf (a hand edit gone wrong).
site_like broken
sed -i 's/^port = .*/port = ;/' "$MAST_CONFIG_DIR/broken/site.conf"
bad broken 78 ".*$(re "$MAST_CONFIG_DIR/broken/site.conf")" "broken site.conf, the message has its path"

# Identity problems.
site_like nokey
opt-site set -q nokey identity="$T/missing_key"
bad nokey 66 ".*$(re "$T/missing_key")" "missing identity, the message names it"

site_like openkey
cp "$T/id_ed25519" "$T/open_key"
chmod 644 "$T/open_key"
opt-site set -q openkey identity="$T/open_key"
bad openkey 77 ".*$(re "$T/open_key").*readable by group or others" "identity of mode 0644"
chmod 620 "$T/open_key"
bad openkey 77 ".*$(re "$T/open_key").*writable by group or others \\(mode 0620\\)" "identity of mode 0620"

site_like pw
ssh-keygen -q -t ed25519 -N 'secret phrase' -f "$T/id_pw"
opt-site set -q pw identity="$T/id_pw"
bad pw 65 ".*$(re "$T/id_pw").*passphrase" "passphrase-protected ed25519 identity"

# A listen port held by another process on the bind address.
site_like busy
p1=$(opt-channel add -q busy "127.0.0.1:$PRINTER_PORT")
p2=$(opt-channel add -q busy "127.0.0.1:$PRINTER_PORT")
start_printer holder -p "$p2"
[ "$PRINTER_PORT" = "$p2" ]
ok $? "another process holds 127.0.0.1:$p2"
bad busy 73 ".*$p2" "listen port $p2 already in use"
port_free "$p1"
ok $? "channel 1's port $p1 was not kept"
[ ! -e "$MAST_RUN_DIR/busy.state" ]
ok $? "no state file of busy"

# Bad --wait.
for w in x -1 3601 1.5 ''; do
	refused 64 "^opt-tunnel: .*--wait" "start --wait '$w' (exit 64)" -- \
		opt-tunnel start --wait "$w" good
done
refused 64 "^opt-tunnel: .*--wait" "stop --wait (exit 64)" -- \
	opt-tunnel stop --wait 5 good
nothing_left good

# A good site, started twice.
run opt-tunnel start good
is "$rc" 0 "start good exits 0"
like "$out" "^good: up \(pid [0-9]+, " "...and says it is up"
running=1
pid=$(sed -n 's/^pid=//p' "$MAST_RUN_DIR/good.state")
is "$(tunnel_pids)" "$pid" "one tunnel process, pid $pid"
run opt-tunnel start good
is "$rc" 0 "start of a running site exits 0"
is "$out" "good: already running (pid $pid)" "...and says already running"
is "$err" "" "...with nothing on stderr"
is "$(tunnel_pids)" "$pid" "still one tunnel process, the same"
run timeout 20 opt-tunnel run good
[ "$rc" != 0 ] && [ "$rc" != 124 ]
ok $? "run of a running site fails (exit $rc)"
like "$err" "^opt-tunnel: good: already running \(pid $pid\)$" "...and says already running"
is "$(tunnel_pids)" "$pid" "still one tunnel process, the same"
head -c 100000 /dev/urandom >"$T/job"
run send-job "$gport" "$T/job"
wait_for 10 test -f "$T/lp/job-1"
is "$rc:$(sha "$T/lp/job-1" 2>/dev/null)" "0:$(sha "$T/job")" "the running tunnel still works"

run opt-tunnel stop good
is "$rc:$out" "0:good: stopped" "stop"
running=0
nothing_left good
done_testing
