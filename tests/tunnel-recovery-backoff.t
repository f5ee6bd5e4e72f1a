#!/bin/bash
# Recovery after an outage (issue 11, defect 8): the retry delays are
# 1, 2, 4, 8, 10, 10, ... s for the first 10 minutes of an outage, never
# above 10 s, so a tunnel is back at most about 10 s after its site is.
#  1. The site's sshd is down 40 s (listener and sessions killed), then
#     back on the same port: every `event=retry delay_ms=N` logged
#     meanwhile has N <= 10000, and the tunnel is up again at most 11 s
#     after sshd is; a job then passes byte for byte.
#  2. A flap: a few seconds after that (the session was up < 60 s) sshd
#     crashes again, and is back after 20 s: the schedule may go on from
#     where it was, but no delay exceeds 10000 ms and the tunnel is up
#     again at most 11 s after sshd is; a job then passes byte for byte.
# (An exponential backoff without a 10 s cap had delays of 16 and 32 s
# after a 40 s outage and 60 s after a flap, and came back 20 s or more
# after its site.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 8000)) PORT_HI=$((PORT_LO + 40))
OUTAGE=40       # s sshd is down in part 1
FLAP_OUTAGE=20  # s sshd is down in part 2
DELAY_MAX=10000 # ms: the longest retry delay allowed
BACK_MAX=11000  # ms from sshd listening again to the tunnel up

# delays FROM: the delay_ms of every event=retry from log line FROM on.
delays() {
	log | tail -n +"$1" | sed -n 's/.* event=retry delay_ms=\([0-9]*\)\( .*\)\{0,1\}$/\1/p' | tr '\n' ' '
}
not_up() { ! state_is up; }
# over MAX N...: how many of N... exceed MAX.
over() {
	local max=$1 n c=0
	shift
	for n; do [ "$n" -gt "$max" ] && c=$((c + 1)); done
	echo "$c"
}
# outage NAME SECONDS HOW MIN: sshd down (HOW: stop_sshd or crash_sshd)
# for SECONDS, then back on the same port; checks that the tunnel
# retried at least MIN times meanwhile, never with a delay above
# DELAY_MAX, was up again at most BACK_MAX after sshd, and that a job
# passes after.
outage() {
	local name=$1 secs=$2 how=$3 min=$4 from t_down t_back t_up back d n
	from=$(($(log | wc -l) + 1))
	t_down=$(ms_now)
	"$how"
	wait_for 10 not_up
	ok $? "$name: the tunnel sees the site go ($(st state): $(st last_error))"
	while [ $(($(ms_now) - t_down)) -lt $((secs * 1000)) ]; do sleep 0.2; done
	start_sshd
	ok $? "$name: sshd is back on port $SSHD_PORT after $(($(ms_now) - t_down)) ms"
	t_back=$(ms_now)
	wait_for 90 state_is up
	t_up=$(ms_now)
	back=$((t_up - t_back))
	state_is up || back=">90000"
	d=$(delays "$from")
	diag "$name: retry delays while sshd was down (ms): $d" \
		"$name: the tunnel was up again $back ms after sshd"
	# shellcheck disable=SC2086 # one word per delay
	set -- $d
	n=$#
	[ "$n" -ge "$min" ]
	ok $? "$name: it kept retrying while sshd was down ($n retries)"
	[ "$(over $DELAY_MAX "$@")" = 0 ]
	ok $? "$name: no retry delay above $DELAY_MAX ms ($(over $DELAY_MAX "$@") of $n above: $d)"
	[ "$back" != ">90000" ] && [ "$back" -le $BACK_MAX ]
	ok $? "$name: up again at most $BACK_MAX ms after sshd ($back ms)"
	head -c 2000000 /dev/urandom >"$T/job.$name"
	run send-job "$port" "$T/job.$name"
	is "$rc" 0 "$name: a job afterwards ends cleanly"
	wait_for 10 got_job "$T/lp" "$T/job.$name"
	ok $? "$name: the printer got it byte for byte"
}

need_sshd
lp_site bind=127.0.0.1 keepalive_interval=1 keepalive_count=3
run opt-tunnel start nautilus
is "$rc" 0 "the tunnel starts"
head -c 1000000 /dev/urandom >"$T/job0"
run send-job "$port" "$T/job0"
is "$rc" 0 "a first job ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job0"
ok $? "the printer got it byte for byte"

outage outage $OUTAGE stop_sshd 5
# The flap: the session just came back (up for a few seconds, < 60 s).
sleep 3
outage flap $FLAP_OUTAGE crash_sshd 1

is "$(log | grep -c 'event=up ')" 3 "three event=up in the log: the start and two recoveries"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
