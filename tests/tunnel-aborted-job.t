#!/bin/bash
# A client that gives up on a job whose printer stopped reading (it
# resets its connection) costs that one channel, not the session
# (issue 11, defect 3).  The printer of channel 1 reads nothing, so
# once the client has filled every buffer on the way (its writes
# block), the site's sshd holds data it cannot hand over and does not
# answer the channel's close.  Meanwhile a long, paced job runs on
# channel 2.  The job of channel 1 ends alone (event=job-failed
# channel=1): its channel is closed or, if the site does not answer
# the close within 10 s, abandoned; the session stays up (no
# event=down; the state, sampled 5 times a second, stays up;
# reconnects=0) and the job on channel 2 arrives whole (sha256).
# Then the same on a quiet session (keepalive every 30 s, nothing else
# moving), where the site never answers the close: the channel is
# abandoned after 10 s (event=channel-abandoned), and the session
# stays up and takes the next job.
# Before, a close that did not come in 10 s dropped the whole session
# with every job on it (event=down reason="would block").
#
# The printer is not fake-printer --stall but one that, reading
# nothing, sends a status line every 0.5 s (a jammed printer's
# unsolicited PJL status): with --stall the tunnel's buffer for the
# client is full when the client resets, and a tunnel that polls the
# client only for reading never sees the reset, so no close starts and
# there is nothing to abandon.  The status gives the tunnel bytes to
# forward, so that the reset is seen whatever it polls for.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((23000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))
WAIT=15 # seconds after the abort: beyond the 10 s close bound

gone() { ! kill -0 "$1" 2>/dev/null; }

need_sshd
# Channel 1's printer: reads nothing, ever; a status line every 0.5 s.
python3 - >"$T/jam.port" 2>"$T/jam.err" <<'PY' &
import socket, threading, time
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
print("port %d" % ls.getsockname()[1], flush=True)
def status(c):
    try:
        while True:
            c.sendall(b"@PJL USTATUS DEVICE\r\nCODE=40000\r\n")
            time.sleep(0.5)
    except OSError:
        pass
while True:
    c, _ = ls.accept()
    threading.Thread(target=status, args=(c,), daemon=True).start()
PY
jam_pid=$!
cleanup "kill $jam_pid 2>/dev/null"
wait_for 5 grep -q port "$T/jam.port"
jam=$(cut -d' ' -f2 "$T/jam.port")
start_printer lp # channel 2: a working printer
lp=$PRINTER_PORT
add_test_site nautilus bind=127.0.0.1
c1=$(opt-channel add -q nautilus "127.0.0.1:$jam")
c2=$(opt-channel add -q nautilus "127.0.0.1:$lp")
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "the tunnel starts"
is "$(st reconnects)" 0 "reconnects=0 at first"

# The long job on channel 2: 64 KiB every 0.5 s for 16 s (2 MiB), then
# the end of the job, then the printer's end.  Exit 0 on a clean end, 3
# on a reset or an error.
head -c $((32 * 65536)) /dev/urandom >"$T/long"
python3 - "$c2" "$T/long" >"$T/long.out" 2>&1 <<'PY' &
import socket, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
data = open(path, "rb").read()
try:
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    for i in range(0, len(data), 65536):
        s.sendall(data[i:i + 65536])
        time.sleep(0.5)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    print("done %d bytes in %.1f s" % (len(data), time.monotonic() - t0))
except OSError as e:
    print("error: %s" % e)
    sys.exit(3)
PY
long=$!
cleanup "kill $long 2>/dev/null"
sleep 1

# The job on channel 1: as much as the path takes (at most 64 MiB),
# until the writes block for 2 s, then a reset (SO_LINGER 0, close).
python3 - "$c1" >"$T/abort.out" 2>&1 <<'PY'
import os, select, socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
block, sent, blocked = os.urandom(65536), 0, False
while sent < 64 << 20:
    try:
        sent += s.send(block)
    except BlockingIOError:
        if not select.select([], [s], [], 2)[1]:
            blocked = True
            break
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("sent %d blocked %s" % (sent, "yes" if blocked else "no"))
PY
is "$?" 0 "the client of channel 1 sends, then resets its connection"
t_abort=$(ms_now)
like "$(cat "$T/abort.out")" "blocked yes" "...once its writes block (the printer reads nothing)"
diag "channel 1 client: $(cat "$T/abort.out")"

# The state, sampled 5 times a second meanwhile.
states=
while [ $(($(ms_now) - t_abort)) -lt $((WAIT * 1000)) ]; do
	s=$(st state)
	case " $states " in *" ${s:-none} "*) ;; *) states+=" ${s:-none}" ;; esac
	sleep 0.2
done
! logged "event=down "
ok $? "no event=down in the $WAIT s after the abort"
log nautilus | grep 'event=down ' | sed 's/^/    /' >&2
is "${states# }" up "the state stayed up all along (sampled: ${states# })"
logged "event=job-failed channel=1 .*error=\"client connection (aborted|lost)\""
ok $? "the job of channel 1 ended alone, failed (the client reset it)"

# The long job ends by itself (16 s of sending); give it some room.
wait_for 20 gone "$long"
kill "$long" 2>/dev/null
wait "$long"
is "$?" 0 "the long job on channel 2 ends cleanly"
diag "channel 2 client: $(cat "$T/long.out")"
wait_for 10 got_job "$T/lp" "$T/long"
ok $? "...and its printer has it whole (sha256)"
is "$(st reconnects)" 0 "reconnects=0 in the state file"
is "$(log nautilus | grep -c "event=job-done channel=2 .*bytes_up=$((32 * 65536)) ")" 1 \
	"the log has the long job done, every byte up"

run opt-tunnel stop nautilus
is "$rc" 0 "stop"

# --- a quiet session: the site never answers the close ---------------
start_printer stuck --stall
stuck=$PRINTER_PORT
add_test_site quiet bind=127.0.0.1
opt-site set -q quiet keepalive_interval=30
q1=$(opt-channel add -q quiet "127.0.0.1:$stuck")
q2=$(opt-channel add -q quiet "127.0.0.1:$lp")
run opt-tunnel start quiet
is "$rc" 0 "the quiet site's tunnel starts"
python3 - "$q1" >"$T/abort2.out" 2>&1 <<'PY'
import os, select, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
block, sent = os.urandom(65536), 0
while sent < 64 << 20:
    try:
        sent += s.send(block)
    except BlockingIOError:
        if not select.select([], [s], [], 2)[1]:
            break
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("sent %d" % sent)
PY
t_abort=$(ms_now)
wait_for 15 logged "event=channel-abandoned channel=1( |\$)" quiet
ok $? "the channel whose close the site never answers is abandoned"
ms=$(($(ms_now) - t_abort))
[ "$ms" -ge 9000 ]
ok $? "...after the 10 s bound (${ms} ms after the reset)"
! logged "event=down " quiet
ok $? "...and the session stays up (no event=down)"
is "$(st state quiet):$(st reconnects quiet)" "up:0" "state up, reconnects=0"
head -c 300000 /dev/urandom >"$T/after"
run send-job "$q2" "$T/after"
is "$rc" 0 "the next job on the quiet site ends cleanly"
wait_for 10 got_job "$T/lp" "$T/after"
ok $? "...and arrives byte for byte"
run opt-tunnel stop quiet
is "$rc" 0 "stop"
done_testing
