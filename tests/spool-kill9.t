#!/bin/bash
# kill -9 of the tunnel, with jobs on disk in every state: while the site
# is down, CUPS's socket backend queues 6 jobs (the first of 16 MiB);
# the site back, the tunnel delivers the first to a slow p910nd (its
# device reads 64 KiB every 20 ms) while a slow client is handing over
# a 7th; then the tunnel is killed (SIGKILL).  The 7th client sees its
# connection fail, never a clean end.  The 6 jobs are still listed,
# and once `opt-tunnel start` has run again nothing half-stored is left
# in the spool, all 6 are printed whole and in order, the 7th not at
# all, and at most the job that was in flight is printed twice (whole
# or in part).
. "$(dirname "$0")/spool.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

N=6
need_printing
need_sshd
need_p910nd_site bind=127.0.0.1 --read-delay 20
start_up
stop_sshd
wait_for 10 not_up
ok $? "the site goes down ($(st state))"

files=()
for ((n = 1; n <= N; n++)); do
	f=$T/job$n
	case $n in
	1) head -c $((16 * 1024 * 1024)) /dev/urandom >"$f" ;;
	[35]) head -c $((n * 100000 + n)) /dev/urandom >"$f" ;;
	*) print_data "$f" "$n" ;;
	esac
	files+=("$f")
done
print_all "${files[@]}"
is "$failed" 0 "the backend queues $N jobs, exit 0 each"
is "$(queued)" "$N" "opt-queue lists $N jobs"

start_sshd
wait_for 30 logged 'event=delivery-start channel=1 job=[0-9]{10} attempt=1 '
ok $? "sshd back, the first job's delivery starts"
wait_for 20 stream_has "$T/lp" $((1024 * 1024))
ok $? "the printer has 1 MiB of it"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$T/late"
slow_client "$port" "$T/late" 2>"$T/late.err" &
late=$!
cleanup "kill $late 2>/dev/null"
intake() { find "$MAST_SPOOL_DIR" -name '.*.part' -size +100k | grep -q .; }
wait_for 10 intake
ok $? "a 7th job is being handed over meanwhile"
pid=$(tunnel_pid)
run opt-queue list -H nautilus
like "$(printf '%s\n' "$out" | head -1 | cut -f4)" '^sending$' "the first job is sending"
at_kill=$(stream_size "$T/lp")
kill -9 "$pid"
ok $? "the tunnel is killed (SIGKILL) with the printer at $at_kill bytes"
wait_for 10 eval '! alive "$pid"'
wait "$late"
is "$?" 3 "the 7th job's client sees its connection fail ($(cat "$T/late.err"))"

is "$(queued)" "$N" "the $N jobs are still listed"
is "$(opt-queue list -H nautilus | cut -f4 | sort -u)" queued "all queued, none sending"
wait_for 10 printer_idle "$T/lp"
diag "what the kill left in the spool besides whole jobs: $(spool_leftovers | sed "s|^$MAST_SPOOL_DIR/||" | tr '\n' ' ')"
start_up
is "$(spool_leftovers | tr '\n' ' ')" "" "nothing half-stored is left in the spool"
wait_printed 60 "${files[@]}"
ok $? "the new tunnel delivers $N jobs"
got=$(printed "$T/lp" "${files[@]}")
like "$got" "^whole=$N missing=0 fragments=[0-9]+ fragment_bytes=[0-9]+ duplicates=[0-9]+ trailing=0 " \
	"every job is printed whole, in order, and nothing else ($got)"
like "$got" " again=1?\$" "none but the one in flight is printed twice"
f=$(printf '%s' "$got" | sed -n 's/.* fragments=\([0-9]*\) .* duplicates=\([0-9]*\) .*/\1+\2/p')
[ $((f)) -le 1 ]
ok $? "and that one at most once more ($f: fragments + duplicates)"
wait_for 10 test "$(queued)" = 0
is "$(queued)" 0 "the queue is empty"
done_testing
