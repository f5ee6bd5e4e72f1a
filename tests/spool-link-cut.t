#!/bin/bash
# The link is cut while a spooled job is being delivered: CUPS's socket
# backend hands a 24 MiB job to a spool channel (exit 0, at once);
# while the tunnel delivers it to a slow p910nd (its device reads 64 KiB
# every 20 ms), sshd's session is killed (kill -9, as in
# fault-sshd-session-killed.t).  The job stays queued, and once the
# tunnel is up again it is delivered again from its start: the printer
# ends with the whole job after the fragment the cut left (counted and
# said), the log has event=delivery-failed for attempt 1 and
# event=job-delivered with attempts=2, and the queue is empty; with
# spool_keep = 1 the job is kept in done/, its bytes, attempts=2 and the
# time it was delivered.  (In direct mode the same cut loses the job's
# tail: the client has already been told.)
. "$(dirname "$0")/spool.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

SIZE=$((24 * 1024 * 1024))
RETRY_MAX=3000 # ms from the session up again to attempt 2
need_printing
need_sshd
need_p910nd_site bind=127.0.0.1 spool_keep=1 --read-delay 20
start_up

head -c "$SIZE" /dev/urandom >"$T/big"
cups_print "$port" "$T/big" 1
is "$rc" 0 "the backend hands the job over and exits 0 ($ms ms)"
wait_for 10 logged 'event=delivery-start channel=1 job=[0-9]{10} attempt=1 '
ok $? "its delivery starts"
wait_for 20 stream_has "$T/lp" $((2 * 1024 * 1024))
ok $? "the printer has 2 MiB of it ($(stream_size "$T/lp") bytes)"
session=$(pgrep -P "$SSHD_PID" | head -1)
# shellcheck disable=SC2046 # one word per pid
[ -n "$session" ] && kill -9 $(family "$session")
ok $? "sshd's session is killed mid-delivery"
cut_at=$(ms_now)

wait_for 20 logged 'event=delivery-failed channel=1 job=[0-9]{10} attempt=1 '
ok $? "the log says attempt 1 failed"
diag "$(grep -E 'event=delivery-failed' "$MAST_LOG_DIR/nautilus.log")"
reconnected() { st_is state up && [ "$(st reconnects)" -ge 1 ]; }
wait_for 30 reconnected
ok $? "the tunnel is up again ($(($(ms_now) - cut_at)) ms after the cut)"
up_at=$(ms_now)
wait_for 30 logged 'event=delivery-start channel=1 job=[0-9]{10} attempt=2 '
ok $? "attempt 2 starts"
again=$(($(ms_now) - up_at))
[ "$again" -lt "$RETRY_MAX" ]
ok $? "as soon as the session is back: $again ms after it (< $RETRY_MAX; other failures wait 5 s)"
wait_for 60 logged 'event=job-delivered channel=1 job=[0-9]{10} attempts=2 '
ok $? "the log says the job was delivered, attempts=2"
wait_for 10 printer_idle "$T/lp"
got=$(printed "$T/lp" "$T/big")
like "$got" "^whole=1 missing=0 fragments=1 fragment_bytes=[0-9]+ duplicates=0 trailing=0 " \
	"the printer has the whole job, after the fragment of attempt 1"
frag=$(printf '%s' "$got" | sed -n 's/.* fragment_bytes=\([0-9]*\) .*/\1/p')
[ "${frag:-0}" -ge $((2 * 1024 * 1024)) ] && [ "${frag:-0}" -lt "$SIZE" ]
ok $? "the fragment is what the cut left: $frag of $SIZE bytes ($got)"
is "$(sed -n 's/.* event=job-delivered channel=1 job=[0-9]\{10\} attempts=2 bytes_up=\([0-9]*\) .*/\1/p' \
	"$MAST_LOG_DIR/nautilus.log")" "$SIZE" "bytes_up is the job's size"
wait_for 10 test "$(queued)" = 0
is "$(queued)" 0 "the queue is empty"
done=$MAST_SPOOL_DIR/nautilus/1/done
job=$(sed -n 's/.* event=job-delivered channel=1 job=\([0-9]\{10\}\) .*/\1/p' "$MAST_LOG_DIR/nautilus.log")
is "$(sha "$done/$job.data" 2>/dev/null)" "$(sha "$T/big")" "spool_keep: the job's bytes are kept in done/"
like "$(tr '\n' ' ' <"$done/$job.job" 2>/dev/null)" "attempts=2 .*delivered=[0-9]+" \
	"with attempts=2 and the time it was delivered"
done_testing
