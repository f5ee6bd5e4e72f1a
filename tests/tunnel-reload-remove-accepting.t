#!/bin/bash
# A reload that removes a channel whose listener has a connection
# waiting to be accepted (issue 11, defect 5).  The tunnel is stopped
# (SIGSTOP) while a client connects to channel 2's port (the kernel
# completes the connection in the listen backlog) and `opt-channel
# remove` signals the tunnel (SIGHUP); on SIGCONT one poll() reports both
# the signal and the pending connection.  The old loop ran the reload,
# which freed channel 2's listener, then accepted on it from the list it
# had built before the poll: a heap-use-after-free in accept_jobs that
# ASan reports (and the tunnel dies).  Here the tunnel must live on, log
# the removal, refuse channel 2's port and carry channel 1's jobs byte
# for byte, round after round, with the session never dropped.
#
# A plain build rarely shows the stale read (the freed listener's fd is
# closed, so accept4 fails with EBADF); there, when valgrind is at hand,
# the tunnel runs under memcheck, which reports it.  The tunnel's
# sanitizer and valgrind reports go to files in $T, read at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))
ROUNDS=6

removed_n() { logged "event=channel-removed channel=$1( |\$)"; }
# The tunnel waits in poll() (or ppoll, epoll_wait).
in_poll() { grep -q poll "/proc/$pid/wchan" 2>/dev/null; }
# The tunnel has a SIGHUP pending (bit 1 of the process's pending set).
hup_pending() { grep -Eq '^ShdPnd:.*[13579bdf]$' "/proc/$pid/status"; }

need_sshd
start_printer lp1
p1=$PRINTER_PORT
start_printer lp2
p2=$PRINTER_PORT
add_test_site nautilus bind=127.0.0.1
run opt-channel add -H nautilus "127.0.0.1:$p1"
port1=$(printf '%s' "$out" | cut -f2)
cleanup stop_tunnels

# Reports of the tunnel process only (not of the short-lived tools): ASan
# writes to asan.PID, memcheck to vg.PID.log; memory errors, not leaks.
ldd "$(command -v opt-tunnel)" 2>/dev/null | grep -q libasan && asan=1 || asan=0
memcheck=0
if [ "$asan" = 0 ] && [ -z "${VALGRIND_LOGS:-}" ] && command -v valgrind >/dev/null; then
	memcheck=1
	mkdir -p "$T/vgtunnel"
	cat >"$T/vgtunnel/opt-tunnel" <<-VG
	#!/bin/sh
	exec valgrind -q --child-silent-after-fork=no \
		--suppressions="$top/tests/valgrind.supp" \
		--log-file="$T/vg.%p.log" "$OPT_BIN/opt-tunnel" "\$@"
	VG
	chmod +x "$T/vgtunnel/opt-tunnel"
	tunnel=$T/vgtunnel/opt-tunnel
else
	tunnel=opt-tunnel
fi
diag "tunnel build: $([ "$asan" = 1 ] && echo ASan || echo plain)$([ "$memcheck" = 1 ] && echo ', under valgrind memcheck')"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:log_path=$T/asan run "$tunnel" start --wait 30 nautilus
is "$rc" 0 "the tunnel is up"
pid=$(st pid)
cleanup "kill -CONT $pid 2>/dev/null" # before stop_tunnels, should a round end early
head -c 500000 /dev/urandom >"$T/job"
run send-job "$port1" "$T/job"
is "$rc" 0 "channel 1 takes a job"

for round in $(seq 1 "$ROUNDS"); do
	run opt-channel add -H nautilus "127.0.0.1:$p2"
	id2=$(printf '%s' "$out" | cut -f1)
	port2=$(printf '%s' "$out" | cut -f2)
	wait_for 10 listening "$port2"
	ok $? "round $round: channel $id2 listens on $port2"

	wait_for 5 in_poll # then the reload of the add is behind it
	kill -STOP "$pid"
	# The connect completes in the kernel while the tunnel is stopped.
	exec 5<>"/dev/tcp/127.0.0.1/$port2"
	ok $? "round $round: a client connects to channel $id2 while the tunnel is stopped"
	in_background remove opt-channel remove -q nautilus "$id2"
	# remove signals the tunnel (it may wait for it: in the background).
	wait_for 10 hup_pending
	ok $? "round $round: the tunnel has the SIGHUP pending"
	kill -CONT "$pid"
	wait "${_bg[remove]}"
	is "$?" 0 "round $round: opt-channel remove $id2 exits 0"
	wait_for 20 removed_n "$id2"
	ok $? "round $round: the log has event=channel-removed channel=$id2"
	sleep 0.3
	alive "$pid"
	ok $? "round $round: the tunnel process (pid $pid) is alive"
	exec 5>&-
	alive "$pid" || break

	run send-job "$port2" "$T/job"
	is "$rc" 2 "round $round: channel $id2's port refuses new jobs (send-job exit 2)"
	head -c $((300000 + round * 4097)) /dev/urandom >"$T/job$round"
	run send-job "$port1" "$T/job$round"
	is "$rc" 0 "round $round: a job on channel 1 ends cleanly"
	wait_for 10 got_job "$T/lp1" "$T/job$round"
	ok $? "round $round: ...and reaches printer 1 byte for byte"
done

alive "$pid"
ok $? "the tunnel is still running after $ROUNDS rounds"
is "$(st pid)" "$pid" "the same process"
is "$(st state)" up "the state is up"
is "$(st reconnects)" 0 "reconnects=0: the session was never dropped"
! logged "event=(down|retry|job-failed|job-cut) "
ok $? "no down, retry, job-failed or job-cut in the log"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
# Once the tunnel ended: the memory checkers' reports are complete.
reports=$(cat "$T"/asan.* 2>/dev/null; [ "$memcheck" = 1 ] && cat "$T"/vg.*.log 2>/dev/null)
if [ -n "$reports" ]; then
	ok 1 "no memory error in the tunnel"
	diag "$(printf '%s\n' "$reports" | grep -cE 'ERROR: AddressSanitizer|Invalid (read|write)') memory error(s) reported; the first:" \
		"$(printf '%s\n' "$reports" | grep -E 'ERROR: AddressSanitizer|SUMMARY: |Invalid (read|write)|Address 0x|freed by|free.d|^(==[0-9]+== )? +#?[0-9]* *(0x[0-9a-f]+ in |at |by )' | head -14)"
else
	ok 0 "no memory error in the tunnel$([ "$asan$memcheck" = 00 ] && echo ' (no checker: plain build, no valgrind)')"
fi
done_testing
