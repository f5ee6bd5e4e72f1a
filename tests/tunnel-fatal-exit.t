#!/bin/bash
# A fatal error of the tunnel's loop is reported and ends the process
# with a failure status (issue 11, defect 9).  `opt-tunnel run` (the
# foreground, logging to stderr) is up with 10 channels listening; then
# its RLIMIT_NOFILE is lowered under it to 4 (prlimit(1)), so that every
# poll() on its 12 or more descriptors fails with EINVAL.  It must log
# `level=error event=fatal error="..."` and exit 71 (EX_OSERR): the old
# loop left quietly and exited 0, which a supervisor (systemd
# Restart=on-failure) takes for a clean stop and never restarts.
# And the library never abort()s: a fatal error is always reported so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))
NCH=10

all_listening() {
	local c
	for c in $(seq 1 "$NCH"); do listening "${port[c]}" || return 1; done
}

need_sshd
start_printer lp
add_test_site nautilus bind=127.0.0.1
for c in $(seq 1 "$NCH"); do
	port[c]=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
done
cleanup stop_tunnels

opt-tunnel run nautilus >"$T/run.out" 2>"$T/run.err" &
pid=$!
cleanup "kill -9 $pid 2>/dev/null"
wait_for 20 state_is up
ok $? "opt-tunnel run is up"
wait_for 10 all_listening
ok $? "its $NCH channels listen"
is "$(st pid)" "$pid" "the state file names the foreground process"
head -c 200000 /dev/urandom >"$T/job"
run send-job "${port[NCH]}" "$T/job"
wait_for 10 got_job "$T/lp" "$T/job"
is "$rc:$?" "0:0" "a job passes byte for byte"

run prlimit --pid "$pid" --nofile=4:4
is "$rc" 0 "prlimit lowers its RLIMIT_NOFILE to 4:4"
is "$(prlimit --pid "$pid" --nofile --noheadings --raw -o SOFT,HARD | tr -s ' ' | sed 's/^ //')" "4 4" \
	"...as /proc shows it"
t0=$(ms_now)
wait_for 15 eval '! alive "$pid"'
ended=$?
ms=$(($(ms_now) - t0))
if [ "$ended" = 0 ]; then
	wait "$pid"
	status=$?
	ok 0 "the tunnel ends on its own (in $ms ms)"
else
	cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null)
	ok 1 "the tunnel ends on its own (still running after $ms ms, $cpu ticks of CPU)"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	status=running
fi
is "$status" 71 "opt-tunnel run exits 71 (EX_OSERR)"
grep -Eq 'level=error( site=nautilus)? event=fatal error=("[^"]+"|[^ "]+)' "$T/run.err"
ok $? "stderr has a level=error event=fatal line with the error"
if grep -q 'event=fatal' "$T/run.err"; then
	diag "$(grep 'event=fatal' "$T/run.err" | head -3)"
else
	diag "exit status $status; the last lines of stderr:" "$(tail -3 "$T/run.err")"
fi
[ ! -s "$T/run.out" ]
ok $? "nothing on stdout"

# The library has no abort(): a fatal error is logged and returned.
aborts=$(cd "$top" && grep -nE '(^|[^_[:alnum:]])abort *\(' lib/*.c lib/*.h)
is "$aborts" "" "no abort() in lib/"

# The site can be started again afterwards (nothing stale is left).
run opt-tunnel start nautilus
is "$rc" 0 "the site starts again"
run send-job "${port[1]}" "$T/job"
is "$rc" 0 "...and passes a job"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
