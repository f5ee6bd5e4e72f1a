#!/bin/bash
# A printer that does not answer at all (its SYNs are dropped) holds up
# the opening of other jobs' channels: SSH opens channels one at a time
# per session, and the site's sshd answers an open only when its own
# connect to the printer ends.  This measures that delay, which is the
# site's connect timeout (Linux: net.ipv4.tcp_syn_retries; the default 6
# gives about 127 s); opt-tunnel(1) documents it.
#
# It runs in a network namespace of its own (unshare -n), where the
# connect timeout can be made short: tcp_syn_retries=1 gives about 3 s.
. "$(dirname "$0")/netns.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if [ -z "${OPT_IN_NETNS:-}" ]; then
	skip "needs root and unshare for a network namespace"
	done_testing
	exit
fi
sysctl -q -w net.ipv4.tcp_syn_retries=1

need_sshd
start_printer lp
black_hole

add_test_site nautilus
bh=$(opt-channel add -q nautilus "127.0.0.1:$hole")
good=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
cleanup stop_tunnels
run opt-tunnel start nautilus
is "$rc" 0 "the tunnel is up"

head -c 100000 /dev/urandom >"$T/job"
start=$(date +%s%N)
send-job "$bh" "$T/job" >/dev/null 2>&1 &
bhjob=$!
sleep 0.2
run send-job "$good" "$T/job"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 0 "the job on the working printer passes"
wait_for 5 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job")" "...byte for byte"
wait "$bhjob"
is "$?" 3 "the job on the black-holed printer fails with a reset"
[ "$ms" -ge 2000 ] && [ "$ms" -le 8000 ]
ok $? "the other job waited for the site's connect timeout (${ms} ms; about 3 s here)"
diag "blackholed printer delayed another channel's job by ${ms} ms (tcp_syn_retries=1)"
like "$(cat "$MAST_LOG_DIR/nautilus.log")" "event=job-failed channel=1 .*cannot reach printer 127.0.0.1:$hole" \
	"the log says which printer could not be reached"
done_testing
