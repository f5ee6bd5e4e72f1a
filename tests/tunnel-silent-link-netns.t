#!/bin/bash
# The site's link goes down without a FIN or a reset: the tunnel runs in
# one network namespace, sshd and the printer in another, joined by a
# veth pair, and the site's end of the pair is set down in the middle of
# a session.  The tunnel must declare the site dead within
# keepalive_interval x keepalive_count + 2 s, and reconnect by itself
# once the link is back.  (tunnel-detects-silent-link.t covers the same
# with a proxy, for runs without root.)  Only the two namespaces this
# test creates carry the traffic; nothing is routed outside them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "network namespaces need root (the proxy variant ran instead)"
	done_testing
	exit
fi

# Names and addresses unique to this run.
A=optA$$ B=optB$$ VA=vopta$$ VB=voptb$$
net=10.231.$(($$ % 200)).
ip_a=${net}1 ip_b=${net}2
inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }

ip netns add "$A" && ip netns add "$B"
ok $? "two network namespaces are created"
# Every process left in a namespace goes first: the site's session of
# the silent link never hears of the client again.
cleanup "for n in $A $B; do ip netns pids \$n 2>/dev/null | xargs -r kill -9; ip netns del \$n 2>/dev/null; done"
ip link add "$VA" netns "$A" type veth peer name "$VB" netns "$B" &&
	inA ip addr add "$ip_a/30" dev "$VA" && inA ip link set "$VA" up &&
	inA ip link set lo up && inB ip addr add "$ip_b/30" dev "$VB" &&
	inB ip link set "$VB" up && inB ip link set lo up
ok $? "a veth pair joins them ($ip_a - $ip_b)"

# sshd in B, listening on B's end of the link.
ssh-keygen -q -t ed25519 -N '' -f "$T/host_ed25519" &&
	ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519" -C opt-test &&
	cp "$T/id_ed25519.pub" "$T/authorized_keys"
SSHD_PORT=22
cat >"$T/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress $ip_b
HostKey $T/host_ed25519
PidFile none
AuthorizedKeysFile $T/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PermitTTY no
LogLevel VERBOSE
ClientAliveInterval 2
ClientAliveCountMax 3
CONF
mkdir -p /run/sshd
# (ip netns exec execs the command: $! is sshd's own pid)
ip netns exec "$B" "$SSHD" -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
sshd_pid=$!
cleanup "kill $sshd_pid 2>/dev/null"
open_in_B() { inB bash -c "exec 3<>/dev/tcp/$ip_b/$SSHD_PORT" 2>/dev/null; }
wait_for 10 open_in_B
ok $? "sshd listens in the site's namespace"

# The printer on the site's own loopback, as a LAN printer seen by sshd.
mkdir -p "$T/lp"
ip netns exec "$B" "$top/tests/fake-printer" -d "$T/lp" >"$T/lp.port" &
cleanup "kill $! 2>/dev/null"
wait_for 5 grep -q port "$T/lp.port"
printer_port=$(cut -d' ' -f2 "$T/lp.port")

add_test_site nautilus
opt-site set -q nautilus host="$ip_b"
port=$(opt-channel add -q nautilus "127.0.0.1:$printer_port")
cleanup "opt-tunnel stop -q nautilus >/dev/null 2>&1"
run inA opt-tunnel start nautilus
is "$rc" 0 "the tunnel starts in the office's namespace"
wait_for 15 grep -q '^state=up' "$MAST_RUN_DIR/nautilus.state"
ok $? "it is up across the veth link"

head -c 300000 /dev/urandom >"$T/job1"
run inA send-job "$port" "$T/job1"
wait_for 10 test -f "$T/lp/job-1"
is "$rc:$(sha "$T/lp/job-1" 2>/dev/null)" "0:$(sha "$T/job1")" \
	"a job crosses the link byte for byte"

# The site's end goes down: no FIN, no reset, the packets just vanish.
inB ip link set "$VB" down
start=$(date +%s%N)
wait_for 15 grep -q 'event=down reason="no answer from the site' \
	"$MAST_LOG_DIR/nautilus.log"
ok $? "the silent site is declared down"
ms=$((($(date +%s%N) - start) / 1000000))
# keepalive_interval 1 x keepalive_count 3 (tests/sshd.sh) = 3 s; + 2 s.
[ "$ms" -le 5000 ]
ok $? "within keepalive_interval x keepalive_count + 2 s (took $ms ms)"
diag "link down to event=down: $ms ms"

inB ip link set "$VB" up
wait_for 20 grep -q '^state=up' "$MAST_RUN_DIR/nautilus.state"
ok $? "it reconnects by itself once the link is back"
# The lost session counts, and so does an attempt made before the
# neighbour entry came back ("No route to host"): see opt-status(1).
n=$(sed -n 's/^reconnects=//p' "$MAST_RUN_DIR/nautilus.state")
[ "${n:-0}" -ge 1 ] && grep -q 'event=down' "$MAST_LOG_DIR/nautilus.log"
ok $? "the state file counts the lost session (reconnects=$n)"
head -c 300000 /dev/urandom >"$T/job2"
run inA send-job "$port" "$T/job2"
wait_for 10 test -f "$T/lp/job-2"
is "$rc:$(sha "$T/lp/job-2" 2>/dev/null)" "0:$(sha "$T/job2")" \
	"the next job passes"
done_testing
