#!/bin/bash
# A flood of idle connections on one channel neither stalls the other
# channels nor makes the tunnel spin (issue 11, defect 1).
#
# (a) 2000 clients connect to channel 1 and send nothing, with the
# tunnel started under `ulimit -n 1024`.  Channel 1 takes its max_jobs
# (32 by default), then its listener pauses: the log says
# event=accept-paused channel=1 reason=channel-limit, once for the
# episode, and the other clients wait in the kernel.  Meanwhile a
# 100 KB job on channel 2 arrives byte for byte within a few seconds,
# and the tunnel's CPU time over 5 s stays under 1 s.  Once the clients
# go, event=accept-resumed channel=1 and a job on channel 1 passes.
# Before, the tunnel accepted (and opened a channel for) every client
# until it had no file descriptor left, about 1010 of them, then spun
# at 100% CPU on the listener it could not accept from; the job on
# channel 2 could not be accepted at all while the clients stayed (cut
# here at 30 s), and the state file was no longer written.
#
# (b) Out of file descriptors: a site whose tunnel runs with a hard
# limit of 64 descriptors and channel max_jobs = 500, and 100 idle
# clients: accept() fails with EMFILE, the listener pauses (log
# reason=fd-limit) instead of spinning, and once the clients go it
# resumes and a new job passes byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((27000 + RANDOM % 2000)) PORT_HI=$((PORT_LO + 40))
HOLD=2000     # idle clients in (a)
HOLD_FD=100   # idle clients in (b)
JOB_MS=5000   # a job on another channel during the flood takes at most this
CPU_MAX=100   # centiseconds of CPU the tunnel may use in 5 s
HZ=$(getconf CLK_TCK)

gone() { ! kill -0 "$1" 2>/dev/null; }
# cpu PID: the process's CPU time (user + system), in centiseconds.
cpu() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v hz="$HZ" '{ printf "%d", ($12 + $13) * 100 / hz }'
}
nofile() { awk '/^Max open files/ { print $4 "/" $5 }' "/proc/$1/limits" 2>/dev/null; }
count() { log "$2" | grep -c -- "$1"; }
count_ge() { [ "$(count "$1" "$2")" -ge "$3" ]; }

# hold NAME PORT N: a background process ($holder) with N non-blocking
# connects to PORT, held idle until SIGTERM, when it resets them all
# (SO_LINGER 0) and exits.  Connects beyond the listener's backlog may
# stay pending: that is what the kernel does with them, not an error.
hold() {
	python3 - "$2" "$3" >"$T/$1.out" 2>&1 <<-'PY' &
	import errno, resource, select, signal, socket, struct, sys, time
	port, n = int(sys.argv[1]), int(sys.argv[2])
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	want = n + 64
	if soft < want:
	    try:
	        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
	    except (ValueError, OSError):
	        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
	socks, bad = [], 0
	for i in range(n):
	    s = socket.socket()
	    s.setblocking(False)
	    r = s.connect_ex(("127.0.0.1", port))
	    if r not in (0, errno.EINPROGRESS):
	        bad += 1
	    socks.append(s)
	time.sleep(1)
	p = select.poll()
	for s in socks:
	    p.register(s, select.POLLOUT)
	done = sum(1 for fd, ev in p.poll(0) if ev & select.POLLOUT)
	print("ready %d connects, %d established, %d failed at once" % (n, done, bad), flush=True)
	def stop(sig, frame):
	    for s in socks:
	        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	        s.close()
	    print("closed", flush=True)
	    sys.exit(0)
	signal.signal(signal.SIGTERM, stop)
	while True:
	    signal.pause()
	PY
	holder=$!
	cleanup "kill $holder 2>/dev/null"
	wait_for 30 grep -q '^ready' "$T/$1.out"
}

# release: the holder resets its connections and exits.
release() {
	kill -TERM "$holder"
	wait_for 20 gone "$holder" || kill -9 "$holder" 2>/dev/null
	wait "$holder"
	is "$?" 0 "the idle clients reset their connections and go"
}

# timed_job PORT FILE: sends it, leaving $rc and $ms (cut at 30 s).
timed_job() {
	local t0
	t0=$(ms_now)
	timeout 30 send-job "$1" "$2" >/dev/null 2>"$T/job.err"
	rc=$?
	ms=$(($(ms_now) - t0))
}

# spin_check PID NAME: the CPU time PID takes in 5 s.
spin_check() {
	local c0 c1
	c0=$(cpu "$1")
	sleep 5
	c1=$(cpu "$1")
	[ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -lt "$CPU_MAX" ]
	ok $? "$2: the tunnel does not spin: $(((c1 - c0) / 100)).$(printf '%02d' $(((c1 - c0) % 100))) s of CPU in 5 s (at most 1 s)"
}

need_sshd
start_printer idle # channel 1, the one flooded
idle=$PRINTER_PORT
start_printer lp # channel 2
lp=$PRINTER_PORT
add_test_site nautilus bind=127.0.0.1
c1=$(opt-channel add -q nautilus "127.0.0.1:$idle")
c2=$(opt-channel add -q nautilus "127.0.0.1:$lp")
cleanup stop_tunnels

# --- (a) 2000 idle clients, the tunnel under ulimit -n 1024 -----------
(ulimit -n 1024 && exec opt-tunnel start nautilus) >"$T/start.out" 2>&1
is "$?" 0 "the tunnel starts under ulimit -n 1024"
tpid=$(st pid)
diag "tunnel pid ${tpid:-?}, open files soft/hard $(nofile "$tpid")"

hold flood "$c1" "$HOLD"
ok $? "$HOLD idle clients connect to channel 1"
diag "holder: $(head -1 "$T/flood.out")"
wait_for 10 logged "event=accept-paused channel=1 " # given a moment, no test

head -c 100000 /dev/urandom >"$T/job2"
timed_job "$c2" "$T/job2"
is "$rc" 0 "during the flood, a job on channel 2 ends cleanly"
wait_for 5 got_job "$T/lp" "$T/job2"
ok $? "...and arrives byte for byte (sha256)"
[ "$rc" = 0 ] && [ "$ms" -le "$JOB_MS" ]
ok $? "...within $JOB_MS ms (took $ms ms)"
diag "a 100 KB job on channel 2 during the flood took $ms ms"

alive "${tpid:-0}"
ok $? "the tunnel lives"
spin_check "$tpid" "(a) paused at the channel's limit"
is "$(count 'event=accept-paused channel=1 reason=channel-limit' nautilus)" 1 \
	"the log has event=accept-paused channel=1 reason=channel-limit, once"
log nautilus | grep 'event=accept-' | sed 's/^/    /' | head -5 >&2
a=$(st channel.1.active) u=$(st updated)
age=$(($(date +%s) - ${u:-0}))
[ -n "$a" ] && [ "$a" -ge 1 ] && [ "$a" -le 32 ] && [ "$age" -le 3 ]
ok $? "channel 1 runs at most its max_jobs (32) at once (state file: active=${a:-?}, written ${age} s ago)"
is "$(st state)" up "the session is up"

release
wait_for 20 logged "event=accept-resumed channel=1( |\$)"
ok $? "then the log has event=accept-resumed channel=1"
head -c 100000 /dev/urandom >"$T/job1"
timed_job "$c1" "$T/job1"
is "$rc" 0 "a job on channel 1 ends cleanly (took $ms ms)"
wait_for 5 got_job "$T/idle" "$T/job1"
ok $? "...and arrives byte for byte (sha256)"
run opt-tunnel stop nautilus
is "$rc" 0 "stop nautilus"

# --- (b) out of file descriptors --------------------------------------
add_test_site fdsite bind=127.0.0.1
f1=$(opt-channel add -q fdsite "127.0.0.1:$idle")
run opt-channel set fdsite 1 max_jobs=500
is "$rc:$err" "0:" "opt-channel set fdsite 1 max_jobs=500"
(ulimit -n 64 && exec opt-tunnel start fdsite) >"$T/start-fd.out" 2>&1
is "$?" 0 "a tunnel starts under ulimit -n 64 (soft and hard)"
fpid=$(st pid fdsite)
diag "tunnel pid ${fpid:-?}, open files soft/hard $(nofile "$fpid")"

hold fdflood "$f1" "$HOLD_FD"
ok $? "$HOLD_FD idle clients connect to its channel"
diag "holder: $(head -1 "$T/fdflood.out")"
wait_for 10 logged "event=accept-paused channel=1 reason=fd-limit" fdsite
ok $? "the log has event=accept-paused channel=1 reason=fd-limit"
alive "${fpid:-0}"
ok $? "the tunnel lives"
spin_check "$fpid" "(b) paused out of descriptors"
is "$(count 'event=accept-paused channel=1 ' fdsite)" 1 "one accept-paused line for the episode"
log fdsite | grep 'event=accept-' | sed 's/^/    /' | head -5 >&2

release
wait_for 20 logged "event=accept-resumed channel=1( |\$)" fdsite
ok $? "then the log has event=accept-resumed channel=1"
head -c 100000 /dev/urandom >"$T/job3"
timed_job "$f1" "$T/job3"
is "$rc" 0 "a new job ends cleanly (took $ms ms)"
wait_for 5 got_job "$T/idle" "$T/job3"
ok $? "...and arrives byte for byte (sha256)"
is "$(st state fdsite):$(st reconnects fdsite)" "up:0" "the session held (up, reconnects=0)"
run opt-tunnel stop fdsite
is "$rc" 0 "stop fdsite"
done_testing
