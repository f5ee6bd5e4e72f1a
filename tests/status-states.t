#!/bin/bash
# opt-status shows every state for real (stopped, up, retrying,
# hostkey-mismatch, stale) in the table, -H, --json and --prometheus,
# and --check answers with the monitoring convention.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
start_printer lp
pp=$PRINTER_PORT
add_test_site up1
port=$(opt-channel add -q up1 "127.0.0.1:$pp")
opt-channel add -q up1 "127.0.0.1:$(free_port)" >/dev/null # a dead printer
add_test_site off1
cleanup stop_tunnels

# Only the site that is up: --check probes its printers.
opt-tunnel start -q up1
run opt-status --check up1
is "$rc" 1 "--check: a printer is unreachable: WARNING (1)"
like "$out" "^OPT WARNING - up1 channel 2: printer 127.0.0.1:[0-9]+ unreachable \| sites=1 up=1 printers=2 offline=0 warning=0 queued=0 rate_up=[0-9]+ rate_down=[0-9]+$" \
	"...in one line naming the channel and printer"
is "$(st channel.1.probe up1):$(st channel.2.probe up1)" "ok:failed" "the probe results are in the state file"
opt-channel remove -q up1 2
wait_for 5 test "$(st channels up1)" = 1
run opt-status --check up1
like "$rc:$out" "^0:OPT OK - 1 site up, 1 printer reachable \| sites=1 up=1 printers=1 offline=0 warning=0 queued=0 rate_up=[0-9]+ rate_down=[0-9]+$" "--check: all up and reachable: OK (0)"

run opt-status --check
is "$rc" 2 "--check with a stopped site: CRITICAL (2)"
like "$out" "^OPT CRITICAL - off1 stopped" "...naming it"

# A job, then all the states.
head -c 200000 /dev/urandom >"$T/job"
send-job "$port" "$T/job" >/dev/null
mkdir -p "$MAST_RUN_DIR"
add_test_site stale1
echo 4242424 >"$MAST_RUN_DIR/stale1.pid"
add_test_site mism1
printf '[127.0.0.1]:%s ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n' \
	"$SSHD_PORT" >"$MAST_CONFIG_DIR/mism1/known_hosts"
opt-tunnel start -q mism1 --wait 3 2>/dev/null
add_test_site retry1
opt-site set retry1 port="$(free_port)"
opt-tunnel start -q retry1 --wait 3 2>/dev/null
wait_for 10 test "$(st state retry1)" = retrying
wait_for 5 test "$(st jobs up1)" = 1

run opt-status -H
is "$(printf '%s\n' "$out" | cut -f1,2 | tr '\t\n' ': ')" \
	"mism1:hostkey-mismatch off1:stopped retry1:retrying stale1:stale up1:up " \
	"-H: every state, one line per site, sorted"
is "$(printf '%s\n' "$out" | awk -F'\t' '$1 == "up1" { print $5, $6, $7, $8 }')" \
	"1 0 1 200000" "-H: channels, active, jobs, bytes sent of up1"

run opt-status
like "$(printf '%s\n' "$out" | head -1)" "^SITE +STATE +PID +UPTIME +CH +ACTIVE +JOBS +SENT +RATIO +UP/S +DOWN/S +LAST ERROR$" "the table's header"
like "$out" "retry1 +retrying .*cannot connect" "the table shows why a site retries"

run opt-status --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
v = {s["site"]: s for s in json.load(sys.stdin)}
u = v["up1"]
keys = ["site", "state", "pid", "since", "reconnects", "last_error", "wire_up",
        "wire_down", "payload_up", "payload_down", "jobs", "channels"]
ckeys = ["id", "listen", "printer", "active", "jobs", "bytes_up", "bytes_down",
         "probe", "last_error"]
assert all(k in u for k in keys), keys
assert all(k in u["channels"][0] for k in ckeys), ckeys
print(u["state"], u["payload_up"], u["jobs"], u["channels"][0]["bytes_up"],
      u["channels"][0]["probe"], v["off1"]["state"], v["off1"]["pid"],
      v["stale1"]["state"], v["mism1"]["state"], v["retry1"]["state"])')" \
	"up 200000 1 200000 ok stopped None stale hostkey-mismatch retrying" \
	"--json parses, with the state file's keys and every state"

run opt-status --prometheus
like "$out" 'opt_tunnel_up\{site="up1"\} 1' "prometheus: up1 is up"
like "$out" 'opt_tunnel_up\{site="off1"\} 0' "prometheus: off1 is not"
like "$out" 'opt_tunnel_state\{site="mism1",state="hostkey-mismatch"\} 1' "prometheus: the state series"
like "$out" 'opt_tunnel_payload_bytes_total\{site="up1",direction="up"\} 200000' "prometheus: byte counters"
like "$out" 'opt_tunnel_channel_jobs_total\{site="up1",channel="1"\} 1' "prometheus: per-channel series"
bad=$(printf '%s\n' "$out" | grep -vE '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\} [0-9]+)$')
is "$bad" "" "prometheus: every line is a comment or a sample"

run opt-status --channels -H
like "$out" "$(printf 'channel\tup1\t1\t[0-9]+\t127.0.0.1:%s\t0\t1\t200000\t0\tok' "$pp")" "--channels -H: a tagged line per channel"

run opt-status --check mism1
is "$rc" 2 "--check: hostkey-mismatch is CRITICAL"
run opt-status --check retry1
is "$rc:${out%% - *}" "1:OPT WARNING" "--check: retrying is WARNING"
run opt-status --check stale1
is "$rc:${out%% - *}" "2:OPT CRITICAL" "--check: stale is CRITICAL"
run opt-status --check nosuch
is "$rc:$out" "3:OPT UNKNOWN - nosuch: no such site" "--check: an unknown site is UNKNOWN (3)"

# Never hangs: a stopped tunnel (SIGSTOP) cannot answer a probe.
kill -STOP "$(cat "$MAST_RUN_DIR/up1.pid")"
cleanup "kill -CONT $(cat "$MAST_RUN_DIR/up1.pid") 2>/dev/null"
start=$(date +%s%N)
run opt-status --check up1 --timeout 2
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc" 3 "--check: a tunnel that does not answer is UNKNOWN"
[ "$ms" -lt 3500 ]
ok $? "...after --timeout, not later ($ms ms)"
run opt-status up1
is "$rc" 0 "opt-status itself does not wait for a stuck tunnel"
kill -CONT "$(cat "$MAST_RUN_DIR/up1.pid")"
done_testing
