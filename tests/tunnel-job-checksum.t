#!/bin/bash
# A real job through a real tunnel: the printer receives it byte for
# byte, its reply after the end of the job reaches the client, and the
# session is compressed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
lp_site --reply "@PJL INFO STATUS CODE=10001"

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
like "$out" "^nautilus: up \(pid [0-9]+, compression zlib@openssh.com\)$" "start says it is up, compressed"

head -c 16777216 /dev/urandom >"$T/job16m"
run send-job "$port" "$T/job16m"
is "$rc" 0 "a 16 MiB job ends cleanly"
is "$out" "@PJL INFO STATUS CODE=10001" "the printer's reply after end of job reaches the client"
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job16m")" "the printer got the 16 MiB job byte for byte"

# 8 parallel jobs of different sizes.
pids=
for i in 1 2 3 4 5 6 7 8; do
	head -c $((i * 300000 + 17)) /dev/urandom >"$T/par$i"
	send-job "$port" "$T/par$i" >"$T/par$i.reply" &
	pids="$pids $!"
done
wait_all $pids
is "$failed" 0 "8 parallel jobs end cleanly"
wait_for 20 test -f "$T/lp/job-9"
want=$(for i in 1 2 3 4 5 6 7 8; do sha "$T/par$i"; done | sort)
got=$(for i in 2 3 4 5 6 7 8 9; do [ -f "$T/lp/job-$i" ] && sha "$T/lp/job-$i"; done | sort)
is "$got" "$want" "the printer got all 8 jobs byte for byte"

# Compression on print-like (compressible) data.
yes 'ESC*p0x0Y PCL line of text for the printer' | head -c 4000000 >"$T/pcl"
run send-job "$port" "$T/pcl"
wait_for 10 test -f "$T/lp/job-10"
is "$(sha "$T/lp/job-10")" "$(sha "$T/pcl")" "a 4 MB text job arrives intact"
wait_for 5 grep -q "event=job-done .*bytes_up=4000000 " "$MAST_LOG_DIR/nautilus.log"
wire=$(grep "event=job-done .*bytes_up=4000000 " "$MAST_LOG_DIR/nautilus.log" | sed 's/.* wire_up=\([0-9]*\) .*/\1/')
[ -n "$wire" ] && [ "$wire" -lt 400000 ]
ok $? "its 4000000 bytes took ${wire:-?} wire bytes (compressed)"
like "$(cat "$MAST_LOG_DIR/nautilus.log")" "event=up compression=zlib@openssh.com" "the log says compression is on"
like "$(cat "$MAST_LOG_DIR/nautilus.log")" "event=job-done channel=1 peer=127.0.0.1:[0-9]+ bytes_up=16777216 bytes_down=27" "the log has the job with its bytes"
like "$(cat "$T/sshd/../etc/nautilus/known_hosts" 2>/dev/null || cat "$MAST_CONFIG_DIR/nautilus/known_hosts")" \
	"^\[127.0.0.1\]:$SSHD_PORT ssh-ed25519 " "the host key was pinned (accept-new)"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
[ ! -e "$MAST_RUN_DIR/nautilus.pid" ]
ok $? "the pidfile is gone"
done_testing
