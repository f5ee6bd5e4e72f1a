#!/bin/bash
# Sites whose host is a name (issue 11, defect 4): the name resolves on
# every attempt, so `opt-tunnel start` never fails with "cannot
# resolve".  The old tunnel resolved in a child that wrote each address
# to a pipe in two writes, and read the pipe (non-blocking) as soon as
# it was readable: it often found nothing yet ("cannot resolve
# localhost": 30 to 45 starts in 100 here, exit 69; for the name with 8
# addresses below 6 to 19 in 30), and could read only the first few
# addresses of a name that has many.
#
# (a) host "localhost": 100 starts and stops, none may fail, and a job
#     passes.  The host key is pinned under the name ([localhost]:PORT).
# (b) a name with 8 addresses, multi.test, from an /etc/hosts of its own
#     (bind-mounted in a mount namespace of the test's own: unshare -m,
#     in the network namespace tests/isolated made).  Its sshd listens
#     only on the last of the 8 addresses in getaddrinfo's order, so
#     every start must get all 8 of them and try them in turn (the
#     others refuse at once).  30 starts and stops, none may fail, and a
#     job passes byte for byte.
if [ -z "${OPT_IN_MNTNS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	OPT_IN_MNTNS=1 exec unshare -m "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))
CYCLES_A=100
CYCLES_B=30

# cycles SITE N: N times `opt-tunnel start SITE` and `opt-tunnel stop
# SITE`; sets $fails (starts that did not exit 0) and $why (their
# distinct messages, with counts).
cycles() {
	local site=$1 n=$2 i
	fails=0
	: >"$T/why"
	for i in $(seq 1 "$n"); do
		run opt-tunnel start "$site"
		if [ "$rc" != 0 ]; then
			fails=$((fails + 1))
			printf 'exit %s: %s\n' "$rc" "$(printf '%s' "$err" | sed "s/port [0-9]*/port P/")" >>"$T/why"
		fi
		opt-tunnel stop -q "$site" >/dev/null 2>&1
	done
	why=$(sort "$T/why" | uniq -c | sed 's/^ *//')
}

need_sshd
start_printer lp
cleanup stop_tunnels

# (a) localhost
add_test_site local host=localhost
lport=$(opt-channel add -q local "127.0.0.1:$PRINTER_PORT")
getent ahosts localhost | grep -q '^127\.0\.0\.1 '
ok $? "localhost resolves to 127.0.0.1 here"
cycles local "$CYCLES_A"
is "$fails" 0 "$CYCLES_A starts of a site on host localhost: none fails"
[ "$fails" = 0 ] || diag "$fails of $CYCLES_A starts failed:" "$why"
! logged "cannot resolve" local
ok $? "the log never says cannot resolve"
is "$(log local | grep -c 'event=up ')" "$CYCLES_A" "the log has $CYCLES_A event=up"
like "$(cat "$MAST_CONFIG_DIR/local/known_hosts" 2>/dev/null)" \
	"^\[localhost\]:$SSHD_PORT ssh-ed25519 " "the host key is pinned under the name"
is "$(grep -c '' "$MAST_CONFIG_DIR/local/known_hosts" 2>/dev/null)" 1 "...once"
head -c 1000000 /dev/urandom >"$T/job-a"
run opt-tunnel start local
is "$rc" 0 "the site on localhost starts"
run send-job "$lport" "$T/job-a"
is "$rc" 0 "a job through it ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job-a"
ok $? "...and arrives byte for byte"
opt-tunnel stop -q local >/dev/null 2>&1

# (b) multi.test, 8 addresses
if [ -z "${OPT_IN_MNTNS:-}" ]; then
	skip "(b) needs root and unshare for a mount namespace"
	done_testing
	exit
fi
{
	echo "127.0.0.1 localhost"
	for a in 2 3 4 5 6 7 8 1; do echo "127.0.0.$a multi.test"; done
} >"$T/hosts"
echo "multi on" >"$T/host.conf"
mount --bind "$T/hosts" /etc/hosts && mount --bind "$T/host.conf" /etc/host.conf
ok $? "an /etc/hosts with 8 addresses for multi.test (in a mount namespace)"
cleanup "umount /etc/host.conf /etc/hosts 2>/dev/null"
getent ahosts multi.test | awk '$2 == "STREAM" { print $1 }' >"$T/addrs"
is "$(sort -V "$T/addrs" | tr '\n' ' ')" \
	"127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 " \
	"getent ahosts multi.test lists the 8 addresses"
last=$(tail -1 "$T/addrs")
diag "getaddrinfo order: $(tr '\n' ' ' <"$T/addrs")"

# The sshd again, on the last address only (the same port and keys).
stop_sshd
sed "s/^ListenAddress .*/ListenAddress $last/" "$T/sshd/config" >"$T/sshd/config-multi"
"$SSHD" -D -e -f "$T/sshd/config-multi" 2>>"$T/sshd/log" &
SSHD_PID=$!
cleanup "end_procs $SSHD_PID; sshd_strays"
wait_for 10 listening "$SSHD_PORT"
is "$(ss -Hltn "sport = :$SSHD_PORT" | awk '{ print $4 }')" "$last:$SSHD_PORT" \
	"sshd listens on $last only"

add_test_site multi host=multi.test
mport=$(opt-channel add -q multi "127.0.0.1:$PRINTER_PORT")
cycles multi "$CYCLES_B"
is "$fails" 0 "$CYCLES_B starts of a site on host multi.test (8 addresses): none fails"
[ "$fails" = 0 ] || diag "$fails of $CYCLES_B starts failed:" "$why"
! logged "cannot resolve" multi
ok $? "the log never says cannot resolve"
is "$(log multi | grep -c 'event=up ')" "$CYCLES_B" "the log has $CYCLES_B event=up"
like "$(cat "$MAST_CONFIG_DIR/multi/known_hosts" 2>/dev/null)" \
	"^\[multi\.test\]:$SSHD_PORT ssh-ed25519 " "the host key is pinned under the name"
head -c 3000000 /dev/urandom >"$T/job-b"
run opt-tunnel start multi
is "$rc" 0 "the site on multi.test starts"
run send-job "$mport" "$T/job-b"
is "$rc" 0 "a job through it ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job-b"
ok $? "...and arrives byte for byte"
run opt-tunnel stop multi
is "$rc:$out" "0:multi: stopped" "stop"
done_testing
