#!/bin/bash
# opt-status refuses bad input with the exit codes of the contract
# (DESIGN.md 4), one stderr line and nothing on stdout, except --check,
# which keeps the monitoring convention (one line on stdout, exit 3 for
# UNKNOWN).  A broken config file of a stopped site, a garbage or
# half-written state file, a pidfile nobody holds: the site is still
# listed (stopped or stale), nothing crashes and nothing hangs.  Then
# opt-tunnel's usage errors that tests/tunnel-bad-start.t leaves out.
# No tunnel is started and nothing talks to the network.
. "$(dirname "$0")/lib.sh"

C=$MAST_CONFIG_DIR R=$MAST_RUN_DIR
U='\(see opt-status --help\)$'
ID='is not a valid site id'
TAB=$(printf '\t')

# unknown NAME -- CMD...: CMD keeps the monitoring convention for a
# problem it cannot judge: exit 3, one line on stdout starting
# "OPT UNKNOWN - ", nothing on stderr, nothing changed.
unknown() {
	local name=$1 before lines
	shift 2
	before=$(tree_sum)
	run "$@"
	lines=$(printf '%s' "$out" | grep -c '')
	if [ "$rc" = 3 ] && [ "$lines" = 1 ] && [ -z "$err" ] &&
		[[ $out == "OPT UNKNOWN - "* ]] && [ "$(tree_sum)" = "$before" ]; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "command: $*" "exit $rc (want 3)" "stdout: $out" "stderr: $err"
	fi
}

# ---- Usage errors (64), before any config dir exists ---------------------

refused 64 "^opt-status: unknown option '--bogus' $U" "unknown long option" -- \
	opt-status --bogus
refused 64 "^opt-status: unknown option '-Z' $U" "unknown short option" -- \
	opt-status -Z
refused 64 "^opt-status: unknown option '--up' $U" "an opt-throttle option" -- \
	opt-status --up 5
refused 64 "^opt-status: unknown option '-x' $U" \
	"a site id starting with '-' is parsed as an option" -- opt-status -x
refused 64 "^opt-status: option '--check=1' takes no value $U" "--check=1" -- \
	opt-status --check=1
refused 64 "^opt-status: option '-C' needs a value $U" "-C without a value" -- \
	opt-status -C
refused 64 "^opt-status: -C: directory 'rel' is not an absolute path$" \
	"-C with a relative path" -- opt-status -C rel
refused 64 "^opt-status: MAST_CONFIG_DIR: directory 'rel' is not an absolute path$" \
	"MAST_CONFIG_DIR relative" -- env MAST_CONFIG_DIR=rel opt-status

TO="is not a number of seconds \\(1-600\\) $U"
for t in 0 abc 601 -1 1.5 '' 5s 99999999999999999999; do
	refused 64 "^opt-status: --timeout '$(re "$t")' $TO" "--timeout '$t'" -- \
		opt-status --check --timeout "$t"
done
refused 64 "^opt-status: option '--timeout' needs a value $U" \
	"--timeout without a value" -- opt-status --check --timeout

X="--prometheus, -H and --json are exclusive $U"
refused 64 "^opt-status: -H and --json are exclusive $U" "-H --json" -- \
	opt-status -H --json
refused 64 "^opt-status: -H and --json are exclusive $U" "--json -H" -- \
	opt-status --json -H
refused 64 "^opt-status: $X" "-H --prometheus" -- opt-status -H --prometheus
refused 64 "^opt-status: $X" "--prometheus -H" -- opt-status --prometheus -H
refused 64 "^opt-status: $X" "--json --prometheus" -- opt-status --json --prometheus
refused 64 "^opt-status: $X" "--prometheus --json --channels" -- \
	opt-status --prometheus --json --channels

K="--check prints one line; it takes no output format $U"
refused 64 "^opt-status: $K" "--check -H" -- opt-status --check -H
refused 64 "^opt-status: $K" "--check --json" -- opt-status --check --json
refused 64 "^opt-status: $K" "--check --prometheus" -- opt-status --check --prometheus
refused 64 "^opt-status: $K" "--check --channels" -- opt-status --channels --check

# ---- --check with no site configured: UNKNOWN (3) -------------------------

unknown "--check without a config dir: UNKNOWN" -- opt-status --check
like "$out" "^OPT UNKNOWN - no site is configured in $(re "$C")$" \
	"...and it says that no site is configured in $C"
mkdir -m 750 "$C"
unknown "--check with an empty config dir: UNKNOWN" -- opt-status --check
run opt-status -H
is "$rc:$out:$err" "0::" "-H with no site: nothing, exit 0"
run opt-status --json
is "$rc:$out:$err" "0:[]:" "--json with no site: [], exit 0"

# ---- Sites: bad ids (65), unknown sites (66) -------------------------------

opt-site add -q s 192.0.2.1
opt-site add -q o 192.0.2.2
opt-channel add -q s 192.168.1.5 >/dev/null
opt-channel add -q o 192.168.1.6:9101 >/dev/null

for id in BAD 'a b' ../etc - ''; do
	refused 65 "^opt-status: site '$(re "$id")' $ID" "site id '$id'" -- \
		opt-status "$id"
done
refused 65 "^opt-status: site 'BAD' $ID" "a good and a bad site id: nothing listed" -- \
	opt-status s BAD
refused 65 "^opt-status: site 'BAD' $ID" "--json with a bad site id" -- \
	opt-status --json BAD
refused 66 "^opt-status: nosuch: no such site$" "unknown site" -- opt-status nosuch
refused 66 "^opt-status: nosuch: no such site$" "a site and an unknown one: nothing listed" -- \
	opt-status s nosuch
refused 66 "^opt-status: nosuch: no such site$" "--prometheus with an unknown site" -- \
	opt-status --prometheus nosuch
mkdir -m 750 "$C/d"
refused 66 "^opt-status: d: no such site$" "a directory without site.conf" -- \
	opt-status d
rmdir "$C/d"

unknown "--check of an unknown site: UNKNOWN, not 66" -- opt-status --check nosuch
like "$out" "nosuch" "...and the line names the site"
unknown "--check of a site and an unknown one: UNKNOWN" -- opt-status --check s nosuch
unknown "--check with a bad site id: UNKNOWN, not 65" -- opt-status --check BAD
like "$out" "BAD" "...and the line names the id"
unknown "--check --timeout 5 of an unknown site: UNKNOWN" -- \
	opt-status --check --timeout 5 nosuch

# ---- Stopped sites in every format ----------------------------------------

run opt-status -H
is "$rc:$err" "0:" "-H of two stopped sites exits 0"
is "$(printf '%s\n' "$out" | cut -f1-5 | tr '\t' ,)" "$(printf 'o,stopped,,,1\ns,stopped,,,1')" \
	"-H: site, stopped, no pid, no uptime, the channel count"
run opt-status s
like "$(printf '%s' "$out" | sed -n 2p)" '^s +stopped ' "the table lists s as stopped"
run opt-status --json
is "$rc:$err" "0:" "--json of stopped sites exits 0"
printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
ok = [r["site"] for r in v] == ["o", "s"] and all(
    r["state"] == "stopped" and r["pid"] is None and len(r["channels"]) == 1
    for r in v) and v[1]["channels"][0]["printer"] == "192.168.1.5:9100"
sys.exit(0 if ok else 1)' 2>/dev/null
st=$?
ok $st "--json: state \"stopped\", pid null, the channels of channels.conf"
[ $st -eq 0 ] || diag "stdout: $out"
run opt-status --prometheus s
is "$rc:$err" "0:" "--prometheus of a stopped site exits 0"
printf '%s\n' "$out" | grep -qx 'opt_tunnel_up{site="s"} 0' &&
	printf '%s\n' "$out" | grep -qx 'opt_tunnel_state{site="s",state="stopped"} 1' &&
	! printf '%s\n' "$out" | grep -q 'site="o"'
ok $? '--prometheus: opt_tunnel_up{site="s"} 0, state stopped 1, only s'
run opt-status --check
is "$rc" 2 "--check of stopped sites: CRITICAL (2)"
like "$out" '^OPT CRITICAL - .*o stopped.*s stopped' "...one line naming both"

# ---- Broken config files of a stopped site ----------------------------------

# listed FILE NAME -- CMD...: CMD still lists s (stopped) and o, exits 0
# with nothing on stderr or 78 with one line naming FILE, and FILE is
# byte-identical afterwards.
listed() {
	local file=$1 name=$2 lines
	shift 3
	cp "$file" "$T/.saved"
	run "$@"
	lines=$(printf '%s' "$err" | grep -c '')
	if { { [ "$rc" = 0 ] && [ -z "$err" ]; } ||
		{ [ "$rc" = 78 ] && [ "$lines" = 1 ] &&
			printf '%s' "$err" | grep -Eq "^opt-status: ([a-z0-9_-]+: )?$(re "$file")"; }; } &&
		printf '%s\n' "$out" | grep -Eq "^(site$TAB)?s${TAB}stopped$TAB" &&
		printf '%s\n' "$out" | grep -Eq "^(site$TAB)?o${TAB}stopped$TAB" &&
		cmp -s "$file" "$T/.saved"; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "command: $*" "exit $rc (want 0, or 78 naming $file)" \
			"stdout: $out" "stderr: $err"
		cmp -s "$file" "$T/.saved" || diag "$file changed"
	fi
}
# What the code does today: opt-status reads no defaults.conf and shows a
# site whose channels.conf it cannot read with 0 channels, silently.
DF=$C/defaults.conf CH=$C/s/channels.conf SC=$C/s/site.conf
cp "$CH" "$T/ch.good" && cp "$SC" "$T/site.good"
printf 'port = ;\n' >"$DF" && chmod 640 "$DF"
listed "$DF" "-H: a broken defaults.conf" -- opt-status -H
rm "$DF"
printf 'channels = ( \n' >"$CH"
listed "$CH" "-H --channels: channels.conf with a syntax error" -- opt-status -H --channels
printf 'channels = ( { id = 1; } );\n' >"$CH"
listed "$CH" "-H --channels: channels.conf with a channel missing keys" -- \
	opt-status -H --channels
listed "$CH" "-H: channels.conf with a channel missing keys" -- opt-status -H
printf 'channels = ( { id = 1; listen = 9100; printer = "192.168.1.5"; bogus = 1; } );\n' >"$CH"
listed "$CH" "-H: channels.conf with an unknown key" -- opt-status -H
run opt-status --json
printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(0 if [(r["site"], r["state"]) for r in v] == [("o", "stopped"), ("s", "stopped")] else 1)' 2>/dev/null
st=$?
ok $st "--json: channels.conf with an unknown key, both sites listed, stopped (exit $rc)"
[ $st -eq 0 ] || diag "exit $rc" "stdout: $out" "stderr: $err"
run opt-status --check
[ "$rc" = 2 ] && [ "$(printf '%s' "$out" | grep -c '')" = 1 ] &&
	[[ $out == "OPT CRITICAL - "*"s stopped"* ]]
st=$?
ok $st "--check: a broken channels.conf of a stopped site is CRITICAL (stopped), one line"
[ $st -eq 0 ] || diag "exit $rc" "stdout: $out" "stderr: $err"
chmod g+w "$CH"
listed "$CH" "-H: channels.conf writable by group" -- opt-status -H
chmod 640 "$CH"
cp "$T/ch.good" "$CH"
sed -i 's/^port = .*/port = = 22;/' "$SC"
listed "$SC" "-H: site.conf with a syntax error" -- opt-status -H
cp "$T/site.good" "$SC"

# ---- Stale and garbage run files: no hang ------------------------------------

mkdir -p "$R"
# quick NAME -- CMD...: run CMD (killed after 3 s) and test it took < 2 s.
quick() {
	local name=$1 t0 ms
	shift 2
	t0=$(ms_now)
	run timeout 3 "$@"
	ms=$(($(ms_now) - t0))
	[ "$rc" != 124 ] && [ "$ms" -lt 2000 ]
	ok $? "$name: no hang (${ms} ms, exit $rc)"
}
# s_state CMD...: the state of s in opt-status -H.
s_state() { printf '%s\n' "$out" | awk -F'\t' '$1 == "s" { print $2 }'; }

head -c 4096 /dev/urandom >"$R/s.state"
echo 999999 >"$R/s.pid"
quick "-H: a garbage state file and a pidfile nobody holds" -- opt-status -H
is "$rc:$(s_state):$err" "0:stale:" "...s is stale, exit 0, nothing on stderr"
printf '%s\n' "$out" | grep -q "^o${TAB}stopped$TAB"
ok $? "...o is still listed as stopped"
run opt-status --json s
printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(0 if v[0]["state"] == "stale" and v[0]["pid"] is None else 1)' 2>/dev/null
ok $? "--json: state \"stale\", pid null"
run opt-status --prometheus s
printf '%s\n' "$out" | grep -qx 'opt_tunnel_up{site="s"} 0' &&
	printf '%s\n' "$out" | grep -qx 'opt_tunnel_state{site="s",state="stale"} 1'
ok $? '--prometheus: opt_tunnel_up{site="s"} 0, state stale 1'
quick "--check: a garbage state file, a stale pidfile" -- opt-status --check s
is "$rc" 2 "...CRITICAL (2)"
like "$out" '^OPT CRITICAL - s stale' "...and says s is stale"

printf 'site=s\npid=999999\nstate=up\nsince=1700000000\nchannel.1.listen=91' >"$R/s.state"
quick "-H: a half-written state file, a stale pidfile" -- opt-status -H s
is "$rc:$(s_state)" "0:stale" "...s is stale, not up"
printf 'junk\0\n' >"$R/s.pid"
quick "-H: a garbage pidfile nobody holds" -- opt-status -H s
is "$rc:$(s_state)" "0:stale" "...s is stale"
: >"$R/s.pid"
quick "-H: an empty pidfile nobody holds" -- opt-status -H s
is "$rc:$(s_state)" "0:stale" "...s is stale"
rm -f "$R/s.pid"
head -c 4096 /dev/urandom >"$R/s.state"
run opt-status -H s
is "$rc:$(s_state)" "0:stopped" "a state file without a pidfile: stopped"

# A live process holds the pidfile, the state file is garbage or stuck.
hold "$R/s.pid" pid
quick "-H: a garbage state file, a live pidfile" -- opt-status -H s
is "$rc:$(s_state)" "0:connecting" "...s is connecting (running, no state yet)"
is "$(printf '%s\n' "$out" | awk -F'\t' '$1 == "s" { print $3 }')" "$holder" \
	"...with the pid of the pidfile"
rm "$R/s.state" && mkfifo "$R/s.state"
quick "-H: a state file that is a FIFO, a live pidfile" -- opt-status -H s
rm "$R/s.state"
kill_wait "$holder"
rm -f "$R/s.pid"

# ---- opt-tunnel usage errors (64) and the like ---------------------------------
# (tests/tunnel-bad-start.t has unknown and invalid sites, broken files and
# --wait values of start.)  Its own config dir, with sites on 127.0.0.1
# only, so that a wrong start could not reach out.

export MAST_CONFIG_DIR=$T/tun/etc MAST_RUN_DIR=$T/tun/run MAST_LOG_DIR=$T/tun/log
opt-site add -q t 127.0.0.1 --port 1
opt-site add -q u 127.0.0.1 --port 1
TU='\(see opt-tunnel --help\)$'
refused 64 "^opt-tunnel: missing command $TU" "tunnel: no command" -- opt-tunnel
refused 64 "^opt-tunnel: missing command $TU" "tunnel: only options" -- opt-tunnel -q -v
refused 64 "^opt-tunnel: unknown command 'bogus' $TU" "tunnel: unknown command" -- \
	opt-tunnel bogus t
refused 64 "^opt-tunnel: unknown command 'status' $TU" "tunnel: status is opt-status" -- \
	opt-tunnel status
refused 64 "^opt-tunnel: unknown command 'START' $TU" "tunnel: commands are case-sensitive" -- \
	opt-tunnel START t
refused 64 "^opt-tunnel: unknown option '--bogus' $TU" "tunnel: unknown option" -- \
	opt-tunnel --bogus start t
refused 64 "^opt-tunnel: unknown option '-Z' $TU" "tunnel: unknown short option" -- \
	opt-tunnel stop -Z t
refused 64 "^opt-tunnel: option '--wait' needs a value $TU" "tunnel: --wait without a value" -- \
	opt-tunnel start --wait
W="--wait is an option of 'start' and 'restart' only $TU"
refused 64 "^opt-tunnel: $W" "tunnel: reload --wait" -- opt-tunnel reload --wait 5 t
refused 64 "^opt-tunnel: $W" "tunnel: --wait=5 reload (all)" -- opt-tunnel --wait=5 reload
refused 64 "^opt-tunnel: $W" "tunnel: stop (all) --wait 0" -- opt-tunnel stop --wait 0
refused 64 "^opt-tunnel: $W" "tunnel: run --wait" -- opt-tunnel run --wait 5 t
refused 64 "^opt-tunnel: .*--wait 'x'" "tunnel: restart --wait x" -- \
	opt-tunnel restart --wait x t
refused 64 "^opt-tunnel: run needs one SITE $TU" "tunnel: run without a site" -- \
	opt-tunnel run
refused 64 "^opt-tunnel: run needs one SITE $TU" "tunnel: run with two sites" -- \
	timeout 10 opt-tunnel run t u
HJ="-H and --json are for listings $TU"
for cmd in start stop restart reload run; do
	refused 64 "^opt-tunnel: (-H|--json|.*-H and --json)" "tunnel: $cmd -H" -- \
		timeout 10 opt-tunnel "$cmd" -H t
	refused 64 "^opt-tunnel: (-H|--json|.*-H and --json)" "tunnel: $cmd --json" -- \
		timeout 10 opt-tunnel --json "$cmd" t
done
refused 64 "^opt-tunnel: $HJ" "tunnel: start -H (all sites)" -- opt-tunnel start -H
refused 65 "^opt-tunnel: site 'BAD' is not a valid site id" "tunnel: reload BAD" -- \
	opt-tunnel reload BAD
refused 65 "^opt-tunnel: site '\.\./t' is not a valid site id" "tunnel: stop ../t" -- \
	opt-tunnel stop ../t
refused 65 "^opt-tunnel: site 'BAD' is not a valid site id" \
	"tunnel: restart t BAD: nothing is done" -- opt-tunnel restart t BAD
refused 66 "^opt-tunnel: nosuch: no such site$" "tunnel: reload nosuch" -- \
	opt-tunnel reload nosuch
refused 66 "^opt-tunnel: nosuch: no such site$" "tunnel: stop t nosuch: nothing is done" -- \
	opt-tunnel stop t nosuch
refused 66 "^opt-tunnel: nosuch: no such site$" "tunnel: restart nosuch" -- \
	opt-tunnel restart nosuch
refused 69 "^opt-tunnel: t: not running$" "tunnel: reload of a stopped site (69)" -- \
	opt-tunnel reload t
run opt-tunnel stop t
is "$rc:$out:$err" "0:t: not running:" "tunnel: stop of a stopped site says so, exit 0"
pids=$(ls "$MAST_RUN_DIR"/*.pid 2>/dev/null)
[ -z "$pids" ] && [ ! -e "$MAST_LOG_DIR" ]
st=$?
ok $st "tunnel: no pidfile or log was made by any of the above"
[ $st -eq 0 ] || diag "pidfiles: $pids"

done_testing
