#!/bin/bash
# Spool channels in the engine: they listen while the site is down, a
# job is on disk (its bytes and checksum) when its client sees the end,
# delivery comes once the site is back, in order, byte for byte; an
# empty connection is no job; a channel made a spool channel by a
# reload takes jobs at once; a direct channel beside it is unaffected;
# a printer that closes early is retried after the backoff.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
lp_site
spool=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT" --mode spool)
like "$(opt-channel list -H nautilus | awk -F'\t' '$2 == 2')" "	spool	tcp$" "the second channel is a spool channel"

stop_sshd
run opt-tunnel start nautilus --wait 1
is "$rc" 69 "start says the site cannot be reached..."
alive "$(cat "$MAST_RUN_DIR/nautilus.pid")"
ok $? "...and the tunnel runs on"
wait_for 5 listening "$spool"
ok $? "the spool channel listens while the site is down"
listening "$port"
ok $((!$?)) "the direct channel does not"

for i in 1 2 3; do
	head -c $((i * 700000 + 11)) /dev/urandom >"$T/job$i"
done
t0=$(ms_now)
for i in 1 2 3; do
	send-job "$spool" "$T/job$i" >/dev/null || echo "job$i: $?" >>"$T/send.err"
done
ms=$(($(ms_now) - t0))
[ ! -s "$T/send.err" ]
ok $? "3 jobs handed over while the site is down, each ending cleanly (${ms} ms in all)"
dir=$MAST_SPOOL_DIR/nautilus/2
is "$(cd "$dir" && ls)" "0000000001.data
0000000001.job
0000000002.data
0000000002.job
0000000003.data
0000000003.job" "each on disk: its data and its metadata, nothing else"
is "$(sed -n 's/^sha256=//p' "$dir/0000000002.job")" "$(sha "$T/job2")" "the metadata holds the job's checksum"
is "$(sha "$dir/0000000003.data")" "$(sha "$T/job3")" "the data file is the job"
logged "event=job-stored channel=2 job=0000000001 peer=127.0.0.1:[0-9]+ bytes=700011 ms=[0-9]+"
ok $? "the log says the job is stored"
run opt-queue list -H nautilus
is "$(printf '%s\n' "$out" | cut -f3,4,5)" "0000000001	queued	700011
0000000002	queued	1400011
0000000003	queued	2100011" "opt-queue lists them queued, in order"

# A port check: connect and close without a byte.
(exec 3<>"/dev/tcp/127.0.0.1/$spool") 2>/dev/null
wait_for 5 logged "event=job-empty channel=2"
ok $? "a connection that sent nothing is logged as empty"
is "$(cd "$dir" && ls | grep -c '')" 6 "...and stores nothing"

start_sshd
wait_for 30 logged "event=job-delivered channel=2 job=0000000003"
ok $? "once the site is back, the jobs are delivered"
for i in 1 2 3; do
	is "$(sha "$T/lp/job-$i")" "$(sha "$T/job$i")" "job $i at the printer byte for byte, in order"
done
like "$(log | grep -o 'event=delivery-start channel=2 job=[0-9]*' | tr '\n' ' ')" \
	"job=0000000001 .*job=0000000002 .*job=0000000003 $" "delivered one after the other, in the order accepted"
is "$(cd "$dir" && ls | grep -c '')" 0 "delivered jobs are removed"
is "$(st channel.2.mode)" spool "the state file says the channel's mode"

# The direct channel beside it works as ever.
head -c 300000 /dev/urandom >"$T/direct"
run send-job "$port" "$T/direct"
is "$rc" 0 "a direct job through the same tunnel"
wait_for 10 got_job "$T/lp" "$T/direct"
ok $? "...arrives"

# channel 1 becomes a spool channel while the tunnel runs.
run opt-channel set nautilus 1 mode=spool
is "$rc" 0 "opt-channel set mode=spool on a running tunnel"
head -c 123457 /dev/urandom >"$T/after"
run send-job "$port" "$T/after"
is "$rc" 0 "its next job is stored"
wait_for 10 logged "event=job-delivered channel=1 job=[0-9]+ attempts=1 bytes_up=123457"
ok $? "...and delivered"
like "$(log | sed -n 's/.*event=job-stored channel=1 job=\([0-9]*\) .*bytes=123457 .*/\1/p')" \
	"^000000000[45]$" "...with the next site-wide id"
wait_for 10 got_job "$T/lp" "$T/after"
ok $? "...byte for byte"

# A printer that closes before the end: retried after 5 s.
start_printer shut --close-after 1000
opt-channel set -q nautilus 1 printer_port="$PRINTER_PORT"
head -c 400000 /dev/urandom >"$T/cut"
run send-job "$port" "$T/cut"
is "$rc" 0 "a job for a printer that will close early is stored"
wait_for 5 logged "event=job-stored channel=1 job=[0-9]+ .*bytes=400000 "
cut=$(log | sed -n 's/.*event=job-stored channel=1 job=\([0-9]*\) .*bytes=400000 .*/\1/p')
wait_for 10 logged "event=delivery-failed channel=1 job=$cut attempt=1 .*retry_in_ms=5000"
ok $? "the delivery fails, to be tried again in 5 s"
run opt-queue list -H nautilus
like "$(printf '%s\n' "$out" | awk -F'\t' -v j="$cut" '$3 == j')" "	queued	400000	[0-9]+	1	" \
	"opt-queue shows the attempt"
opt-channel set -q nautilus 1 printer_port="$(cut -d' ' -f2 "$T/lp.port")"
wait_for 15 logged "event=job-delivered channel=1 job=$cut attempts=2"
r=$?
ok $r "the second attempt, after the backoff, delivers it"
[ $r -eq 0 ] || diag "$(log | grep -E "job=$cut")"
wait_for 10 got_job "$T/lp" "$T/cut"
ok $? "...whole"

run opt-tunnel stop nautilus
is "$rc" 0 "stop"
done_testing
