#!/bin/bash
# opt-throttle refuses bad input: every option and every argument, with
# the exit code of the contract (DESIGN.md 4), one stderr line that names
# the problem (hostile bytes quoted), nothing on stdout, and nothing
# created or changed on disk.  A broken throttle.conf is refused (78) and
# left byte for byte as it was.  The good forms of RATE are stored as
# KiB/s, and set/on/off/show say what they did.  No tunnel is started.
. "$(dirname "$0")/lib.sh"

C=$MAST_CONFIG_DIR
U='\(see opt-throttle --help\)$'
ID='is not a valid site id'

# ---- Usage errors (64), before any config dir exists ---------------------

refused 64 "^opt-throttle: missing command $U" "no command" -- opt-throttle
refused 64 "^opt-throttle: unknown command 'bogus' $U" "unknown command" -- \
	opt-throttle bogus s
refused 64 "^opt-throttle: unknown command 'enable' $U" \
	"unknown command 'enable' (the commands are on and off)" -- \
	opt-throttle enable s
refused 64 "^opt-throttle: unknown command 'SET' $U" "commands are case-sensitive" -- \
	opt-throttle SET s
refused_q 64 "^opt-throttle: unknown command 'x\\\\x0ay' $U" \
	"unknown command with a newline" -- opt-throttle $'x\ny'
refused 64 "^opt-throttle: unknown option '--bogus' $U" "unknown long option" -- \
	opt-throttle --bogus show
refused 64 "^opt-throttle: unknown option '-Z' $U" "unknown short option" -- \
	opt-throttle -Z show
refused 64 "^opt-throttle: unknown option '--listen' $U" \
	"an opt-channel option is unknown to opt-throttle" -- \
	opt-throttle set s --up 5 --listen 9100
refused 64 "^opt-throttle: unknown option '-x' $U" \
	"a site id starting with '-' is parsed as an option" -- opt-throttle show -x
refused 64 "^opt-throttle: option '--up' needs a value $U" "--up without a value" -- \
	opt-throttle set s --up
refused 64 "^opt-throttle: option '--down' needs a value $U" "--down without a value" -- \
	opt-throttle set s --down
refused 64 "^opt-throttle: option '--json=1' takes no value $U" "--json=1" -- \
	opt-throttle show --json=1
refused 64 "^opt-throttle: option '-C' needs a value $U" "-C without a value" -- \
	opt-throttle show -C
refused 64 "^opt-throttle: -C: directory 'rel' is not an absolute path$" \
	"-C with a relative path" -- opt-throttle -C rel show
refused 64 "^opt-throttle: MAST_CONFIG_DIR: directory 'rel' is not an absolute path$" \
	"MAST_CONFIG_DIR relative" -- env MAST_CONFIG_DIR=rel opt-throttle show

# operands
refused 64 "^opt-throttle: set needs one SITE $U" "set without SITE" -- \
	opt-throttle set --up 5
refused 64 "^opt-throttle: set needs one SITE $U" "set with two sites" -- \
	opt-throttle set s t --up 5
refused 64 "^opt-throttle: on needs one SITE $U" "on without SITE" -- opt-throttle on
refused 64 "^opt-throttle: on needs one SITE $U" "on with two sites" -- opt-throttle on s t
refused 64 "^opt-throttle: off needs one SITE $U" "off without SITE" -- opt-throttle off
refused 64 "^opt-throttle: off needs one SITE $U" "off with an extra operand" -- \
	opt-throttle off s extra
refused 64 "^opt-throttle: show takes at most one SITE $U" "show with two sites" -- \
	opt-throttle show s t

# --up/--down: set only, and set needs one of them
refused 64 "^opt-throttle: set needs --up RATE or --down RATE $U" \
	"set without --up or --down" -- opt-throttle set s
refused 64 "^opt-throttle: --up is an option of 'set' only $U" "--up given to on" -- \
	opt-throttle on s --up 5
refused 64 "^opt-throttle: --up is an option of 'set' only $U" "--up given to off" -- \
	opt-throttle off s --up 5
refused 64 "^opt-throttle: --down is an option of 'set' only $U" "--down given to show" -- \
	opt-throttle show s --down 5
refused 64 "^opt-throttle: --(up|down) is an option of 'set' only $U" \
	"--up and --down given to show" -- opt-throttle show --up 5 --down 5

# -H / --json: show only, and not both
refused 64 "^opt-throttle: -H and --json are exclusive $U" "show -H --json" -- \
	opt-throttle show -H --json
refused 64 "^opt-throttle: -H and --json are exclusive $U" "show --json -H" -- \
	opt-throttle show s --json -H
refused 64 "^opt-throttle: -H and --json are for show $U" "-H given to set" -- \
	opt-throttle set s --up 5 -H
refused 64 "^opt-throttle: -H and --json are for show $U" "--json given to on" -- \
	opt-throttle on s --json
refused 64 "^opt-throttle: -H and --json are for show $U" "--json given to off" -- \
	opt-throttle off s --json

# ---- Sites --------------------------------------------------------------

opt-site add -q s 192.0.2.1
opt-site add -q o 192.0.2.2
TH=$C/s/throttle.conf
cp "$TH" "$T/th.orig"

for id in BAD ../etc; do
	for cmd in set on off show; do
		case $cmd in
		set) args=(set "$id" --up 5) ;;
		*) args=("$cmd" "$id") ;;
		esac
		refused 65 "^opt-throttle: site '$(re "$id")' $ID" \
			"$cmd: site id '$id'" -- opt-throttle "${args[@]}"
	done
done
for id in 'a b' - "$(printf '%064d' 0)" ''; do
	refused 65 "^opt-throttle: site '$(re "$id")' $ID" "on: site id '$id'" -- \
		opt-throttle on "$id"
done
refused_q 65 "^opt-throttle: site 'x\\\\x0aopt-throttle: s: ok' $ID" \
	"a site id with a newline is quoted" -- opt-throttle on $'x\nopt-throttle: s: ok'
for cmd in set on off show; do
	case $cmd in
	set) args=(set nosuch --down 5) ;;
	*) args=("$cmd" nosuch) ;;
	esac
	refused 66 "^opt-throttle: nosuch: no such site$" "$cmd: unknown site" -- \
		opt-throttle "${args[@]}"
done
mkdir -m 750 "$C/d"
refused 66 "^opt-throttle: d: no such site$" "on: a directory without site.conf" -- \
	opt-throttle on d
[ ! -e "$C/nosuch" ] && [ ! -e "$C/d/throttle.conf" ]
ok $? "nothing was created for the unknown sites"
rmdir "$C/d"

# ---- RATE (65) ----------------------------------------------------------

FORMS='is not valid \(KiB/s, like 100, 512K, 2M, 800kbit or 10mbit\)$'
RANGE='is out of range \(1 KiB/s to 1 GiB/s\)$'
# Not a rate at all: the message lists the accepted forms.
for r in -1 +5 1.5M 10x '' ' 100' '100 ' '100KB?' 2G 5KB 0x10 1e3 k; do
	refused 65 "^opt-throttle: (s: )?--up: rate '$(re "$r")' $FORMS" \
		"--up '$r'" -- opt-throttle set s --up "$r"
done
refused 65 "^opt-throttle: (s: )?--down: rate '10x' $FORMS" "--down '10x'" -- \
	opt-throttle set s --down 10x
refused 65 "^opt-throttle: (s: )?--down: rate '' $FORMS" "--down=''" -- \
	opt-throttle set s --down=
refused_q 65 "^opt-throttle: (s: )?--up: rate '10\\\\x0a0' $FORMS" \
	"--up with a newline" -- opt-throttle set s --up $'10\n0'
refused_q 65 "^opt-throttle: (s: )?--up: rate '5\\\\x1b\[2J' $FORMS" \
	"--up with an escape sequence" -- opt-throttle set s --up $'5\e[2J'
# A number, but not from 1 KiB/s to 1 GiB/s.
for r in 0 00 0K 4kbit 0mbit 1048577 1025M 8590mbit 99999999999999999999; do
	refused 65 "^opt-throttle: (s: )?--up: rate '$r' ($RANGE|$FORMS)" \
		"--up '$r' (out of range)" -- opt-throttle set s --up "$r"
done
refused 65 "^opt-throttle: (s: )?--down: rate '0' ($RANGE|$FORMS)" "--down 0" -- \
	opt-throttle set s --down 0
refused 65 "^opt-throttle: (s: )?--down: rate '0' " \
	"a good --up with a bad --down: nothing is changed" -- \
	opt-throttle set s --up 5 --down 0
refused 65 "^opt-throttle: (s: )?--up: rate '0' " \
	"a bad --up with a good --down: nothing is changed" -- \
	opt-throttle set s --up 0 --down 5
refused 65 "^opt-throttle: (nosuch: )?--up: rate '0' " \
	"a bad rate of an unknown site: the rate is reported" -- \
	opt-throttle set nosuch --up 0
cmp -s "$TH" "$T/th.orig"
ok $? "throttle.conf of s is unchanged by all of the above"

# Good forms are stored as KiB/s (1 KiB = 1024 bytes, kbit = 1000 bits).
stored() { sed -n "s/^$1 = \\(.*\\);\$/\\1/p" "$TH"; }
for pair in 100:100 512K:512 512k:512 512KiB:512 2M:2048 2mib:2048 2MiB:2048 \
	800kbit:98 800KBIT:98 10mbit:1221 1:1 1048576:1048576 1024M:1048576 \
	007:7 5kbit:1; do
	r=${pair%:*} k=${pair#*:}
	run opt-throttle set s --up "$r"
	is "$rc:$out:$err" "0:s: throttle on, up $k KiB/s, down 10000 KiB/s:" \
		"--up $r is accepted as $k KiB/s"
	is "$(stored up)" "$k" "...and throttle.conf has up = $k"
done
run opt-throttle set s --down 2M
is "$rc:$out" "0:s: throttle on, up 1 KiB/s, down 2048 KiB/s" \
	"--down 2M is 2048 KiB/s, up is kept"
run opt-throttle set s --up 100 --down 10mbit
is "$rc:$out:$err" "0:s: throttle on, up 100 KiB/s, down 1221 KiB/s:" \
	"set --up 100 --down 10mbit"
is "$(stored up):$(stored down):$(stored enabled)" "100:1221:true" \
	"...throttle.conf has up = 100, down = 1221, enabled = true"
is "$(stat -c %a "$TH")" 640 "...and is mode 0640"

# off keeps the rates, on turns the same rates back on.
run opt-throttle off s
is "$rc:$out:$err" "0:s: throttle off, up 100 KiB/s, down 1221 KiB/s:" "off s"
is "$(stored enabled):$(stored up):$(stored down)" "false:100:1221" \
	"...enabled = false, the rates are kept"
run opt-throttle off s
is "$rc:$out" "0:s: throttle off, up 100 KiB/s, down 1221 KiB/s" "off s again is fine"
run opt-throttle show s -H
is "$rc:$out" "0:$(printf 's\tno\t100\t1221\t\t\t')" \
	"show -H: site, no, up, down, empty rates and applied (no tunnel runs)"
run opt-throttle on s
is "$rc:$out:$err" "0:s: throttle on, up 100 KiB/s, down 1221 KiB/s:" "on s"
is "$(stored enabled):$(stored up):$(stored down)" "true:100:1221" \
	"...enabled = true, the same rates"
run opt-throttle -q off s
is "$rc:$out:$err" "0::" "off -q says nothing"
is "$(stored enabled)" false "...and turns the throttle off"
opt-throttle -q on s
run opt-throttle show -H
is "$rc:$out" "0:$(printf 'o\tno\t100\t10000\t\t\t\ns\tyes\t100\t1221\t\t\t')" \
	"show -H of every site: one line each, yes/no, empty rates"
run opt-throttle show
like "$(printf '%s' "$out" | head -1)" '^SITE +THROTTLE +UP +DOWN +RATE_UP +RATE_DOWN +APPLIED *$' \
	"show: the table has a header"
run opt-throttle show --json
is "$rc:$err" "0:" "show --json exits 0"
printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
want = [
    {"site": "o", "enabled": False, "up": 100, "down": 10000, "rate_up": None, "rate_down": None,
     "applied": None},
    {"site": "s", "enabled": True, "up": 100, "down": 1221, "rate_up": None, "rate_down": None,
     "applied": None},
]
ok = v == want and all(type(r["enabled"]) is bool and type(r["up"]) is int
                       and type(r["down"]) is int for r in v)
sys.exit(0 if ok else 1)'
st=$?
ok $st "show --json parses: enabled is a boolean, up/down numbers, rates null"
[ $st -eq 0 ] || diag "stdout: $out"
run opt-throttle show s --json
printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(0 if [r["site"] for r in v] == ["s"] and v[0]["enabled"] is True else 1)'
ok $? "show s --json lists s only"
cp "$TH" "$T/th.good"

# ---- Config lock busy (75) ----------------------------------------------

hold "$C/.lock"
L="config lock $(re "$C/.lock") is busy"
in_background on env MAST_LOCK_TIMEOUT=1 opt-throttle on s
in_background off env MAST_LOCK_TIMEOUT=1 opt-throttle off s
refused 75 "^opt-throttle: $L" "set: the config lock is busy" -- \
	env MAST_LOCK_TIMEOUT=1 opt-throttle set s --up 5
refused_bg 75 "^opt-throttle: $L" "on: the config lock is busy" on
refused_bg 75 "^opt-throttle: $L" "off: the config lock is busy" off
cmp -s "$TH" "$T/th.good"
ok $? "throttle.conf is unchanged while the lock was busy"
succeeds "show does not need the lock" -- env MAST_LOCK_TIMEOUT=1 opt-throttle show s
kill_wait "$holder"

# ---- Broken throttle.conf (78) ------------------------------------------

# break_th SED NAME CMD...: throttle.conf of s edited with SED is refused
# by each CMD (a word list: set s --down 7, on s, show s -H...).
break_th() {
	local ed=$1 name=$2 cmd
	shift 2
	cp "$T/th.good" "$TH"
	sed -i "$ed" "$TH"
	for cmd in "$@"; do
		# shellcheck disable=SC2086
		broken "$TH" "$cmd: throttle.conf $name" -- opt-throttle $cmd
	done
}
# show SITE of a broken file prints nothing on stdout, as opt-site show
# and opt-channel list SITE do: not an empty table, not "[]".
break_th 's/^up = 100;/up = = 100;/' "with a syntax error" \
	"set s --down 7" "on s" "off s" "show s" "show s -H"
break_th 's/^up = 100;/up = 0;/' "with up = 0" "set s --down 7" "show s -H"
break_th 's/^down = 1221;/down = 1048577;/' "with down = 1048577" "on s" "show s -H"
break_th 's/^up = 100;/up = "100";/' "with up = \"100\"" "set s --up 5" "show s -H"
break_th 's/^up = 100;/up = 100.5;/' "with up = 100.5" "off s"
break_th 's/^enabled = true;/enabled = "yes";/' "with enabled = \"yes\"" "off s" "show s -H"
break_th '$a bogus = 1;' "with an unknown key" "set s --up 5 --down 5" "show s -H"
break_th '$a up = 5;' "with up twice" "on s"
break_th '$a @include "/dev/null"' "with an @include" "set s --down 7"
cp "$T/th.good" "$TH"
printf 'down = 5;\0\n' >>"$TH"
broken "$TH" "on s: throttle.conf with a NUL byte" -- opt-throttle on s
cp "$T/th.good" "$TH"
chmod g+w "$TH"
broken "$TH" "set: throttle.conf writable by group" -- opt-throttle set s --up 5
broken "$TH" "show: throttle.conf writable by group" -- opt-throttle show s -H
chmod 640 "$TH" && chmod o+w "$TH"
broken "$TH" "on: throttle.conf writable by others" -- opt-throttle on s
chmod 640 "$TH"
cp "$T/th.good" "$T/th.real" && rm "$TH" && ln -s "$T/th.real" "$TH"
broken "$TH" "off: throttle.conf is a symbolic link" -- opt-throttle off s
[ -L "$TH" ] && cmp -s "$T/th.real" "$T/th.good"
ok $? "the symbolic link and its target are left as they were"
rm "$TH" && mkdir -m 750 "$TH"
refused 78 "^opt-throttle: s: $(re "$TH")" "on: throttle.conf is a directory" -- \
	opt-throttle on s
rmdir "$TH"

# show of every site: the broken one is reported (78), the others listed.
cp "$T/th.good" "$TH"
sed -i 's/^up = 100;/up = 0;/' "$TH"
cp "$TH" "$T/.saved"
for fmt in -H --json; do
	partly 78 "^opt-throttle: s: $(re "$TH"):[0-9]+: up: " '"o"|^o' '"s"|^s' \
		"show $fmt: a broken throttle.conf is reported (78), the other site is listed" -- \
		opt-throttle show $fmt
done
cmp -s "$TH" "$T/.saved"
ok $? "show leaves the broken throttle.conf byte-identical"
refused 78 "^opt-throttle: s: $(re "$TH"):[0-9]+: up: " \
	"show s --json: a broken throttle.conf, nothing on stdout" -- \
	opt-throttle show s --json
cp "$T/th.good" "$TH"

# A missing throttle.conf is the defaults, not an error.
rm "$TH"
run opt-throttle show s -H
is "$rc:$out:$err" "0:$(printf 's\tno\t100\t10000\t\t\t'):" \
	"show: no throttle.conf means the defaults (off, 100, 10000)"
run opt-throttle set s --up 5
is "$rc:$(stored up):$(stored down)" "0:5:10000" "set writes a new throttle.conf"
cp "$T/th.good" "$TH"

# defaults.conf holds the throttle defaults, so it is read too.
DF=$C/defaults.conf
broken_defaults 'up = ;' "with a syntax error" opt-throttle show
broken_defaults 'up = 0;' "with up = 0" opt-throttle set s --up 5
broken_defaults 'bogus = 1;' "with an unknown key" opt-throttle on s
rm -f "$DF"

# ---- Nothing else appeared ----------------------------------------------

is "$(cat "$TH")" "$(cat "$T/th.good")" "throttle.conf of s is as it was"
is "$(find "$C" -mindepth 1 ! -name .lock -printf '%P\n' | LC_ALL=C sort | tr '\n' ' ')" \
	"o o/channels.conf o/site.conf o/throttle.conf s s/channels.conf s/site.conf s/throttle.conf " \
	"the config dir holds only the two sites, no temp files"
[ ! -e "$MAST_RUN_DIR" ] && [ ! -e "$MAST_LOG_DIR" ]
ok $? "no run or log dir was created"

done_testing
