#!/bin/bash
# Probes of a printer that does not answer neither pile up nor hold up
# the jobs of other channels (issue 11, defect 2).  Channel 1 goes to a
# black hole (its SYNs are dropped), channel 2 to a working printer.
# Ten `opt-status --check --timeout 1` at once each send SIGUSR1: they
# join one probe round, with one probe of channel 1 in flight, on an
# SSH session of its own; meanwhile a 10 KB job on channel 2 arrives
# byte for byte well under 2 s.  The probe of channel 1 is bounded to
# 5 s: then the state file says channel.1.probe=failed and the log
# has probe-failed channel=1 ... "no answer from the printer in 5 s";
# in the 15 s of the test at most 2 such lines (no probe per signal).
# Before, every SIGUSR1 queued a probe of every idle channel on the
# job's session, channel opens went one at a time, and the job waited
# behind the black-holed probe for the site's connect timeout (about
# 2 min with the default tcp_syn_retries=6).
#
# It runs in a network namespace of its own (unshare -n), as
# tests/tunnel-blackholed-printer.t does, but keeps the default
# tcp_syn_retries, so that the site's connect to the black hole lasts
# about 127 s.
. "$(dirname "$0")/netns.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if [ -z "${OPT_IN_NETNS:-}" ]; then
	skip "needs root and unshare for a network namespace"
	done_testing
	exit
fi
diag "net.ipv4.tcp_syn_retries=$(sysctl -n net.ipv4.tcp_syn_retries) (the default: the site's connect to the black hole takes about 2 min)"

CHECKS=10    # opt-status --check at once
JOB_MS=2000  # a job on channel 2 meanwhile takes less than this
WINDOW=15    # seconds the test watches the probes

count() { log nautilus | grep -c -- "$1"; }

need_sshd
start_printer lp
black_hole

add_test_site nautilus bind=127.0.0.1
bh=$(opt-channel add -q nautilus "127.0.0.1:$hole")
good=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
cleanup stop_tunnels
run opt-tunnel start nautilus
is "$rc" 0 "the tunnel is up"
diag "channel 1 (port $bh) to the black hole 127.0.0.1:$hole, channel 2 (port $good) to the printer"

# Ten checks at once, then a job on channel 2 while they run (in the
# background, cut at 60 s: the probes are watched meanwhile).
t0=$(ms_now)
pids=
for i in $(seq "$CHECKS"); do
	(
		opt-status --check --timeout 1 nautilus >"$T/check$i.out" 2>&1
		echo "$? $(($(ms_now) - t0))" >"$T/check$i.rc"
	) &
	pids="$pids $!"
done
sleep 0.3
head -c 10240 /dev/urandom >"$T/job"
(
	t=$(ms_now)
	timeout 60 send-job "$good" "$T/job" >/dev/null 2>"$T/job.err"
	echo "$? $(($(ms_now) - t))" >"$T/job.rc"
) &
job=$!
cleanup "kill $job 2>/dev/null"
# shellcheck disable=SC2086 # one word per pid
wait_all $pids

bad=0 slowest=0
for i in $(seq "$CHECKS"); do
	read -r c t <"$T/check$i.rc" || { bad=$((bad + 1)); continue; }
	case $c in 0 | 1 | 2 | 3) ;; *) bad=$((bad + 1)) ;; esac
	[ "$t" -gt "$slowest" ] && slowest=$t
done
is "$bad" 0 "each opt-status --check exits with a monitoring status (0-3)"
[ "$slowest" -le 5000 ]
ok $? "...within its 1 s timeout, and some (the slowest: $slowest ms)"
diag "opt-status --check said: $(sort -u "$T"/check*.out | head -3)"

# The job on channel 2 does not wait for the probes.
wait_for $((JOB_MS / 1000 + 1)) test -s "$T/job.rc"
read -r job_rc ms 2>/dev/null <"$T/job.rc" || job_rc=timeout ms=">$(($(ms_now) - t0 - 300))"
[ "$job_rc" = 0 ] && [ "$ms" -lt "$JOB_MS" ]
ok $? "a 10 KB job on channel 2 during the probes ends cleanly in less than $JOB_MS ms (exit $job_rc, $ms ms)"
got_job "$T/lp" "$T/job"
ok $? "...and has arrived byte for byte (sha256)"

# The probe of the black-holed printer fails after 5 s.
wait_for $((WINDOW - 3 - ($(ms_now) - t0) / 1000)) st_is channel.1.probe failed
t_fail=$(($(ms_now) - t0))
[ "$(st channel.1.probe)" = failed ] && [ "$t_fail" -ge 4000 ] &&
	[ "$t_fail" -le $(((WINDOW - 3) * 1000)) ]
ok $? "channel.1.probe=failed after about 5 s (state file: $(st channel.1.probe) $t_fail ms after the checks began)"
like "$(log nautilus | grep 'event=probe-failed channel=1 ' | head -1)" \
	"event=probe-failed channel=1 .*no answer from the printer in 5 s" \
	"the log says probe-failed channel=1 ... no answer from the printer in 5 s"
wait_for 2 st_is channel.2.probe ok
is "$(st channel.2.probe)" ok "channel.2.probe=ok (the working printer)"

while [ $(($(ms_now) - t0)) -lt $((WINDOW * 1000)) ]; do sleep 0.2; done
n=$(count 'event=probe-failed channel=1 ')
[ "$n" -ge 1 ] && [ "$n" -le 2 ]
ok $? "at most one probe of channel 1 in flight: $n probe-failed lines for it in $WINDOW s (1 or 2)"
p=$(st probes)
[ -n "$p" ] && [ "$p" -ge 1 ] && [ "$p" -le 2 ]
ok $? "the $CHECKS signals made 1 or 2 probe rounds, not $CHECKS (probes=${p:-?})"
is "$(st state):$(st reconnects)" "up:0" "the job session held (up, reconnects=0)"

# The job, if it still waits, is given until its 60 s are out.
wait_for 60 test -s "$T/job.rc"
wait "$job"
read -r job_rc ms 2>/dev/null <"$T/job.rc"
diag "the job on channel 2 took $ms ms in all (exit $job_rc; 124: cut at 60 s)"
log nautilus | grep -E 'event=(probe|job|down|retry)' | sed 's/^/    /' | head -12 >&2

run opt-tunnel stop nautilus
is "$rc" 0 "stop"
done_testing
