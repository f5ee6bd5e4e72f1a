#!/bin/bash
# Rekeying, which the site's sshd starts: with `RekeyLimit 1M 2` it
# renews the session keys after every MiB and every 2 seconds.  8 jobs
# of 32 MiB of random bytes at once through a compressed session (some
# 200 rekeys while data flows both ways), all of them byte for byte;
# then an idle while that spans several time-based rekeys (only
# keepalives flow); then one more job, byte for byte.  The session never
# drops: one event=up, reconnects=0.  This guards behaviour to keep,
# through the rewrite of the engine (issue 11): it passes on both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))
SIZE=33554432
NJOBS=8
IDLE=7

# rekeys: how many key exchanges the sshd has finished (the first one
# of each connection included).
rekeys() { grep -c 'SSH2_MSG_NEWKEYS received' "$T/sshd/log"; }

# sshd.sh takes the sshd binary from $SSHD: options given with -o come
# before those of its config file, and the first value of an option wins.
cat >"$T/sshd-rekey" <<EOF
#!/bin/sh
exec /usr/sbin/sshd -o 'RekeyLimit 1M 2' -o 'LogLevel DEBUG1' "\$@"
EOF
chmod +x "$T/sshd-rekey"
SSHD=$T/sshd-rekey
need_sshd
start_printer lp
add_test_site nautilus bind=127.0.0.1 compression=true
port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
like "$out" "compression zlib@openssh.com" "the session is compressed"
like "$(cat "$T/sshd/log")" "rekey (in|out) after [0-9]+ blocks" "sshd rekeys by volume (RekeyLimit 1M)"
k0=$(rekeys)

pids=
for i in $(seq 1 "$NJOBS"); do
	head -c "$SIZE" /dev/urandom >"$T/job$i"
	send-job "$port" "$T/job$i" >/dev/null 2>"$T/job$i.err" &
	pids="$pids $!"
done
cleanup "kill $pids 2>/dev/null"
t0=$(ms_now)
wait_all $pids
secs=$((($(ms_now) - t0) / 1000))
is "$failed" 0 "$NJOBS parallel jobs of 32 MiB end cleanly (in $secs s)"
wait_for 30 njobs_done "$T/lp" "$NJOBS"
want=$(for i in $(seq 1 "$NJOBS"); do sha "$T/job$i"; done | sort)
is "$(shas "$T/lp")" "$want" "the printer got all $NJOBS jobs byte for byte"
k1=$(rekeys)
[ "$((k1 - k0))" -ge 100 ]
ok $? "the session was rekeyed many times meanwhile ($((k1 - k0)) key exchanges)"
is "$(st state)" up "the state is up"

# Idle: only keepalives, and a rekey every 2 s.
sleep "$IDLE"
k2=$(rekeys)
[ "$((k2 - k1))" -ge 2 ]
ok $? "the idle ${IDLE} s had time-based rekeys ($((k2 - k1)))"
is "$(st state)" up "the state is still up"

head -c 5000000 /dev/urandom >"$T/last"
run send-job "$port" "$T/last"
is "$rc" 0 "a job after the idle time ends cleanly"
wait_for 10 got_job "$T/lp" "$T/last"
ok $? "...and arrives byte for byte"

is "$(st reconnects)" 0 "reconnects=0"
is "$(log | grep -c 'event=up ')" 1 "one event=up: the session never dropped"
! logged "event=(down|retry|job-failed|job-cut) "
ok $? "no down, retry, job-failed or job-cut in the log"
is "$(log | grep -c 'event=job-done ')" $((NJOBS + 1)) "the log has $((NJOBS + 1)) jobs done"
diag "key exchanges: $((k1 - k0)) during the $NJOBS jobs, $((k2 - k1)) in ${IDLE} s of idle"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
