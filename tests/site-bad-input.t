#!/bin/bash
# opt-site refuses bad input: every option and every argument, with the
# exit code of the contract (DESIGN.md 4), one stderr line that names the
# problem (hostile bytes quoted), nothing on stdout, and nothing created
# or changed on disk.  Broken config files are refused (78) and left
# byte for byte as they were.
. "$(dirname "$0")/lib.sh"

C=$MAST_CONFIG_DIR
U='\(see opt-site --help\)$'
ID='is not a valid site id'
H='is not a valid host name or address$'

# ---- Usage errors (64), before any config dir exists -----------------

refused 64 "^opt-site: missing command $U" "no command" -- opt-site
refused 64 "^opt-site: unknown command 'bogus' $U" "unknown command" -- \
	opt-site bogus
refused 64 "^opt-site: unknown option '-Z' $U" "unknown short option" -- \
	opt-site -Z list
refused 64 "^opt-site: unknown option '--bogus' $U" "unknown long option" -- \
	opt-site --bogus list
refused 64 "^opt-site: unknown option '--listen' $U" \
	"an opt-channel option is unknown to opt-site" -- \
	opt-site add s 192.0.2.1 --listen 9100
refused 64 "^opt-site: unknown option '-x' $U" \
	"show: a site id starting with '-' is parsed as an option" -- opt-site show -x
refused 64 "^opt-site: unknown option '-x' $U" \
	"add: a site id starting with '-' is parsed as an option" -- \
	opt-site add -x 192.0.2.1

# -C / --config-dir (and the environment it overrides)
refused 64 "^opt-site: option '-C' needs a value $U" "-C without a value" -- \
	opt-site -C
refused 64 "^opt-site: -C: directory 'rel/etc' is not an absolute path$" \
	"-C with a relative path" -- opt-site -C rel/etc list
refused 64 "-C" "-C with an empty value" -- opt-site -C '' list
refused_q 64 "^opt-site: -C: directory '/a\\\\x0ab' contains a control character$" \
	"-C with a newline" -- opt-site -C $'/a\nb' list
refused 64 "^opt-site: -C: directory '/a+\.\.\.' is too long$" "-C too long" -- \
	opt-site -C "/$(rep 5000 a)" list
refused 64 "^opt-site: MAST_CONFIG_DIR: directory 'rel' is not an absolute path$" \
	"MAST_CONFIG_DIR relative" -- env MAST_CONFIG_DIR=rel opt-site list

# operands
refused 64 "^opt-site: add needs SITE and HOST $U" "add without operands" -- \
	opt-site add
refused 64 "^opt-site: add needs SITE and HOST $U" "add without HOST" -- \
	opt-site add s
refused 64 "^opt-site: add needs SITE and HOST $U" "add with an extra operand" -- \
	opt-site add s 192.0.2.1 extra
refused 64 "^opt-site: remove needs SITE $U" "remove without SITE" -- \
	opt-site remove
refused 64 "^opt-site: remove needs SITE $U" "remove with two sites" -- \
	opt-site remove s t
refused 64 "^opt-site: show needs SITE $U" "show without SITE" -- opt-site show
refused 64 "^opt-site: show needs SITE $U" "show with two sites" -- \
	opt-site show s t
refused 64 "^opt-site: list takes no SITE" "list with a SITE" -- opt-site list s
refused 64 "^opt-site: set needs SITE and KEY=VALUE $U" "set without operands" -- \
	opt-site set
refused 64 "^opt-site: set needs SITE and KEY=VALUE $U" "set without KEY=VALUE" -- \
	opt-site set s

# options given to the wrong command
A="is an option of 'add' only $U"
refused 64 "^opt-site: --port $A" "--port given to list" -- opt-site list --port 22
refused 64 "^opt-site: --user $A" "--user given to show" -- opt-site show s --user u
refused 64 "^opt-site: --identity $A" "--identity given to set" -- \
	opt-site set s port=22 --identity /k
refused 64 "^opt-site: --description $A" "--description given to remove" -- \
	opt-site remove s --description d
refused 64 "^opt-site: --host-key-check $A" "--host-key-check given to set" -- \
	opt-site set s port=22 --host-key-check strict
refused 64 "^opt-site: --no-compression $A" "--no-compression given to show" -- \
	opt-site show s --no-compression
refused 64 "^opt-site: --force is an option of 'remove' only $U" \
	"--force given to add" -- opt-site add s 192.0.2.1 --force
refused 64 "^opt-site: --force is an option of 'remove' only $U" \
	"--force given to set" -- opt-site set s port=22 --force
refused 64 "^opt-site: -H and --json are for list and show $U" "-H given to add" -- \
	opt-site add s 192.0.2.1 -H
refused 64 "^opt-site: -H and --json are for list and show $U" "--json given to set" -- \
	opt-site set s port=22 --json
refused 64 "^opt-site: -H and --json are for list and show $U" "--json given to remove" -- \
	opt-site remove s --json
refused 64 "^opt-site: -H and --json are exclusive $U" "show --json -H" -- \
	opt-site show s --json -H

# option values: missing, too many, or given to an option that takes none
refused 64 "^opt-site: option '--port' needs a value $U" "--port without a value" -- \
	opt-site add s 192.0.2.1 --port
refused 64 "^opt-site: option '--description' needs a value $U" \
	"--description without a value" -- opt-site add s 192.0.2.1 --description
many=()
for i in $(seq 17); do many+=(--port 22); done
refused 64 "^opt-site: too many options $U" "17 options to add" -- \
	opt-site add s 192.0.2.1 "${many[@]}"
# The message must name the option the user typed, and not as a raw byte.
for o in --force=1 --no-compression=x --json=1 --quiet=1; do
	refused_q 64 "^opt-site: .*'$(re "${o%%=*}")(=[^']*)?'.* $U" \
		"$o is refused, naming ${o%%=*}" -- opt-site add s 192.0.2.1 "$o"
done

[ ! -e "$C" ]
ok $? "no config dir was created by the refused commands"

# ---- Site ids (65) -------------------------------------------------------

for id in ../x 'A B' Café _x a.b "$(rep 64 a)" "$(rep 70 b)" '' -x \
	$'a\nb' $'a\tb' a%n 'a"b' "a'b" / a/b .. $'x\e[31m' \
	"$(printf 'a\xffb')"; do
	refused_q 65 "^opt-site: site '$(re "$(q "$id")")' $ID" \
		"add refuses site id '$(q "$id")'" -- opt-site add -- "$id" 192.0.2.1
done
for id in ../x ''; do
	want="^opt-site: site '$id' $ID"
	refused 65 "$want" "show refuses site id '$id'" -- opt-site show -- "$id"
	refused 65 "$want" "remove refuses site id '$id'" -- opt-site remove -- "$id"
	refused 65 "$want" "set refuses site id '$id'" -- opt-site set -- "$id" port=22
done
[ ! -e "$C" ]
ok $? "no config dir was created by the refused site ids"

succeeds "a 63-character id is accepted" -- opt-site add -q "$(rep 63 a)" 192.0.2.1
succeeds "an id starting with a digit is accepted" -- opt-site add -q 1-a_b 192.0.2.1
succeeds "add the site used below" -- opt-site add -q s 192.0.2.10
succeeds "add a second site" -- opt-site add -q o 192.0.2.11
S=$C/s/site.conf
orig=$(cat "$S")
# restore: puts site.conf of s back after a test that wrongly changed it,
# so that one failure does not hide the tests after it.
restore() { [ "$(cat "$S")" = "$orig" ] || printf '%s\n' "$orig" >"$S"; }

# ---- Hosts (65) ----------------------------------------------------------

for h in 'x y' -host host_name a..b 999.1.1.1 10.0.0.300 '' -a.example \
	"$(rep 64 l).example" fd00::5::1 '[fd00::5]' h:22 $'h\n' \
	Café.example; do
	refused_q 65 "^opt-site: n: host '$(re "$(q "$h")")' $H" \
		"add refuses host '$(q "$h")'" -- opt-site add n -- "$h"
done
h254="$(rep 63 a).$(rep 63 b).$(rep 63 c).$(rep 62 d)"
refused 65 "^opt-site: n: host '[a-d.]+\.\.\.' $H" "add refuses a 254-character host" -- \
	opt-site add n "$h254"
refused 65 "^opt-site: s: host 'x y' $H" "set refuses host='x y'" -- \
	opt-site set s 'host=x y'
restore
succeeds "an IPv6 literal is a host" -- opt-site add -q v6 fd00::5
succeeds "a name with a trailing dot is a host" -- opt-site add -q dot printer.example.
succeeds "a 253-character name is a host" -- opt-site add -q long "${h254%d}"
run opt-site show v6 -H
like "$out" "$(printf '^host\tfd00::5$')" "the IPv6 host is stored as given"

# ---- Ports (65) ----------------------------------------------------------

P='is not a port number \(1-65535\)$'
for p in 0 65536 -1 22x '' ' 22' +22; do
	refused_q 65 "^opt-site: n: port '$(re "$(q "$p")")' $P" \
		"add --port '$(q "$p")'" -- opt-site add n 192.0.2.1 --port "$p"
done
refused 65 "^opt-site: n: port '-1' $P" "add --port=-1" -- \
	opt-site add n 192.0.2.1 --port=-1
for p in 0; do
	refused 65 "^opt-site: s: port '$p' $P" "set port='$p'" -- opt-site set s "port=$p"
done

# ---- Users, identity, host_key_check (65) --------------------------------

for u in '' -bob 'a b' "$(rep 33 u)" é; do
	refused 65 "^opt-site: n: user '$(re "$(q "$u")")' is not a valid user name" \
		"add --user '$(q "$u")'" -- opt-site add n 192.0.2.1 --user "$u"
done
refused 65 "^opt-site: s: user 'a;id' is not a valid user name" "set user='a;id'" -- \
	opt-site set s 'user=a;id'
succeeds "a 32-character user is accepted" -- opt-site add -q u32 192.0.2.1 \
	--user "$(rep 32 u)"

refused 65 "^opt-site: n: identity '' is not an absolute path$" "add --identity ''" -- \
	opt-site add n 192.0.2.1 --identity ''
refused 65 "^opt-site: n: identity 'keys/id' is not an absolute path$" \
	"add --identity with a relative path" -- opt-site add n 192.0.2.1 --identity keys/id
refused_q 65 "^opt-site: n: identity '/a\\\\x0ab' contains a control character$" \
	"add --identity with a newline" -- opt-site add n 192.0.2.1 --identity $'/a\nb'
refused_q 65 "^opt-site: s: identity '/a\\\\x7fb' contains a control character$" \
	"set identity with DEL" -- opt-site set s $'identity=/a\x7fb'
refused 65 "^opt-site: s: identity '/a+\.\.\.' is too long$" "identity of 4100 bytes" -- \
	opt-site set s "identity=/$(rep 4100 a)"

K='is not one of strict, accept-new, off$'
for m in yes STRICT; do
	refused 65 "^opt-site: n: host_key_check '$m' $K" "add --host-key-check '$m'" -- \
		opt-site add n 192.0.2.1 --host-key-check "$m"
done
refused 65 "^opt-site: s: host_key_check 'accept_new' $K" "set host_key_check=accept_new" -- \
	opt-site set s host_key_check=accept_new

# ---- compression, keepalive, bind, allow (65) ----------------------------

for b in maybe ''; do
	refused 65 "^opt-site: s: compression '$b' is not a yes/no value" \
		"set compression='$b'" -- opt-site set s "compression=$b"
done
for v in 0 3601; do
	refused 65 "^opt-site: s: keepalive_interval '$v' is not a number from 1 to 3600$" \
		"set keepalive_interval='$v'" -- opt-site set s "keepalive_interval=$v"
done
for v in 0 101; do
	refused 65 "^opt-site: s: keepalive_count '$v' is not a number from 1 to 100$" \
		"set keepalive_count='$v'" -- opt-site set s "keepalive_count=$v"
done
MJ='is not a number from 1 to 65536$'
for v in 0 -1 65537 abc 99999999999 '' ' 8' +8 8x 1.5 0x10 $'8\n'; do
	refused_q 65 "^opt-site: s: max_jobs '$(re "$(q "$v")")' $MJ" \
		"set max_jobs='$(q "$v")'" -- opt-site set s "max_jobs=$v"
done
refused 65 "^opt-site: nosuch: max_jobs '0' $MJ" \
	"a bad max_jobs is refused before the site is looked up" -- \
	opt-site set nosuch max_jobs=0
# The spool's settings: two whole numbers and two durations.
for v in -1 16777217 abc 99999999999 '' ' 8' +8 8M 1.5 0x10; do
	refused_q 65 "^opt-site: s: spool_max_mb '$(re "$(q "$v")")' is not a number from 0 to 16777216$" \
		"set spool_max_mb='$(q "$v")'" -- opt-site set s "spool_max_mb=$v"
done
for v in -1 8761 24h abc ''; do
	refused_q 65 "^opt-site: s: spool_keep '$(re "$(q "$v")")' is not a number from 0 to 8760$" \
		"set spool_keep='$(q "$v")'" -- opt-site set s "spool_keep=$v"
done
DUR='is not a duration \(seconds, or a number with s, m, h or d, like 90, 15m or 7d\)$'
for k in spool_max_age spool_warn_age; do
	for v in abc '' 7x 7dd d 1.5h -5 +5 ' 5' '5 ' 7D5 1w $'5\n'; do
		refused_q 65 "^opt-site: s: $k '$(re "$(q "$v")")' $DUR" \
			"set $k='$(q "$v")'" -- opt-site set s "$k=$v"
	done
done
while read -r k v range; do
	refused 65 "^opt-site: s: $k '$v' is out of range \($range\)$" \
		"set $k=$v is out of range" -- opt-site set s "$k=$v"
done <<'EOF'
spool_max_age 59 1m to 365d
spool_max_age 30s 1m to 365d
spool_max_age 0m 1m to 365d
spool_max_age 366d 1m to 365d
spool_max_age 31536001 1m to 365d
spool_max_age 99999999999999999999999999d 1m to 365d
spool_warn_age 0 1s to 365d
spool_warn_age 0d 1s to 365d
spool_warn_age 8761h 1s to 365d
EOF
refused 65 "^opt-site: nosuch: spool_warn_age '0' is out of range" \
	"a bad spool_warn_age is refused before the site is looked up" -- \
	opt-site set nosuch spool_warn_age=0
for a in localhost '' 10.0.0.0/8; do
	refused 65 "^opt-site: s: address '$(re "$a")' is not an IPv4 or IPv6 address$" \
		"set bind='$a'" -- opt-site set s "bind=$a"
done
N='is not an address or network \(like 10\.0\.0\.0/8 or fd00::/8\)$'
for a in foo 10.0.0.0/33 fd00::/129; do
	refused 65 "^opt-site: s: network '$(re "$a")' $N" "set allow='$a'" -- \
		opt-site set s "allow=$a"
done
refused 65 "^opt-site: s: network '' $N" "allow with an empty item" -- \
	opt-site set s allow=10.0.0.0/8,,fd00::/8
refused 65 "^opt-site: s: allow has more than 64 networks$" "allow with 65 networks" -- \
	opt-site set s "allow=$(printf '10.0.0.%d/32,' $(seq 65) | sed 's/,$//')"
# Not cut to fit: 10.0.0.0/000...08 cut short would be 10.0.0.0/0, anyone.
refused 65 "^opt-site: s: (network|allow) " "allow with an over-long zero-padded prefix" -- \
	opt-site set s "allow=10.0.0.0/$(rep 45 0)8"
restore
# Not silently dropped: only the first of two space-separated networks
# would be kept.
refused 65 "^opt-site: s: (network|allow) " "allow with two networks separated by a space" -- \
	opt-site set s 'allow=10.0.0.0/8 junk'
restore

# ---- Descriptions (65) ---------------------------------------------------

D80=$(rep 80 x) E80=$(rep 80 é)
LONG80='is longer than 80 characters$' CTL='contains a control character$'
UTF='is not valid UTF-8 text$'
refused 65 "^opt-site: n: description 'x+y' $LONG80" "add: 81 characters" -- \
	opt-site add n 192.0.2.1 --description "${D80}y"
refused 65 "^opt-site: s: description '(\\\\xc3\\\\xa9)+(\\\\xc3)?\.\.\.' $LONG80" "set: 81 'é'" -- \
	opt-site set s "description=${E80}é"
for d in $'a\nb' $'a\tb' $'a\eb' $'a\x7fb' $'a\xc2\x85b'; do
	refused_q 65 "^opt-site: s: description '$(re "$(q "$d")")' $CTL" \
		"set: description '$(q "$d")'" -- opt-site set s "description=$d"
done
refused_q 65 "^opt-site: n: description 'a\\\\x0ab' $CTL" "add: description with a newline" -- \
	opt-site add n 192.0.2.1 --description $'a\nb'
for d in $'\xff' $'a\xc3' $'\xed\xa0\x80' $'\xc0\xaf'; do
	refused_q 65 "^opt-site: s: description '$(re "$(q "$d")")' $UTF" \
		"set: description '$(q "$d")'" -- opt-site set s "description=$d"
done
refused_q 65 "^opt-site: n: description '\\\\xff' $UTF" "add: description \\xff" -- \
	opt-site add n 192.0.2.1 --description $'\xff'
succeeds "80 characters are accepted" -- opt-site add -q d1 192.0.2.1 --description "$D80"
succeeds "80 'é' (160 bytes) are accepted" -- opt-site add -q d2 192.0.2.1 \
	--description "$E80"
run opt-site show d2 -H
like "$out" "$(printf '^description\t%s$' "$E80")" "the 80 'é' are kept whole"

# ---- set: KEY=VALUE (64) -------------------------------------------------

refused 64 "^opt-site: 'port' is not KEY=VALUE $U" "set KEY without '='" -- \
	opt-site set s port
refused 64 "^opt-site: '=22' is not KEY=VALUE $U" "set '=VALUE' without KEY" -- \
	opt-site set s =22
KEYS='\(host, port, user, identity, host_key_check, compression, keepalive_interval, keepalive_count, bind, allow, max_jobs, spool_max_mb, spool_keep, spool_max_age, spool_warn_age, probe_interval, printer_down_critical, description\)$'
for k in bogus Port; do
	refused 64 "^opt-site: s: unknown setting '$k' $KEYS" "set unknown key '$k'" -- \
		opt-site set s "$k=1"
done
refused 64 "^opt-site: s: unknown setting 'bogus' " \
	"a bad key after a good one: nothing is changed" -- opt-site set s port=23 bogus=1
refused 64 "^opt-site: 'port' is not KEY=VALUE" \
	"a pair without '=' after a good one: nothing is changed" -- \
	opt-site set s port=23 port
refused 65 "^opt-site: s: port '0' $P" \
	"a bad value after a good one: nothing is changed" -- opt-site set s port=23 port=0

# ---- No such site (66) ---------------------------------------------------

mkdir -m 750 "$C/d" && touch "$C/d/channels.conf" && chmod 640 "$C/d/channels.conf"
refused 66 "^opt-site: nosuch: no such site$" "show of a missing site" -- \
	opt-site show nosuch
refused 66 "^opt-site: nosuch: no such site$" "set of a missing site" -- \
	opt-site set nosuch port=23
refused 66 "^opt-site: nosuch: no such site$" "remove --force of a missing site" -- \
	opt-site remove --force nosuch
refused 66 "^opt-site: d: no such site$" "show of a dir without site.conf" -- \
	opt-site show d
refused 66 "^opt-site: d: no such site$" "remove of a dir without site.conf" -- \
	opt-site remove d

# ---- Cannot create (73) --------------------------------------------------

refused 73 "^opt-site: s: site already exists$" "add an existing site" -- \
	opt-site add s 192.0.2.99 --port 2222
refused 73 "^opt-site: d: site already exists$" "add over a leftover directory" -- \
	opt-site add d 192.0.2.99
touch "$C/f" && chmod 640 "$C/f"
refused 73 "^opt-site: f: site already exists$" "add over a file of that name" -- \
	opt-site add f 192.0.2.99
is "$(cat "$S")" "$orig" "site.conf of s is unchanged by all of the above"

# ---- Config lock busy (75) -----------------------------------------------

hold "$C/.lock"
L="config lock $(re "$C/.lock") is busy"
# add and remove wait in the background while set waits in refused.
in_background add env MAST_LOCK_TIMEOUT=1 opt-site add n 192.0.2.1
in_background rm env MAST_LOCK_TIMEOUT=1 opt-site remove s
refused 75 "^opt-site: $L" "set: the config lock is busy" -- \
	env MAST_LOCK_TIMEOUT=1 opt-site set s port=23
refused_bg 75 "^opt-site: $L" "add: the config lock is busy" add
refused_bg 75 "^opt-site: $L" "rm: the config lock is busy" rm
[ -f "$S" ] && [ ! -e "$C/n" ]
ok $? "nothing was added or removed while the lock was busy"
succeeds "show does not need the lock" -- env MAST_LOCK_TIMEOUT=1 opt-site show s
kill_wait "$holder"

# ---- Broken config files (78) --------------------------------------------

cp "$S" "$T/site.good"
# break_site SED NAME [CMD...]: site.conf of s edited with SED is refused
# by CMD (show s by default).
break_site() {
	local ed=$1 name=$2
	shift 2
	cp "$T/site.good" "$S"
	sed -i "$ed" "$S"
	[ $# -gt 0 ] || set -- show s
	broken "$S" "$1: site.conf $name" -- opt-site "$@"
}
break_site 's/^port = 22;/port = = 22;/' "with a syntax error"
break_site 's/^port = 22;/port = = 22;/' "with a syntax error" set s port=23
break_site 's/^port = 22;/port = "22";/' "with a port that is a string" set s port=23
break_site 's/^allow = .*/allow = "10.0.0.0\/8";/' "with an allow that is not a list"
break_site '$a bogus = 1;' "with an unknown key" set s description=x
break_site 's/^port = 22;/port = 70000;/' "with a port out of range"
break_site 's/^keepalive_count = 3;/keepalive_count = 0;/' "with keepalive_count 0"
break_site 's/^host = .*/host = "x y";/' "with a bad host"
# max_jobs and the spool's settings, refused naming the file, the line
# and the setting.
is "$(sed -n 12,16p "$T/site.good" | tr '\n' ' ')" \
	'max_jobs = 256; spool_max_mb = 0; spool_keep = 0; spool_max_age = "7d"; spool_warn_age = "15m"; ' \
	"site.conf has max_jobs and the spool's settings, at their defaults, on lines 12 to 16"
SMB='is not a number from 0 to 16777216' AGE='is out of range \(1m to 365d\)'
while IFS='|' read -r line k v why cmd; do
	cp "$T/site.good" "$S"
	sed -i "${line}s/^$k = .*/$k = $v;/" "$S"
	read -ra w <<<"$cmd"
	broken_at "$S" ":$line: $k: $why\$" \
		"${w[0]}: site.conf with $k = $v" -- opt-site "${w[@]}"
done <<EOF
12|max_jobs|0|max_jobs '0' ${MJ%$}|show s
12|max_jobs|-1|max_jobs '-1' ${MJ%$}|set s description=x
12|max_jobs|65537|max_jobs '65537' ${MJ%$}|show s
12|max_jobs|99999999999L|max_jobs '99999999999' ${MJ%$}|show s
12|max_jobs|"256"|must be a whole number|set s max_jobs=8
12|max_jobs|2.5|must be a whole number|show s
13|spool_max_mb|-1|spool_max_mb '-1' $SMB|show s
13|spool_max_mb|16777217|spool_max_mb '16777217' $SMB|set s description=x
13|spool_max_mb|"100"|must be a whole number|show s
14|spool_keep|8761|spool_keep '8761' is not a number from 0 to 8760|show s
14|spool_keep|"24h"|must be a whole number|show s
15|spool_max_age|"30s"|spool_max_age '30s' $AGE|show s
15|spool_max_age|59|spool_max_age '59' $AGE|set s description=x
15|spool_max_age|99999999999L|spool_max_age '99999999999' $AGE|show s
15|spool_max_age|"7 d"|spool_max_age '7 d' ${DUR%$}|show s
16|spool_warn_age|0|spool_warn_age '0' is out of range \(1s to 365d\)|show s
16|spool_warn_age|1.5|must be a duration like "7d" or whole seconds|show s
16|spool_warn_age|true|must be a duration like "7d" or whole seconds|set s spool_warn_age=1h
16|spool_warn_age|[ "15m" ]|must be a duration like "7d" or whole seconds|show s
EOF
break_site '/^host = /d' "without a host"
break_site 's/^description = .*/description = "a\\nb";/' "with a control character in description"
break_site '$a @include "/dev/null"' "with an @include"
break_site '$a \  @include "/dev/null"' "with an indented @include" set s port=23
cp "$T/site.good" "$S"
printf '# a\0b\n' >>"$S"
broken "$S" "show: site.conf with a NUL byte" -- opt-site show s
cp "$T/site.good" "$T/site.real"
rm "$S" && ln -s "$T/site.real" "$S"
broken "$S" "show: site.conf is a symbolic link" -- opt-site show s
broken "$S" "set: site.conf is a symbolic link" -- opt-site set s port=23
[ -L "$S" ]
ok $? "the symbolic link is left in place"
rm "$S"
cp "$T/site.good" "$S"
chmod g+w "$S"
broken "$S" "show: site.conf writable by group" -- opt-site show s
chmod 640 "$S" && chmod o+w "$S"
broken "$S" "show: site.conf writable by others" -- opt-site show s
chmod 640 "$S"

# list reports a broken site, exits 78, and still lists the others.
sed -i 's/^port = 22;/port = "22";/' "$S"
cp "$S" "$T/.saved"
partly 78 "^opt-site: s: $(re "$S"):[0-9]+: port: " $'^o\t' $'^s\t' \
	"list: a broken site.conf is reported (78), the other sites are listed" -- \
	opt-site list -H
cmp -s "$S" "$T/.saved"
ok $? "list leaves the broken site.conf byte-identical"
cp "$T/site.good" "$S"

# show reads the site's channels.conf and throttle.conf too.
CH=$C/s/channels.conf TH=$C/s/throttle.conf
cp "$CH" "$T/ch.good" && cp "$TH" "$T/th.good"
echo 'channels = ( { id = 1; } );' >"$CH"
broken "$CH" "show: channels.conf with a channel missing keys" -- opt-site show s
cp "$T/ch.good" "$CH"
echo 'up = "fast";' >>"$TH"
broken "$TH" "show: throttle.conf with a rate that is a string" -- opt-site show s
cp "$T/th.good" "$TH"

# defaults.conf is read by every command that reads or makes a site.
DF=$C/defaults.conf
broken_defaults 'port = ;' "with a syntax error" opt-site add n 192.0.2.1
broken_defaults 'bogus = 1;' "with an unknown key" opt-site set s port=23
broken_defaults 'port = "22";' "with a port that is a string" opt-site show s
broken_defaults 'port = 0;' "with port 0" opt-site list
broken_defaults 'max_jobs = 0;' "with max_jobs 0" opt-site add n 192.0.2.1
broken_defaults 'max_jobs = "many";' "with a max_jobs that is a string" \
	opt-site show s
broken_defaults 'spool_max_mb = -1;' "with spool_max_mb -1" opt-site add n 192.0.2.1
broken_defaults 'spool_keep = "1d";' "with a spool_keep that is a string" \
	opt-site show s
broken_defaults 'spool_max_age = "1s";' "with spool_max_age 1s" opt-site list
broken_defaults 'spool_warn_age = "soon";' "with spool_warn_age soon" \
	opt-site add n 192.0.2.1
broken_defaults 'channel_mode = "store";' "with channel_mode store" \
	opt-site add n 192.0.2.1
broken_defaults 'channel_mode = 1;' "with a channel_mode that is a number" \
	opt-site show s
broken_defaults 'port_range = [9999, 9100];' "with port_range reversed" \
	opt-site add n 192.0.2.1
broken_defaults 'local_user = "-x";' "with a bad local_user" \
	opt-site add n 192.0.2.1
printf 'port = 22;\n' >"$DF"
chmod 664 "$DF"
broken "$DF" "add: defaults.conf writable by group" -- opt-site add n 192.0.2.1
rm -f "$DF"
is "$(cat "$S")" "$orig" "site.conf of s is as it was added"

# ---- Hostile input is quoted: one stderr line, no raw control byte -------

EVIL=$'x\nopt-site: s: all good\n\e[2J'
QE='x\\x0aopt-site: s: all good\\x0a\\x1b\[2J'
refused_q 65 "^opt-site: site '$QE' $ID" "a site id with newlines and ESC" -- \
	opt-site show "$EVIL"
refused_q 65 "^opt-site: s: host '$QE' $H" "a host with newlines" -- \
	opt-site set s "host=$EVIL"
refused_q 65 "^opt-site: n: port '$QE' $P" "a port with newlines" -- \
	opt-site add n 192.0.2.1 --port "$EVIL"
refused_q 65 "^opt-site: s: network 'x\\\\x0aopt-site:" "an allow item with newlines" -- \
	opt-site set s "allow=$EVIL"
refused_q 64 "^opt-site: s: unknown setting '$QE' " "a key with newlines" -- \
	opt-site set s "$EVIL=1"
refused_q 64 "^opt-site: '$QE' is not KEY=VALUE " "a pair without '=' with newlines" -- \
	opt-site set s "$EVIL"
refused_q 64 "^opt-site: unknown command '$QE' $U" "a command with newlines" -- \
	opt-site "$EVIL"
refused_q 64 "^opt-site: unknown option '--$QE' $U" "an option with newlines" -- \
	opt-site "--$EVIL" list
refused_q 65 "^opt-site: n: host '%s%s%s%n' $H" "printf directives are text" -- \
	opt-site add n '%s%s%s%n'
refused_q 65 "^opt-site: s: host '(\\\\x0a|\\\\x1b)+\.\.\.' $H" \
	"a 6000-byte hostile value is cut, still one line" -- \
	opt-site set s "host=$(rep 3000 $'\n\e')"
[ ${#err} -lt 300 ]
ok $? "the message for a 6000-byte value stays short (${#err} bytes)"

# ---- Nothing else appeared -----------------------------------------------

is "$(cat "$S")" "$orig" "site.conf of s is unchanged after every refusal"
is "$(ls -A "$C" | grep -v '^\.lock$' | LC_ALL=C sort | tr '\n' ' ')" \
	"$(printf '%s\n' "$(rep 63 a)" 1-a_b d d1 d2 dot f long o s u32 v6 |
		LC_ALL=C sort | tr '\n' ' ')" \
	"the config dir holds only the sites added, no temp files"
[ ! -e "$MAST_RUN_DIR" ] && [ ! -e "$MAST_LOG_DIR" ]
ok $? "no run or log dir was created"

done_testing
