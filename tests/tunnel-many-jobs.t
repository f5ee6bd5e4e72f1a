#!/bin/bash
# Many jobs at once through a slow, small-buffered path: a TCP proxy
# between the tunnel and sshd with tiny socket buffers that moves the
# SSH stream in small pieces, so that the session's socket is often
# full and every send can be partial.  8 channels with 2 concurrent
# 2 MiB jobs each: every job ends cleanly and every printer gets exactly
# its own jobs, byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))


need_sshd

# The proxy: one process, select(), non-blocking sockets with small
# kernel buffers (4 KiB asked), at most 1 KiB per recv and 8 KiB waiting
# per direction; TCP_NODELAY, or delayed ACKs make it crawl.
cat >"$T/proxy.py" <<'PY'
import errno, select, socket, sys
dport, buf, chunk = (int(a) for a in sys.argv[1:4])
limit = 8 * chunk
def small(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buf)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buf)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
small(ls)  # accepted sockets inherit it
ls.bind(("127.0.0.1", 0))
ls.listen(8)
print("port", ls.getsockname()[1], flush=True)
peer, out, eof = {}, {}, set()
def drop(s):
    o = peer.pop(s, None)
    for x in (s, o):
        if x is not None:
            peer.pop(x, None); out.pop(x, None); eof.discard(x); x.close()
while True:
    rl = [ls] + [s for s in peer if s not in eof and len(out[peer[s]]) < limit]
    wl = [s for s in peer if out[s]]
    r, w, _ = select.select(rl, wl, [])
    for s in w:
        if s not in peer:
            continue
        try:
            n = s.send(out[s])
        except BlockingIOError:
            continue
        except OSError:
            drop(s); continue
        out[s] = out[s][n:]
        if not out[s] and peer.get(s) in eof:
            drop(s)
    for s in r:
        if s is ls:
            c, _ = ls.accept()
            d = socket.socket(); small(d)
            d.connect(("127.0.0.1", dport))
            c.setblocking(False); d.setblocking(False)
            peer[c], peer[d] = d, c
            out[c], out[d] = b"", b""
            continue
        if s not in peer:
            continue
        try:
            data = s.recv(chunk)
        except BlockingIOError:
            continue
        except OSError:
            drop(s); continue
        if not data:
            eof.add(s)
            if not out[peer[s]]:
                drop(s)
            continue
        out[peer[s]] += data
PY
python3 "$T/proxy.py" "$SSHD_PORT" 4096 1024 >"$T/proxy.port" 2>"$T/proxy.err" &
proxy=$!
cleanup "kill $proxy 2>/dev/null"
wait_for 5 grep -q port "$T/proxy.port"
ok $? "the proxy runs"
proxy_port=$(cut -d' ' -f2 "$T/proxy.port")

add_test_site nautilus bind=127.0.0.1 port="$proxy_port"
for c in 1 2 3 4 5 6 7 8; do
	start_printer "lp$c"
	port[c]=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
done
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "the tunnel comes up through the proxy"

# 16 jobs at once, 2 per channel, 2 MiB of random bytes each.
pids=
for c in 1 2 3 4 5 6 7 8; do
	for k in a b; do
		head -c 2097152 /dev/urandom >"$T/job$c$k"
		send-job "${port[c]}" "$T/job$c$k" >/dev/null 2>"$T/job$c$k.err" &
		pids="$pids $!"
		echo "$!" >"$T/job$c$k.pid"
	done
done
cleanup "kill $pids 2>/dev/null"
t0=$(date +%s)
failed=
for c in 1 2 3 4 5 6 7 8; do
	for k in a b; do
		wait "$(cat "$T/job$c$k.pid")" || failed="$failed $c$k($?)"
	done
done
secs=$(($(date +%s) - t0))
is "$failed" "" "all 16 jobs end cleanly (send-job exit 0) in ${secs} s"
bad=
for c in 1 2 3 4 5 6 7 8; do
	wait_for 10 njobs_done "$T/lp$c" 2
	want=$(for k in a b; do sha "$T/job$c$k"; done | sort)
	[ "$(shas "$T/lp$c")" = "$want" ] || bad="$bad $c"
done
is "$bad" "" "every printer got exactly its 2 jobs, byte for byte"
is "$(log | grep -c 'event=job-done .* bytes_up=2097152 ')" 16 "the log has 16 jobs done with all their bytes"
! log | grep -Eq 'event=(job-failed|down|retry) '
ok $? "no job failed and the session never dropped"
is "$(st reconnects)" 0 "reconnects=0"
wait_for 5 st_is payload_up $((16 * 2097152)) # written within a second
is "$(st payload_up)" $((16 * 2097152)) "payload_up counts every byte"
kill -0 "$proxy" 2>/dev/null
ok $? "the proxy is still there (the path was the proxy)"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
