#!/bin/bash
# mast's callers, OPT's daemon among them, run unchanged over opt: what
# mast-utils and the mast init script print, line by line, checked
# against mast's printf formats (written out here), for several sites:
# one running, one stopped, one without channels, one bound to an
# address, with descriptions holding #, quotes and UTF-8; each id that
# list-channels shows is the one remove-channel takes; and every command
# exits as mast's did.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

S=$top/scripts
mk=$top/etc/mast-utils.mk
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
export OPT_BIN
PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 20))
cleanup stop_tunnels
mu() { make -f "$mk" "$@"; }
mast() { "$S/mast" "$@"; }

# mast's formats: its makefile's list-hosts and list-channels, its
# add-channel and remove-channel, its init script's feedback().
host_line() { printf '\t%-50s%s\n' "$1" "$2"; }
rule_line() { printf '\t%-45s%-15s\t%s\n' "$1" "$2" "# $3"; }
said_line() { printf '\t%-50s\t%s\n' "$1" "$2"; }
fb() { printf '\t%-48s%s\t%s\n' "$1" "$2" "$3"; }
# The init script's blocks.
starting() { # SITE PID [WORD]
	printf 'Starting mast %s\n' "$1"
	fb latency waiting 'wait a maximum of 10s before failing'
	fb "${3:-starting} tunnel" done "pid $2"
}
stopping() { # SITE PID|- [WORD]
	printf 'Stopping mast %s\n' "$1"
	if [ "$2" = - ]; then
		fb "${3:-stopping} tunnel" skipped 'already stopped'
	else
		fb "${3:-stopping} tunnel" done "pid $2"
	fi
}
off() { fb "$1" off 'service has not been started yet'; }
pid_of() { cat "$MAST_RUN_DIR/$1.pid"; }
port_of() { opt-channel list -H "$1" | awk -F '\t' -v id="$2" '$2 == id { print $3 }'; }

need_sshd
start_printer lp
add_test_site nautilus
add_test_site ship
add_test_site empty
add_test_site harbour bind=127.0.0.1
d1='Samsung ML3710 #2 "laser" à l'\''accueil'
d2='Étage   2  #a#b'
opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT" --description "$d1" >/dev/null
opt-channel add -q nautilus '[fd00::7]:515' --description "$d2" >/dev/null
opt-channel add -q ship 10.1.1.5 >/dev/null
opt-channel add -q harbour printer.lan --description 'Front desk' >/dev/null
n1=$(port_of nautilus 1) n2=$(port_of nautilus 2) s1=$(port_of ship 1) h1=$(port_of harbour 1)

# --- mast-utils: the lists --------------------------------------------------
succeeds "list-hosts" -- mu list-hosts
is "$out" "$(host_line empty 127.0.0.1; host_line harbour 127.0.0.1
	host_line nautilus 127.0.0.1; host_line ship 127.0.0.1)" \
	"list-hosts: a line for each site, NAME then RemoteHost"
# mast showed a comment through echo (blanks squeezed), then awk -F '#'
# (each # a space).
rules_nautilus=$(rule_line "L *:$n1:127.0.0.1:$PRINTER_PORT" 1 'Samsung ML3710  2 "laser" à l'\''accueil'
	rule_line "L *:$n2:[fd00::7]:515" 2 'Étage 2  a b')
succeeds "list-channels" -- mu list-channels
is "$out" "$(host_line empty 127.0.0.1
	host_line harbour 127.0.0.1
	rule_line "L 127.0.0.1:$h1:printer.lan:9100" 1 'Front desk'
	host_line nautilus 127.0.0.1
	printf '%s\n' "$rules_nautilus"
	host_line ship 127.0.0.1
	rule_line "L *:$s1:10.1.1.5:9100" 1 '')" \
	"list-channels: each site's line, a site without channels too, then its rules (id, # comment as mast showed it)"
succeeds "list-channels NAME=nautilus" -- mu list-channels ' NAME=nautilus'
is "$out" "$rules_nautilus" "list-channels NAME=: the rules alone"
succeeds "list-channels NAME=empty" -- mu list-channels NAME=empty
is "$out" "" "list-channels of a site without channels: nothing"

# --- the init script ---------------------------------------------------------
run mast status
is "$rc:$out:$err" "0:$(off empty; off harbour; off nautilus; off ship):" \
	"status of every site, all stopped: mast's off lines, exit 0"
run mast start empty
is "$rc:$out:$err" "0:$(fb 'ForwardPort array' empty "no value in $MAST_CONFIG_DIR/empty"):" \
	"start of a site without channels: mast's refusal, exit 0"
run opt-status -H empty
like "$out" $'^empty\tstopped\t' "...and it is not started"
run mast start nautilus
pid=$(pid_of nautilus)
is "$rc:$out:$err" "0:$(starting nautilus "$pid"):" "start: mast's three lines with the pid, exit 0"
run mast status nautilus
is "$rc:$err" "0:" "status of a running site: exit 0"
like "$out" "^$(printf '\t%-48s%s\t' nautilus:autossh on)pid: $pid, uptime: ([0-9]+-)?([0-9][0-9]:)?[0-9][0-9]:[0-9][0-9]$(printf '\n\t%-48s%s\t' '         ssh' on)port: $n1,$n2\$" \
	"status: NAME:autossh on, pid, uptime; then the session on, with the listen ports"
run mast status ship
is "$rc:$out" "0:$(off ship)" "status of a stopped site: off, exit 0"
run mast start nautilus
is "$rc:$out:$err" "0:$(starting nautilus "$pid"):" "start of a running site: done, the same pid"
is "$(pid_of nautilus)" "$pid" "...the same tunnel"
run mast stop ship
is "$rc:$out:$err" "0:$(stopping ship -):" "stop of a stopped site: skipped, already stopped"

echo 'one job' >"$T/job1"
send-job "$n1" "$T/job1" >/dev/null
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job1")" "a job goes through the tunnel mast started"

# The daemon's printer: added to the running site, listed, removed by
# the id list-channels showed.
succeeds "add-channel to the running site" -- \
	mu add-channel NAME=nautilus PRINTER=192.168.1.30 'DESC=Ricoh #3 "Aficio" é' INTERACTIVE=false
n3=$(port_of nautilus 3)
is "$out" "$(printf 'Adding channel…\n'; said_line "L *:$n3:192.168.1.30:9100 # Ricoh #3 \"Aficio\" é" added)" \
	"add-channel: mast's rule line"
wait_for 10 listening "$n3"
ok $? "the running tunnel listens on the new port"
run mast status nautilus
like "$out" "port: $n1,$n2,$n3\$" "status shows its port, the ports in order"
run mu list-channels NAME=nautilus
is "$(printf '%s\n' "$out" | tail -n 1)" "$(rule_line "L *:$n3:192.168.1.30:9100" 3 'Ricoh  3 "Aficio" é')" \
	"list-channels shows it with id 3"
succeeds "remove-channel ID=3" -- mu remove-channel NAME=nautilus ID=3
is "$out" "$(printf 'Removing channel…\n'; said_line "L *:$n3:192.168.1.30:9100 # Ricoh #3 \"Aficio\" é" removed)" \
	"remove-channel: mast's line for that rule"
run mu list-channels NAME=nautilus
is "$out" "$rules_nautilus" "the site's other rules are left"
wait_for 10 sh -c "! ss -Hltn 'sport = :$n3' | grep -q ."
ok $? "the tunnel no longer listens on its port"

run mast restart nautilus
new=$(pid_of nautilus)
is "$rc:$out:$err" "0:$(stopping nautilus "$pid" restarting; starting nautilus "$new" restarting):" \
	"restart: mast's stop then start, restarting, the old pid then the new"
[ "$new" != "$pid" ]
ok $? "...a new tunnel"
run mast restart ship
is "$rc:$out" "0:$(stopping ship - restarting; starting ship "$(pid_of ship)" restarting)" \
	"restart of a stopped site: skipped, then started"
run mast status
is "$rc:$(printf '%s\n' "$out" | cut -f 2 | sed 's/  */ /g')" \
	"0:$(printf '%s\n' 'empty off' 'harbour off' 'nautilus:autossh on' ' ssh on' 'ship:autossh on' ' ssh on')" \
	"status of every site: two running, two stopped"

# A site that cannot log in: the tunnel keeps trying (as autossh did,
# started is not up) and opt-tunnel says why on stderr, after mast's lines.
dead=$(free_port)
opt-site add -q dead 127.0.0.1 --port "$dead" --user "$(id -un)" --identity "$T/id_ed25519"
opt-channel add -q dead 10.9.9.9 >/dev/null
run "$S/mast" start dead
is "$rc:$out" "0:$(starting dead "$(pid_of dead)")" "start of a site that is not up: done, it keeps trying"
like "$err" "^opt-tunnel: dead: not up " "...and opt-tunnel's line on stderr says why"
run mast status dead
like "$out" "$(printf '\t%-48s%s\t' '     ssh' off)port: " "status: its session is off"
opt-tunnel stop -q dead
# A site whose tunnel cannot start at all.
opt-site set dead identity=/nonexistent/key
run mast start dead
is "$rc:$out" "0:$(printf 'Starting mast dead\n'; fb latency waiting 'wait a maximum of 10s before failing'
	fb 'starting tunnel' failed "empty pid $MAST_RUN_DIR/dead.pid")" \
	"start of a site that cannot start: failed, exit 0"
like "$err" "^opt-tunnel: dead: .*/nonexistent/key" "...and why, on stderr"
opt-site remove -q dead

# OPT's daemon's DELETE: the init script's stop, then remove-host.
run mast stop harbour
is "$rc:$out" "0:$(stopping harbour -)" "stop of a site never started: skipped"
ship_pid=$(pid_of ship)
run mast stop ship
is "$rc:$out:$err" "0:$(stopping ship "$ship_pid"):" "stop of a running site: done, its pid"
succeeds "remove-host" -- mu remove-host NAME=harbour
is "$out" "$(printf 'Removing host…\n\t harbour\t\tdone')" "remove-host: mast's lines"
[ ! -e "$MAST_CONFIG_DIR/harbour" ]
ok $? "...and the site is gone"

# Errors are errors: no such site (mast printed nothing and exited 0).
refused 66 "^opt-status: nowhere: no such site$" "start of no such site: 66" -- mast start nowhere
refused 66 "^opt-status: nowhere: no such site$" "status of no such site: 66" -- mast status nowhere
run mast status nowhere nautilus
is "$rc:$(printf '%s\n' "$out" | grep -c 'nautilus:autossh')" "66:1" "...the other sites named are still shown"
done_testing
