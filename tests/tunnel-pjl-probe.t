#!/bin/bash
# probe = pjl: a probe asks each idle printer its state by PJL INFO
# STATUS through the tunnel; opt-status shows it in the table, -H, JSON
# and Prometheus, and --check judges it by printer_down_critical.  A
# printer that answers no PJL (or garbage) is no-pjl; a hostile answer
# is kept printable and bounded; a channel with a job running is never
# asked; probe_interval brings rounds on its own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

probes_gt() { [ "$(st probes)" -gt "$1" ]; }
# probe_of ID: channel ID's PROBE field of opt-status --channels -H.
probe_of() { opt-status --channels -H nautilus | awk -F'\t' -v id="$1" '$1 == "channel" && $3 == id { print $10 }'; }

need_sshd
start_printer ready --pjl 10001 --pjl-display "READY"
p1=$PRINTER_PORT
start_printer paper --pjl 41200 --pjl-display "PAPER OUT" --pjl-online FALSE
p2=$PRINTER_PORT
start_printer mute # speaks no PJL
p3=$PRINTER_PORT
start_printer garbage --pjl-raw "$(printf 'HELLO\r\nCODE=10001\r\n')"
p4=$PRINTER_PORT
start_printer toner --pjl 10006 --pjl-display "TONER LOW" --pjl-lf --pjl-split 3
p5=$PRINTER_PORT
hostile=$'@PJL INFO STATUS\r\nCODE=40021\r\nDISPLAY="\e[31mDOOR\aOPEN\xc3\xa9'$(rep 200 X)$'"\r\nONLINE=FALSE\r\n'$(rep 6000 Z)
start_printer hostile --pjl-raw "$hostile"
p6=$PRINTER_PORT
dead=$(free_port)
start_printer slow --pjl 10001 --pjl-display "READY" --read-delay 100
p9=$PRINTER_PORT
add_test_site nautilus bind=127.0.0.1
for p in "$p1" "$p2" "$p3" "$p4" "$p5" "$p6" "$dead" "$p1" "$p9"; do
	opt-channel add -q nautilus "127.0.0.1:$p" >/dev/null
done
for id in 1 2 3 4 5 6 7 9; do opt-channel set nautilus $id probe=pjl; done
opt-channel set nautilus 8 probe=off
cleanup stop_tunnels

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0"
pid=$(st pid)
is "$(st channel.1.probe)" unknown "before a probe: unknown"

# ---- One round: every case ------------------------------------------
kill -USR1 "$pid"
wait_for 40 probes_gt 0
ok $? "the round ends (its silent printers within their 5 s each)"
is "$(st channel.1.probe):$(st channel.1.pjl_code):$(st channel.1.pjl_display)" "ready:10001:READY" \
	"state file: a ready printer"
is "$(st channel.2.probe):$(st channel.2.pjl_code):$(st channel.2.pjl_display)" "offline:41200:PAPER OUT" \
	"state file: paper out, ONLINE=FALSE"
is "$(st channel.3.probe):$(st channel.3.pjl_code)" "no-pjl:0" "a printer that speaks no PJL: no-pjl"
is "$(st channel.3.last_error)" "" "...which is no error"
is "$(st channel.4.probe):$(st channel.4.pjl_code)" "no-pjl:0" "a garbage answer: no-pjl, its CODE not taken"
is "$(st channel.5.probe):$(st channel.5.pjl_code):$(st channel.5.pjl_display)" "warning:10006:TONER LOW" \
	"an answer in LF lines, 3 bytes at a time: toner low is a warning"
hd=" [31mDOOR OPEN??$(rep 48 X)"
is "$(st channel.6.probe):$(st channel.6.pjl_code):$(st channel.6.pjl_display)" "offline:40021:$hd" \
	"a hostile answer: printable, cut at 64, read up to 4 KiB"
is "$(st channel.7.probe)" failed "a printer that is off: failed"
like "$(st channel.7.last_error)" "127\.0\.0\.1:$dead" "...its last_error names it"
is "$(st channel.8.probe)" off "probe = off: off"
since=$(st channel.2.probe_since)
[ "$since" -gt 0 ] && [ "$since" -le "$(date +%s)" ]
ok $? "probe_since is set"
grep -q '@PJL INFO STATUS' "$T/ready/job-1"
ok $? "the printer got the PJL request"
is "$(njobs "$T/ready")" 1 "channels 1 and 8 share the printer: one connection only, channel 8's probe is off"

# opt-status, every format.
is "$(probe_of 1)|$(probe_of 2)|$(probe_of 3)|$(probe_of 5)|$(probe_of 7)|$(probe_of 8)" \
	"ready|offline: 41200 PAPER OUT|tcp-ok, no-pjl|warning: 10006 TONER LOW|failed|off" \
	"-H: the PROBE field"
is "$(probe_of 6)" "offline: 40021 $hd" "-H: the hostile display, as the state file has it"
run opt-status --channels nautilus
like "$(printf '%s\n' "$out" | grep -E '^nautilus +2 ')" " offline: 41200 PAPER OUT " "the table: offline: 41200 PAPER OUT"
run opt-status --json nautilus
is "$(printf '%s' "$out" | python3 -c '
import json, sys
for c in json.load(sys.stdin)[0]["channels"]:
    print("%d %s %s %r" % (c["id"], c["probe"], c["pjl_code"], c["pjl_display"]))')" \
	"$(printf '%s\n' "1 ready 10001 'READY'" "2 offline 41200 'PAPER OUT'" "3 no-pjl None ''" \
		"4 no-pjl None ''" "5 warning 10006 'TONER LOW'" "6 offline 40021 '$hd'" \
		"7 failed None ''" "8 off None ''" "9 ready 10001 'READY'")" \
	"--json: probe, pjl_code, pjl_display"
run opt-status --prometheus nautilus
is "$(printf '%s\n' "$out" | grep -E '^opt_printer_(up|status_code)\{')" \
	"$(printf '%s\n' \
		'opt_printer_up{site="nautilus",channel="1"} 1' \
		'opt_printer_up{site="nautilus",channel="2"} 0' \
		'opt_printer_up{site="nautilus",channel="3"} 1' \
		'opt_printer_up{site="nautilus",channel="4"} 1' \
		'opt_printer_up{site="nautilus",channel="5"} 1' \
		'opt_printer_up{site="nautilus",channel="6"} 0' \
		'opt_printer_up{site="nautilus",channel="7"} 0' \
		'opt_printer_up{site="nautilus",channel="9"} 1' \
		'opt_printer_status_code{site="nautilus",channel="1"} 10001' \
		'opt_printer_status_code{site="nautilus",channel="2"} 41200' \
		'opt_printer_status_code{site="nautilus",channel="5"} 10006' \
		'opt_printer_status_code{site="nautilus",channel="6"} 40021' \
		'opt_printer_status_code{site="nautilus",channel="9"} 10001')" \
	"--prometheus: opt_printer_up and opt_printer_status_code"
like "$(log)" "event=probe-ok channel=2 ms=[0-9]+ state=offline code=41200 display=\"PAPER OUT\"" \
	"the log has the printer's state"

# ---- --check, by printer_down_critical --------------------------------
# The slow cases are done: only 1, 2, 5 and 9 are asked from now on.
for id in 3 4 6 7; do opt-channel set nautilus $id probe=off; done
n=$(log | grep -c 'event=reloaded ')
opt-tunnel reload nautilus
wait_for 10 eval '[ "$(log | grep -c "event=reloaded ")" -gt "$n" ]'
ok $? "reloaded with 3, 4, 6, 7 off"
opt-site set nautilus printer_down_critical=1h
run opt-status --check --timeout 20 nautilus
like "$rc:$out" "^1:OPT WARNING - nautilus channel 2: printer 127\.0\.0\.1:$p2 offline for 0m[0-9]{2}s \(41200 PAPER OUT\); nautilus channel 5: printer 127\.0\.0\.1:$p5: 10006 TONER LOW \| sites=1 up=1 printers=9 offline=1 warning=1 queued=0 rate_up=[0-9]+ rate_down=[0-9]+$" \
	"--check: offline for less than printer_down_critical, and a warning: WARNING"
is "$(st channel.2.probe_since)" "$since" "probe_since stays while the state does"
opt-site set nautilus printer_down_critical=1s
sleep 1.2
run opt-status --check --timeout 20 nautilus
like "$rc:$out" "^2:OPT CRITICAL - nautilus channel 2: printer 127\.0\.0\.1:$p2 offline for 0m[0-9]{2}s \(41200 PAPER OUT\), longer than 0m01s; nautilus channel 5: printer 127\.0\.0\.1:$p5: 10006 TONER LOW \| " \
	"--check: offline longer than printer_down_critical: CRITICAL, named first"

# ---- Never while a job runs -------------------------------------------
before=$(njobs "$T/slow")
head -c 4194304 /dev/urandom >"$T/big"
send-job "$(opt-channel list -H nautilus | awk -F'\t' '$2 == 9 { print $3 }')" "$T/big" >/dev/null 2>&1 &
job=$!
cleanup "kill $job 2>/dev/null"
wait_for 10 eval '[ "$(find "$T/slow" -name "job-*.part" | wc -l)" = 1 ]'
ok $? "a long job runs on channel 9 (a slow printer)"
for i in 1 2; do
	n=$(st probes)
	kill -USR1 "$pid"
	wait_for 20 probes_gt "$n"
done
is "$(find "$T/slow" -name 'job-*.part' | wc -l)" 1 "two rounds ran while the job is still running"
wait "$job"
is "$?" 0 "the job ends well"
is "$(njobs "$T/slow")" "$((before + 1))" "the slow printer saw no connection but the job's"
got_job "$T/slow" "$T/big"
ok $? "it got the job byte for byte"
is "$(grep -l '@PJL' "$T/slow"/job-* | wc -l)" "$before" \
	"no PJL request reached the printer during the job: only the first round's connection has one"
is "$(st channel.9.probe)" ready "channel 9 kept its state"

# ---- probe_interval ---------------------------------------------------
n=$(st probes)
opt-site set nautilus probe_interval=1
opt-tunnel reload nautilus
wait_for 15 probes_gt $((n + 2))
ok $? "probe_interval = 1s: rounds come on their own"
is "$(st channel.1.probe)" ready "...and keep the states fresh"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"
done_testing
