#!/bin/bash
# Under a low upload limit the tunnel does not let a client hand it
# megabytes ahead of what the printer got (issue 11, defect 7): the
# listeners use a small SO_RCVBUF (64 KiB), so under up = 64 KiB/s a
# client is at most about 1 MiB ahead of the printer.  (A spooler that
# believes a job was sent while most of it sits in socket buffers
# reports it printed, and loses it if the tunnel goes.)
#
# A client writes 4 MiB of random data in blocking 16 KiB writes; 3 s
# in, what its writes had returned is compared with what the printer
# had (its job-1.part), and the receive buffer of the tunnel's end of
# the connection, sampled 5 times a second until then (ss -tm: skmem
# rb), must have stayed at the 2 x 64 KiB the kernel makes of a 64 KiB
# SO_RCVBUF.  Before, the kernel grew that buffer as it does for any
# socket whose size is not set (0.2 to 1.7 MB seen), and the tunnel's
# side held up to 1.5 MB of the job.
#
# The client sets its own SO_SNDBUF (64 KiB), as a spooler with a
# fixed send buffer does: Linux sizes a client's send buffer from its
# MSS, whatever the receiver's window, so a client that leaves it to
# the kernel has about 1.1 MB in its own socket after 3 s at an
# Ethernet MTU, with any tunnel (and 3.5 MB over a 64 KiB loopback
# MTU).  Such a client is measured too, for the record (diag only).
# As root the test runs in a network namespace of its own whose
# loopback has an Ethernet MTU (1500), as a spooler's LAN has.
. "$(dirname "$0")/netns.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if [ -n "${OPT_IN_NETNS:-}" ]; then
	ip link set lo mtu 1500
fi
PORT_LO=$((24000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))
SIZE=$((4 * 1024 * 1024))
AHEAD_MAX=$((1024 * 1024)) # bytes the client may be ahead of the printer
RB_MAX=$((2 * 65536))      # a 64 KiB SO_RCVBUF, as the kernel counts it

gone() { ! kill -0 "$1" 2>/dev/null; }
# field NAME LINE: the number after NAME in LINE ("NAME 123").
field() { printf '%s\n' "$2" | sed -n "s/.* $1 \([0-9-]*\).*/\1/p"; }

need_sshd
lp_site bind=127.0.0.1
run opt-tunnel start nautilus
is "$rc" 0 "the tunnel starts"
run opt-throttle set nautilus --up 64
is "$rc" 0 "throttle set --up 64"
run opt-throttle on nautilus
is "$rc" 0 "throttle on"
like "$(opt-throttle show nautilus -H)" "^nautilus	yes	64	" "the limit is on: up 64 KiB/s"

# client NAME SNDBUF: the job's client in the background ($client), its
# output in $T/NAME.out.  Blocking 16 KiB writes; a thread samples the
# receive buffer of the tunnel's end of the connection 5 times a
# second, and 3 s after the connect notes what the writes had returned,
# what the printer's job-N.part had and what was still in the client's
# own socket (SIOCOUTQ), at the same moment.  Then it goes on to the
# end of the job, half-closes and waits for the printer's end.
# SNDBUF 0: the kernel sizes the client's send buffer.
client() {
	python3 - "$port" "$T/job" "$T/lp/job-$3.part" "$2" >"$T/$1.out" 2>&1 <<-'PY' &
	import fcntl, os, re, socket, struct, subprocess, sys, threading, time
	port, path, part, sndbuf = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
	data = open(path, "rb").read()
	sent = 0
	def rb():
	    out = subprocess.run(["ss", "-Htmn", "state", "established",
	                          "( sport = :%d )" % port],
	                         capture_output=True, text=True).stdout
	    m = re.search(r"\brb(\d+)", out)
	    return int(m.group(1)) if m else -1
	def note():
	    t0, top = time.monotonic(), -1
	    while time.monotonic() - t0 < 3:
	        top = max(top, rb())
	        time.sleep(0.2)
	    handed = sent
	    try:
	        arrived = os.stat(part).st_size
	    except OSError:
	        arrived = 0
	    outq = struct.unpack("i", fcntl.ioctl(s.fileno(), 0x5411, b"\0" * 4))[0]
	    print("at3s handed %d arrived %d outq %d rb %d" % (handed, arrived, outq, top), flush=True)
	s = socket.socket()
	if sndbuf:
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
	s.connect(("127.0.0.1", port))
	timer = threading.Thread(target=note)
	timer.start()
	try:
	    for i in range(0, len(data), 16384):
	        s.sendall(data[i:i + 16384])
	        sent += len(data[i:i + 16384])
	    s.shutdown(socket.SHUT_WR)
	    while s.recv(65536):
	        pass
	except OSError as e:
	    print("error: %s" % e, flush=True)
	    sys.exit(3)
	timer.join()
	print("done %d" % sent, flush=True)
	PY
	client=$!
	cleanup "kill $client 2>/dev/null"
}

# finish N: the limit goes off, the client ends, the printer has job N.
finish() {
	local r
	run opt-throttle off nautilus
	is "$rc" 0 "throttle off"
	wait_for 30 gone "$client" || kill "$client" 2>/dev/null
	wait "$client"
	r=$?
	is "$r" 0 "$1: the job ends cleanly"
	[ "$r" = 0 ] || diag "$(cat "$T/$2.out")"
	wait_for 10 test -f "$T/lp/job-$3"
	is "$(sha "$T/lp/job-$3" 2>/dev/null)" "$(sha "$T/job")" "$1: the printer has it byte for byte (sha256)"
}

head -c "$SIZE" /dev/urandom >"$T/job"
client fixed 65536 1
wait_for 10 grep -q '^at3s ' "$T/fixed.out"
line=$(grep '^at3s ' "$T/fixed.out")
handed=$(field handed "$line") arrived=$(field arrived "$line")
outq=$(field outq "$line") rb=$(field rb "$line")
ahead=$((${handed:-0} - ${arrived:-0}))
diag "after 3 s at 64 KiB/s: the client's writes had returned ${handed:-?} bytes, the printer had ${arrived:-?}: $ahead bytes ahead (${outq:-?} still in the client's socket, $((ahead - ${outq:-0})) on the tunnel's side); the tunnel's socket receive buffer reached ${rb:-?} bytes"
[ -n "$handed" ] && [ -n "$arrived" ] && [ "$arrived" -gt 0 ]
ok $? "the job was flowing after 3 s (the printer had ${arrived:-?} bytes)"
[ -n "$handed" ] && [ "$ahead" -le "$AHEAD_MAX" ]
ok $? "the client is at most 1 MiB ahead of the printer ($ahead bytes: handed over ${handed:-?}, arrived ${arrived:-?})"
[ -n "$rb" ] && [ "$rb" -gt 0 ] && [ "$rb" -le "$RB_MAX" ]
ok $? "the tunnel's socket receive buffer stayed at most $RB_MAX bytes (at most ${rb:-?})"
finish "a client with a 64 KiB send buffer" fixed 1

# For the record: a client whose send buffer the kernel sizes.
run opt-throttle on nautilus
is "$rc" 0 "throttle on again"
client auto 0 2
wait_for 10 grep -q '^at3s ' "$T/auto.out"
line=$(grep '^at3s ' "$T/auto.out")
handed=$(field handed "$line") arrived=$(field arrived "$line")
outq=$(field outq "$line") rb=$(field rb "$line")
ahead=$((${handed:-0} - ${arrived:-0}))
diag "a client whose send buffer the kernel sizes: after 3 s ${handed:-?} bytes handed over, ${arrived:-?} arrived: $ahead bytes ahead, ${outq:-?} of them in its own socket, $((ahead - ${outq:-0})) on the tunnel's side; the tunnel's socket receive buffer reached ${rb:-?} bytes"
finish "a client with the kernel's send buffer" auto 2
is "$(st reconnects)" 0 "no reconnect"

run opt-tunnel stop nautilus
is "$rc" 0 "stop"
done_testing
