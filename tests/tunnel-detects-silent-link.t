#!/bin/bash
# A site whose link goes silent without a FIN (a proxy in the path stops
# forwarding but keeps the TCP connection open) is declared dead within
# keepalive_interval x keepalive_count seconds plus a little, and the
# tunnel reconnects by itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
start_printer lp

# The proxy forwards 127.0.0.1:PROXY -> sshd.  On SIGUSR1 the
# connections open at that moment go silent (bytes are read and
# dropped, nothing is sent, nothing is closed); new ones work.
proxy_port=$(free_port)
python3 - "$proxy_port" "$SSHD_PORT" >"$T/proxy.out" 2>&1 <<'PY' &
import select, signal, socket, sys
lport, dport = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(8)
pairs, frozen = {}, set()
def freeze(*a):
    frozen.update(pairs.keys())
signal.signal(signal.SIGUSR1, freeze)
print("ready", flush=True)
while True:
    try:
        r, _, _ = select.select([ls] + list(pairs), [], [], 1)
    except InterruptedError:
        continue
    for s in r:
        if s is ls:
            c, _ = ls.accept()
            d = socket.create_connection(("127.0.0.1", dport))
            pairs[c] = d; pairs[d] = c
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if s in frozen:
            continue  # silent: swallow, never answer, never close
        if not data:
            o = pairs.pop(s); pairs.pop(o, None)
            s.close(); o.close()
            continue
        pairs[s].sendall(data)
PY
proxy=$!
cleanup "kill $proxy 2>/dev/null"
wait_for 5 grep -q ready "$T/proxy.out"

add_test_site nautilus port="$proxy_port"
port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
cleanup stop_tunnels
run opt-tunnel start nautilus
is "$rc" 0 "the tunnel is up through the proxy"

kill -USR1 $proxy
start=$(date +%s%N)
wait_for 15 grep -q 'event=down reason="no answer from the site' "$MAST_LOG_DIR/nautilus.log"
ok $? "the silent site is declared down"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
# keepalive_interval 1 x keepalive_count 3 = 3 s; allow 2 s more.
[ "$ms" -le 5000 ]
ok $? "within keepalive_interval x keepalive_count + 2 s (took $ms ms)"

wait_for 15 grep -q '^state=up' "$MAST_RUN_DIR/nautilus.state"
ok $? "it reconnects by itself"
is "$(sed -n 's/^reconnects=//p' "$MAST_RUN_DIR/nautilus.state")" 1 "reconnects=1"
head -c 500000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
wait_for 10 test -f "$T/lp/job-1"
is "$rc:$(sha "$T/lp/job-1")" "0:$(sha "$T/job")" "the next job passes"
done_testing
