#!/bin/bash
# A printer that takes a job and then stops reading for 30 s (its process
# stopped, as a printer busy with a paper jam: the connection stays open,
# nothing is read) holds up that job only (opt-tunnel(1) JOBS: a fast
# client waits for a slow printer; no job is held whole in memory).
# During the stall: jobs on another channel of the same tunnel arrive
# byte for byte, each within 5 s; the session is not declared dead (a
# channel with no window is not a silent link); the tunnel's memory stays
# bounded: its RSS, sampled twice a second, grows less than 16 MiB over
# its value before the stall, while a 32 MiB job waits on the stalled
# printer.  Nothing promises a job timeout, so once the printer reads
# again the big job completes, byte for byte, with its job-done line.
# (A printer that refuses connections or closes early is
# tests/tunnel-printer-down.t.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((26000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))
STALL=30    # seconds the printer reads nothing
JOB_MAX=5000 # ms a job on the other channel may take meanwhile
RSS_MAX=16384 # KiB the tunnel's RSS may grow by during the stall

kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$tpid/status"; }
part_size() { stat -c %s "$T"/jam/job-*.part 2>/dev/null | sort -n | tail -1; }
part_over() { [ "$(part_size)" -gt "$1" ] 2>/dev/null; }

need_sshd
lp_site bind=127.0.0.1 # channel 1, to printer lp: the jobs that must pass
fast=$port
start_printer jam # channel 2, to printer jam: the one that stalls
slow=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
jam_pid=$PRINTER_PID_jam
cleanup "kill -CONT $jam_pid 2>/dev/null"

run opt-tunnel start nautilus
is "$rc" 0 "the tunnel starts"
tpid=$(cat "$MAST_RUN_DIR/nautilus.pid")

# Warm up both channels, so that the baseline has every buffer a job
# needs.
head -c 2097152 /dev/urandom >"$T/warm"
send-job "$slow" "$T/warm" >/dev/null && send-job "$fast" "$T/warm" >/dev/null &&
	wait_for 10 got_job "$T/jam" "$T/warm" && wait_for 10 got_job "$T/lp" "$T/warm"
ok $? "a warm-up job on each channel"
rss0=$(kib VmRSS)

# The big job starts; once the printer has 1 MiB of it, it stops reading.
head -c 33554432 /dev/urandom >"$T/big"
t_big=$(ms_now)
send-job "$slow" "$T/big" >/dev/null 2>"$T/big.err" &
big=$!
cleanup "kill $big 2>/dev/null"
wait_for 10 part_over 1048576
ok $? "the big job reaches the printer"
kill -STOP "$jam_pid"
t_stall=$(ms_now)
had=$(part_size)
diag "printer stalled with $((had / 1024)) KiB of the 32 MiB job; tunnel RSS before: $rss0 KiB"

# During the stall: jobs on the other channel, RSS sampled meanwhile.
( while :; do kib VmRSS; sleep 0.5; done >"$T/rss" 2>/dev/null ) &
sampler=$!
cleanup "kill $sampler 2>/dev/null"
slowest=0 failed=0 n=0 times=
while [ $(($(ms_now) - t_stall)) -lt $(((STALL - 6) * 1000)) ]; do
	n=$((n + 1))
	head -c $((500000 + n * 300007)) /dev/urandom >"$T/j$n"
	t0=$(ms_now)
	send-job "$fast" "$T/j$n" >/dev/null 2>>"$T/fast.err" && wait_for 5 got_job "$T/lp" "$T/j$n" ||
		failed=$((failed + 1))
	ms=$(($(ms_now) - t0))
	times+="$ms "
	[ "$ms" -gt "$slowest" ] && slowest=$ms
	sleep 3
done
diag "jobs on the other channel during the stall (ms): $times"
is "$failed" 0 "$n jobs on the other channel during the stall arrive byte for byte"
[ "$slowest" -lt "$JOB_MAX" ]
ok $? "...each within $JOB_MAX ms (slowest $slowest ms)"
kill -0 "$big" 2>/dev/null
ok $? "the big job is still waiting, not failed"
# Backpressure: the client cannot hand the whole job over (what it wrote
# sits in socket buffers and the site's SSH window, not in the tunnel,
# whose RSS is measured below).
sent=$(awk '$1 == "wchar:" { print $2 }' "/proc/$big/io" 2>/dev/null)
[ -n "$sent" ] && [ "$sent" -lt 33554432 ]
ok $? "...and its client is held back: it could write $((${sent:-0} / 1024)) KiB of 32768"
is "$(st state):$(st reconnects)" "up:0" "the session is up, never dropped"
! logged "event=(down|job-failed|job-cut) "
ok $? "no down, job-failed or job-cut in the log"

while [ $(($(ms_now) - t_stall)) -lt $((STALL * 1000)) ]; do sleep 0.2; done
kill "$sampler"
wait "$sampler" 2>/dev/null
max=$(sort -n "$T/rss" | tail -1)
hwm=$(kib VmHWM)
diag "tunnel RSS: before the stall $rss0 KiB, during it at most $max KiB (+$((max - rss0)) KiB, $(wc -l <"$T/rss") samples), peak (VmHWM) $hwm KiB"
if ldd "$OPT_BIN/opt-tunnel" | grep -q libasan; then
	skip "the memory bound is measured without sanitizers (ASan's shadow memory)"
else
	[ $((max - rss0)) -lt "$RSS_MAX" ]
	ok $? "the tunnel's RSS grows by less than $((RSS_MAX / 1024)) MiB during the stall (+$((max - rss0)) KiB)"
fi

# The printer reads again: the big job completes.
kill -CONT "$jam_pid"
t_cont=$(ms_now)
wait_for 60 eval '! kill -0 "$big" 2>/dev/null' || kill "$big"
wait "$big"
is "$?" 0 "once the printer reads again the big job ends cleanly"
diag "the big job took $(($(ms_now) - t_big)) ms in all, $(($(ms_now) - t_cont)) ms after the stall; tunnel RSS after: $(kib VmRSS) KiB"
wait_for 20 got_job "$T/jam" "$T/big"
ok $? "...and the printer has it byte for byte (sha256)"
wait_for 5 logged "event=job-done channel=2 peer=127\.0\.0\.1:[0-9]+ bytes_up=33554432 "
ok $? "the log has its job-done line, 33554432 bytes up"
line=$(log | grep "event=job-done channel=2 .*bytes_up=33554432 " | head -1)
ms=$(printf '%s' "$line" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
[ -n "$ms" ] && [ "$ms" -ge $((STALL * 1000 - 1000)) ]
ok $? "...whose ms ($ms) covers the stall"
is "$(log | grep -c 'event=job-done channel=1 ')" $((n + 1)) "every job of channel 1 is logged done"
is "$(st state):$(st reconnects)" "up:0" "the session held throughout"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
