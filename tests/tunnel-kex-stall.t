#!/bin/bash
# A site that stops answering in the middle of the key exchange: it
# sends its banner and its KEXINIT, reads the tunnel's KEXINIT and
# ECDH_INIT, and never replies.  The tunnel must give up after its setup
# bound, say so, try again, and stop at once when asked, without
# waiting for the key exchange.  Under make check-valgrind this is also
# the case where libssh2 1.10 leaks the key pair of a key exchange that
# is freed half-way (tests/valgrind.supp).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((21000 + RANDOM % 900)) PORT_HI=$((PORT_LO + 20))
command -v python3 >/dev/null
ok $? "python3 is there to play the stalling site"

# The site: each connection gets a banner and a KEXINIT offering only
# what libssh2 1.10 and 1.11 both do; the types of the packets the
# client sends are written to $T/got.N, and the connection is then held
# open, unanswered.
port=$(free_port)
python3 - "$port" "$T" >"$T/site.log" 2>&1 <<'EOF' &
import os, socket, struct, sys, threading
port, d = int(sys.argv[1]), sys.argv[2]

def namelist(s):
    return struct.pack(">I", len(s)) + s.encode()

def kexinit():
    p = bytes([20]) + os.urandom(16)
    for s in ["curve25519-sha256", "ssh-ed25519", "aes128-ctr",
              "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none",
              "none", "", ""]:
        p += namelist(s)
    p += bytes([0]) + struct.pack(">I", 0)
    pad = 8 - (len(p) + 5) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", len(p) + pad + 1, pad) + p + bytes(pad)

def serve(c, n):
    c.sendall(b"SSH-2.0-Stall_1.0\r\n" + kexinit())
    buf, types = b"", []
    while True:
        b = c.recv(65536)
        if not b:
            break
        buf += b
        if buf.startswith(b"SSH-") and b"\r\n" in buf:
            buf = buf.split(b"\r\n", 1)[1]
        while len(buf) >= 6 and not buf.startswith(b"SSH-"):
            size = struct.unpack(">I", buf[:4])[0] + 4
            if len(buf) < size:
                break
            types.append(str(buf[5]))
            buf = buf[size:]
        with open("%s/got.%d" % (d, n), "w") as f:
            f.write(" ".join(types) + "\n")

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    n += 1
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
EOF
site_pid=$!
cleanup "kill_wait $site_pid"
cleanup stop_tunnels
wait_for 5 listening "$port"
ok $? "the stalling site listens"

SSHD_PORT=$port
ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519"
add_test_site stall
run opt-tunnel start stall
is "$rc" 69 "start says the tunnel is not up in time (69)"
like "$err" "stall: not up .*it keeps trying" "...and that it keeps trying"

# libssh2's KEXINIT (20) and its ECDH_INIT (30, its curve25519 public
# key) have both arrived: it waits in the exchange.
sent() { [ "$(cat "$T/got.$1" 2>/dev/null)" = "20 30" ]; }
wait_for 10 sent 1
ok $? "the tunnel sent its KEXINIT and its ECDH_INIT, then waits"

# The setup bound (10 s here) ends the attempt; a second one follows.
wait_for 20 logged 'timed out connecting to 127\.0\.0\.1 port [0-9]+ after 10 s' stall
ok $? "the attempt ends after its setup bound, and the log says why"
wait_for 15 test -e "$T/got.2"
ok $? "the tunnel tries again"
wait_for 10 sent 2
ok $? "...and stalls again in the key exchange"

t0=$(ms_now)
run opt-tunnel stop stall
t=$(($(ms_now) - t0))
is "$rc" 0 "stop in the middle of a key exchange succeeds"
[ "$t" -lt 3000 ]
ok $? "...at once (${t} ms)"
! tunnel_pids stall | grep -q .
ok $? "...and no tunnel process is left"
done_testing
