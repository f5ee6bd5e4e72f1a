#!/bin/bash
# A reload the tunnel cannot apply is not silent: the tool that signalled
# it (opt-throttle set, opt-channel add, opt-tunnel reload) waits for the
# tunnel's answer and exits 78 with the tunnel's reason, the edit stored;
# opt-status shows why in LAST ERROR and --json, --check warns, and
# opt-throttle show gives the limits in force, marked pending.  The
# tunnel keeps its old settings and its session, and a job that runs
# through it all arrives byte for byte.  A tunnel that does not answer
# (SIGSTOP) makes the tool exit 75 after about 2 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

need_sshd
slow_lp_site
opt-throttle set -q nautilus --up 4M --down 4M
cc=$MAST_CONFIG_DIR/nautilus/channels.conf
tc=$MAST_CONFIG_DIR/nautilus/throttle.conf

opt-tunnel start -q nautilus
wait_for 10 state_is up
ok $? "the tunnel is up"
pid=$(st pid)
succeeds "opt-throttle set, the tunnel applies it: exit 0" -- opt-throttle set nautilus --up 3M
is "$(st throttle_up)" 3072 "...and it is in force when the tool returns"

# A long job runs through everything below: 12 MiB at 3 MiB/s at most.
long_job slow "$long" "$T/long" 12582912
ok $? "the long job is running"

# channels.conf broken by hand, then a throttle edit.
cp -p "$cc" "$T/channels.conf.good"
printf 'channels = ( { id = 9; listen = ' >>"$cc"
run opt-throttle set nautilus --up 1M
is "$rc" 78 "opt-throttle set: the tunnel refuses the files: exit 78"
like "$err" "^opt-throttle: nautilus: stored, but the tunnel refused it and keeps its old settings: $(re "$cc")" \
	"...saying so, with the tunnel's reason naming channels.conf"
is "$(printf '%s' "$err" | grep -c '')" 1 "...in one line"
grep -q '^up = 1024;' "$tc"
ok $? "the edit is stored in throttle.conf"
is "$(st throttle_up)" 3072 "the tunnel keeps its old limit"
run opt-throttle show -H nautilus
is "$(printf '%s' "$out" | cut -f1-4,7)" "$(printf 'nautilus\tyes\t3072\t4096\tpending')" \
	"opt-throttle show: the limit in force, not the file's, marked pending"
run opt-status -H nautilus
like "$(printf '%s' "$out" | cut -f12)" "^reload failed: $(re "$cc")" "opt-status: LAST ERROR says the reload failed, and why"
run opt-status --json nautilus
is "$(printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
print(s["state"], s["config_pending"], sys.argv[1] in s["reload_error"],
      s["last_error"].startswith("reload failed: "), len(s["generation"]))' "$cc")" \
	"up True True True 16" "--json: reload_error, config_pending, the generation"
run opt-status --prometheus nautilus
like "$out" 'opt_tunnel_config_pending\{site="nautilus"\} 1' "--prometheus: config pending"
run opt-status --check nautilus
is "$rc" 1 "--check: an older configuration than the files: WARNING (1)"
like "$out" "^OPT WARNING - nautilus runs an older configuration than its files \(reload failed: $(re "$cc")" \
	"...saying why"

# throttle.conf broken by hand, then a channel added.
cp -p "$T/channels.conf.good" "$cc"
cp -p "$tc" "$T/throttle.conf.good"
printf 'up = ;\n' >>"$tc"
run opt-channel add -H nautilus "127.0.0.1:$lp_port"
is "$rc" 78 "opt-channel add: the tunnel refuses the files: exit 78"
like "$err" "^opt-channel: nautilus: stored, but the tunnel refused it and keeps its old settings: $(re "$tc")" \
	"...with the tunnel's reason naming throttle.conf"
new=$(printf '%s' "$out" | cut -f2)
like "$out" "^2	[0-9]+$" "...and still prints the channel stored"
! listening "$new"
ok $? "the tunnel did not take the new channel: its port does not listen"
run opt-tunnel reload nautilus
is "$rc" 78 "opt-tunnel reload: exit 78"
like "$err" "^opt-tunnel: nautilus: the tunnel refused the files and keeps its old settings: $(re "$tc")" \
	"...with the tunnel's reason"

# A file group and others may write: the tunnel refuses it too.
cp -p "$T/throttle.conf.good" "$tc"
chmod 666 "$cc"
run opt-tunnel reload nautilus
is "$rc" 78 "opt-tunnel reload of a world-writable channels.conf: exit 78"
like "$err" "$(re "$cc").*writable by group or others" "...with the tunnel's reason"
chmod 640 "$cc"

kill -0 "$job" 2>/dev/null && ! [ -f "$T/slow/job-1" ]
ok $? "the long job ran on through the refused reloads"

# Fixed: the reload applies everything stored meanwhile.
succeeds "opt-tunnel reload of the fixed files: exit 0" -- opt-tunnel reload nautilus
wait_for 5 listening "$new"
ok $? "the channel stored meanwhile listens"
is "$(st throttle_up)" 1024 "the limit stored meanwhile is in force"
run opt-throttle show -H nautilus
is "$(printf '%s' "$out" | cut -f1-4,7)" "$(printf 'nautilus\tyes\t1024\t4096\tyes')" "opt-throttle show: applied"
run opt-status -H nautilus
is "$(printf '%s' "$out" | cut -f2,12)" "up	" "opt-status: up, no LAST ERROR"
run opt-status --check nautilus
is "$rc" 0 "--check: OK again"

# A tunnel that does not answer.
kill -STOP "$pid"
cleanup "kill -CONT $pid 2>/dev/null"
t0=$(ms_now)
run opt-throttle set nautilus --up 2M
ms=$(($(ms_now) - t0))
is "$rc" 75 "opt-throttle set, the tunnel frozen: exit 75"
like "$err" "^opt-throttle: nautilus: stored, but not confirmed: the tunnel \(pid $pid\) did not answer within 2 s" \
	"...saying so"
[ "$ms" -ge 1900 ] && [ "$ms" -lt 4000 ]
ok $? "...after about 2 s ($ms ms)"
kill -CONT "$pid"
wait_for 5 st_is throttle_up 2048
ok $? "once it runs again, the tunnel applies the edit"

wait "$job"
is "$?" 0 "the long job ends cleanly"
wait_for 10 test -f "$T/slow/job-1"
is "$(sha "$T/slow/job-1" 2>/dev/null)" "$(sha "$T/long")" "the printer got the long job byte for byte"
is "$(st reconnects)" 0 "the session was never dropped"
is "$(st pid)" "$pid" "the same process"
is "$(log | grep -c 'event=reload-failed ')" 4 "the log has the four failed reloads"
done_testing
