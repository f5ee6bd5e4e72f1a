#!/bin/bash
# Load: 200 concurrent jobs on one channel (32 at a time, its max_jobs;
# the rest wait in the listen queue), then 50 channels with a job
# each at once.  Every byte arrives (checksums) and the tunnel's memory
# stays bounded: its peak RSS is stated and must stay under 64 MiB
# (each job holds a 128 KiB and a 32 KiB buffer; nothing holds a whole
# job).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 8000)) PORT_HI=$((PORT_LO + 80))
need_sshd
sed -i 's/^LogLevel VERBOSE/LogLevel ERROR\nMaxSessions 300\nMaxStartups 300/' "$T/sshd/config"
stop_sshd
start_sshd
lp_site
opt-tunnel start -q nautilus
pid=$(cat "$MAST_RUN_DIR/nautilus.pid")
ulimit -n 4096

# 200 different jobs on one channel, at once.
mkdir "$T/jobs"
for i in $(seq 200); do head -c $((100000 + i * 997)) /dev/urandom >"$T/jobs/$i"; done
pids=
for i in $(seq 200); do send-job "$port" "$T/jobs/$i" >/dev/null 2>&1 & pids="$pids $!"; done
wait_all $pids
is "$failed" 0 "200 concurrent jobs on one channel end cleanly"
wait_for 30 test "$(ls "$T/lp" | grep -c '^job-[0-9]*$')" -ge 200
is "$(for f in "$T"/lp/job-*; do sha "$f"; done | sort | tr '\n' ' ')" \
	"$(for f in "$T"/jobs/*; do sha "$f"; done | sort | tr '\n' ' ')" \
	"the printer got all 200, byte for byte"

# 50 channels, one job each, at once.
ports=()
for i in $(seq 49); do ports+=("$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")"); done
ports+=("$port")
wait_for 10 test "$(grep -c '^channel\.[0-9]*\.listen' "$MAST_RUN_DIR/nautilus.state")" -eq 50
pids=
for i in $(seq 50); do send-job "${ports[$((i - 1))]}" "$T/jobs/$i" >/dev/null 2>&1 & pids="$pids $!"; done
wait_all $pids
is "$failed" 0 "50 channels with a job each at once end cleanly"
wait_for 30 test "$(ls "$T/lp" | grep -c '^job-[0-9]*$')" -ge 250
is "$(ls "$T/lp" | grep -c '^job-[0-9]*$')" 250 "the printer got 250 jobs in all"
is "$(grep -c 'event=job-done' "$MAST_LOG_DIR/nautilus.log")" 250 "250 job-done lines, no failure"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
diag "tunnel peak RSS after 200 + 50 concurrent jobs: $((hwm / 1024)) MiB ($hwm KiB)"
if ldd "$OPT_BIN/opt-tunnel" | grep -q libasan; then
	skip "the memory bound is measured without sanitizers (ASan's shadow memory)"
else
	[ "$hwm" -lt 65536 ]
	ok $? "memory stays bounded: peak RSS $((hwm / 1024)) MiB < 64 MiB"
fi
is "$(sed -n 's/^reconnects=//p' "$MAST_RUN_DIR/nautilus.state")" 0 "the session held"
done_testing
