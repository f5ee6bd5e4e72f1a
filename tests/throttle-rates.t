#!/bin/bash
# Limits are kept on the wire: incompressible jobs through a real tunnel
# at 256 KiB/s and at 2 MiB/s take the time the limit says (within 5%),
# a change mid-job applies at once without a reconnect, and two jobs at
# once share the limit fairly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
lp_site
opt-tunnel start -q nautilus
log=$MAST_LOG_DIR/nautilus.log

# rate_of N: KiB/s on the wire of the Nth job-done line.
rate_of() {
	grep 'event=job-done' "$log" | sed -n "${1}p" |
		sed 's/.* wire_up=\([0-9]*\) .* ms=\([0-9]*\).*/\1 \2/' |
		awk '{ printf "%d", $1 / 1024 / ($2 / 1000) }'
}
within() { # within GOT WANT PERCENT
	awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }'
}

run opt-throttle set nautilus --up 256K --down 2M
is "$rc:$out" "0:nautilus: throttle on, up 256 KiB/s, down 2048 KiB/s" "set the limits"
head -c $((1536 * 1024)) /dev/urandom >"$T/j1"
run send-job "$port" "$T/j1"
wait_for 10 test -f "$T/lp/job-1"
is "$rc:$(sha "$T/lp/job-1")" "0:$(sha "$T/j1")" "a 1.5 MiB job at 256 KiB/s arrives intact"
wait_for 5 grep -q 'event=job-done' "$log"
r=$(rate_of 1)
within "$r" 256 5
ok $? "its wire rate is 256 KiB/s within 5% (measured $r KiB/s)"

opt-throttle set -q nautilus --up 2M
head -c $((12 * 1024 * 1024)) /dev/urandom >"$T/j2"
run send-job "$port" "$T/j2"
wait_for 10 test -f "$T/lp/job-2"
is "$rc:$(sha "$T/lp/job-2")" "0:$(sha "$T/j2")" "a 12 MiB job at 2 MiB/s arrives intact"
wait_for 5 test "$(grep -c 'event=job-done' "$log")" -ge 2
r=$(rate_of 2)
within "$r" 2048 5
ok $? "its wire rate is 2048 KiB/s within 5% (measured $r KiB/s)"

# A change in the middle of a job.
opt-throttle set -q nautilus --up 256K
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/j3"
start=$(ms_now)
send-job "$port" "$T/j3" >/dev/null &
job=$!
sleep 2
opt-throttle set -q nautilus --up 2M
wait "$job"
is "$?" 0 "the job whose limit changed ends cleanly"
ms=$(( $(ms_now) - start ))
# 2 s at 256 KiB/s, then about 3.5 MiB at 2 MiB/s: under 4.5 s; at
# 256 KiB/s all along it would take 16 s.
[ "$ms" -lt 6000 ]
ok $? "the new limit applied mid-job (took $ms ms, 16000 without the change)"
wait_for 10 test -f "$T/lp/job-3"
is "$(sha "$T/lp/job-3")" "$(sha "$T/j3")" "...and the job arrived intact"
is "$(sed -n 's/^reconnects=//p' "$MAST_RUN_DIR/nautilus.state")" 0 "no reconnect for a change of limits"

# Two equal jobs at once share the limit.
opt-throttle set -q nautilus --up 256K
head -c $((768 * 1024)) /dev/urandom >"$T/a"
head -c $((768 * 1024)) /dev/urandom >"$T/b"
start=$(ms_now)
(send-job "$port" "$T/a" >/dev/null; echo $(( $(ms_now) - start )) >"$T/a.ms") &
pa=$!
(send-job "$port" "$T/b" >/dev/null; echo $(( $(ms_now) - start )) >"$T/b.ms") &
pb=$!
wait $pa $pb
a=$(cat "$T/a.ms") b=$(cat "$T/b.ms")
awk -v a="$a" -v b="$b" 'BEGIN { m = a > b ? a : b; n = a < b ? a : b; exit !(m <= n * 1.2) }'
ok $? "two equal jobs finish within 20% of each other ($a ms and $b ms)"
[ "$a" -ge 5000 ] && [ "$b" -ge 5000 ]
ok $? "...sharing 256 KiB/s: 1.5 MiB in about 6 s"

# Down: a printer that answers with 2 MiB, under a 256 KiB/s download
# limit (a burst is at most the 64 KiB channel window).
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/reply"
start_printer big --reply-file "$T/reply"
port2=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
opt-throttle set -q nautilus --up 2M --down 256K
wait_for 5 listening "$port2"
n=$(grep -c 'event=job-done' "$log")
send-job "$port2" >"$T/got-reply"
is "$(sha "$T/got-reply")" "$(sha "$T/reply")" "the printer's 2 MiB answer arrives intact"
wait_for 5 test "$(grep -c 'event=job-done' "$log")" -gt "$n"
r=$(grep 'event=job-done' "$log" | tail -1 |
	sed 's/.* wire_down=\([0-9]*\).* ms=\([0-9]*\).*/\1 \2/' |
	awk '{ printf "%d", $1 / 1024 / ($2 / 1000) }')
within "$r" 256 5
ok $? "its wire rate down is 256 KiB/s within 5% (measured $r KiB/s)"

run opt-throttle show nautilus -H
like "$out" "^nautilus	yes	2048	256	" "show -H: site, on, up, down"
run opt-throttle off nautilus
is "$rc" 0 "off"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/j4"
start=$(ms_now)
run send-job "$port" "$T/j4"
ms=$(( $(ms_now) - start ))
[ "$ms" -lt 3000 ]
ok $? "with the throttle off a 4 MiB job is not limited ($ms ms)"
done_testing
