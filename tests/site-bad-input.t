#!/bin/bash
# opt-site refuses bad input: every option and every argument, with the
# exit code of the contract (DESIGN.md 4), one stderr line that names the
# problem (hostile bytes quoted), nothing on stdout, and nothing created
# or changed on disk.  Broken config files are refused (78) and left
# byte for byte as they were.
. "$(dirname "$0")/lib.sh"

C=$MAST_CONFIG_DIR
ID='is not a valid site id'

# re TEXT: TEXT as an ERE matching itself.
re() { printf '%s' "$1" | sed 's/[].[\\()*+?{}|^$]/\\&/g'; }
# q TEXT: TEXT as the tools quote it (printable ASCII kept, \ doubled,
# any other byte as \xNN).
q() {
	perl -e '$_ = shift; s/\\/\\\\/g;
		s/([^\x20-\x7e])/sprintf("\\x%02x", ord $1)/ge; print' -- "$1"
}
# rep N TEXT: TEXT N times.
rep() { local i s=; for ((i = 0; i < $1; i++)); do s+=$2; done; printf '%s' "$s"; }

# refused_q CODE ERE NAME -- CMD...: refused, and stderr holds no raw
# control character (a second test).
refused_q() {
	local name=$3
	refused "$@"
	! printf '%s' "$err" | LC_ALL=C grep -q '[[:cntrl:]]'
	ok $? "$name: stderr has no raw control character"
	[ $? -eq 0 ] || diag "stderr: $(printf '%s' "$err" | od -c | head -5)"
}

# bad_id ID: the id is refused (65) by add, show, set and remove.
bad_id() {
	local id=$1 want
	want="^opt-site: site '$(re "$(q "$id")")' $ID"
	refused 65 "$want" "add refuses site id '$(q "$id")'" -- \
		opt-site add -- "$id" 192.0.2.1
	refused 65 "$want" "show refuses site id '$(q "$id")'" -- \
		opt-site show -- "$id"
	refused 65 "$want" "set refuses site id '$(q "$id")'" -- \
		opt-site set -- "$id" port=22
	refused 65 "$want" "remove refuses site id '$(q "$id")'" -- \
		opt-site remove -- "$id"
}

# ---- Usage errors (64), before any config dir exists -----------------

U='\(see opt-site --help\)$'
refused 64 "^opt-site: missing command $U" "no command" -- opt-site
refused 64 "^opt-site: unknown command 'bogus' $U" "unknown command" -- \
	opt-site bogus
refused 64 "^opt-site: unknown command 'List' $U" "commands are case-sensitive" -- \
	opt-site List
refused 64 "^opt-site: unknown option '-Z' $U" "unknown short option" -- \
	opt-site -Z list
refused 64 "^opt-site: unknown option '--bogus' $U" "unknown long option" -- \
	opt-site --bogus list
refused 64 "^opt-site: unknown option '--listen' $U" \
	"an opt-channel option is unknown to opt-site" -- opt-site add s h --listen 9100
refused 64 "^opt-site: unknown option '-x' $U" \
	"a site id starting with '-' is parsed as an option" -- opt-site show -x
refused 64 "^opt-site: unknown option '-x' $U" \
	"add: a site id starting with '-' is parsed as an option" -- \
	opt-site add -x 192.0.2.1

# -C / --config-dir
refused 64 "^opt-site: option '-C' needs a value $U" "-C without a value" -- \
	opt-site -C
refused 64 "^opt-site: option '--config-dir' needs a value $U" \
	"--config-dir without a value" -- opt-site --config-dir
refused 64 "^opt-site: -C: directory 'rel/etc' is not an absolute path" \
	"-C with a relative path" -- opt-site -C rel/etc list
refused 64 "^opt-site: -C: directory 'rel' is not an absolute path" \
	"--config-dir= with a relative path" -- opt-site --config-dir=rel list
refused 64 "-C" "-C with an empty value" -- opt-site -C '' list
refused_q 64 "^opt-site: -C: directory '/a\\\\x0ab' contains a control character" \
	"-C with a newline" -- opt-site -C $'/a\nb' list
refused 64 "^opt-site: -C: directory '/a+\.\.\.' is too long" "-C too long" -- \
	opt-site -C "/$(rep 5000 a)" list
refused 64 "^opt-site: MAST_CONFIG_DIR: directory 'rel' is not an absolute path" \
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
for o in "--port 22" "--user u" "--identity /k" "--description d" \
	"--host-key-check strict" "--no-compression"; do
	for cmd in "list" "show s" "set s port=22" "remove s"; do
		# shellcheck disable=SC2086
		refused 64 "^opt-site: ${o%% *} is an option of 'add' only $U" \
			"$o given to $cmd" -- opt-site $cmd $o
	done
done
for cmd in "add s 192.0.2.1" "list" "show s" "set s port=22"; do
	# shellcheck disable=SC2086
	refused 64 "^opt-site: --force is an option of 'remove' only $U" \
		"--force given to ${cmd%% *}" -- opt-site $cmd --force
done
for f in -H --json; do
	for cmd in "add s 192.0.2.1" "remove s" "set s port=22"; do
		# shellcheck disable=SC2086
		refused 64 "^opt-site: -H and --json are for list and show $U" \
			"$f given to ${cmd%% *}" -- opt-site $cmd $f
	done
done
refused 64 "^opt-site: -H and --json are exclusive $U" "list -H --json" -- \
	opt-site list -H --json
refused 64 "^opt-site: -H and --json are exclusive $U" "list --json -H" -- \
	opt-site list --json -H
refused 64 "^opt-site: -H and --json are exclusive $U" "show s -H --json" -- \
	opt-site show s -H --json

# options missing their value
for o in --port --user --identity --description --host-key-check; do
	refused 64 "^opt-site: option '$o' needs a value $U" "$o without a value" -- \
		opt-site add s 192.0.2.1 "$o"
done
many=()
for i in $(seq 17); do many+=(--port 22); done
refused 64 "^opt-site: too many options $U" "17 options to add" -- \
	opt-site add s 192.0.2.1 "${many[@]}"

# options that take no value, given one: the message names the option
# the user typed, quoted, with no raw control byte.
for o in --force=1 --no-compression=x --json=1 --quiet=1 --verbose=1 \
	--help=1 --version=1; do
	refused_q 64 "^opt-site: .*'$(re "${o%%=*}")(=[^']*)?'.* $U" \
		"$o: refused, naming ${o%%=*}" -- opt-site add s 192.0.2.1 "$o"
done

[ ! -e "$C" ]
ok $? "no config dir was created by refused commands"

# ---- Site ids (65) -----------------------------------------------------

for id in ../x 'A B' Café _x a.b "$(rep 64 a)" "$(rep 70 b)" '' -x --x \
	$'a\nb' $'a\tb' a%n '%s%s%n' 'a"b' "a'b" / a/b . .. A $'x\e[31m' \
	'a b' ' a' 'a ' 'a\b' "$(printf 'a\xffb')"; do
	bad_id "$id"
done
[ ! -e "$C" ]
ok $? "no config dir was created by refused site ids"

succeeds "a 63-character id is accepted" -- opt-site add -q "$(rep 63 a)" 192.0.2.1
succeeds "an id starting with a digit is accepted" -- opt-site add -q 1-a_b 192.0.2.1
succeeds "add the site used below" -- opt-site add -q s 192.0.2.10
succeeds "add a second site" -- opt-site add -q o 192.0.2.11
S=$C/s/site.conf
orig=$(cat "$S")

# ---- Hosts (65) ----------------------------------------------------------

H="is not a valid host name or address"
for h in 'x y' -host host_name a..b 999.1.1.1 10.0.0.300 '' . .. .a a. \
	-a.example a-.example a.-b "$(rep 64 l).example" \
	"$(rep 63 a).$(rep 63 b).$(rep 63 c).$(rep 62 d)" \
	fd00::5::1 '[fd00::5]' 'h:22' 'h/x' 'h%n' $'h\n' $'h\x85' 'Café.example'; do
	want="^opt-site: n: host '$(re "$(q "$h")")' $H"
	[ ${#h} -gt 100 ] && want="^opt-site: n: host '[a-z.]+\.\.\.' $H"
	refused 65 "$want" "add refuses host '$(q "$h" | cut -c1-40)'" -- \
		opt-site add n -- "$h"
	want=${want/n: /s: }
	refused 65 "$want" "set refuses host='$(q "$h" | cut -c1-40)'" -- \
		opt-site set s "host=$h"
done
succeeds "an IPv6 literal is a host" -- opt-site add -q v6 fd00::5
succeeds "a name with a trailing dot is a host" -- opt-site add -q dot printer.example.
succeeds "a 253-character name is a host" -- opt-site add -q long \
	"$(rep 63 a).$(rep 63 b).$(rep 63 c).$(rep 61 d)"
run opt-site show v6 -H
like "$out" "$(printf '^host\tfd00::5$')" "the IPv6 host is stored as given"

# ---- Ports (65) ----------------------------------------------------------

for p in 0 65536 -1 22x '' ' 22' '22 ' +22 0x16 1e3 2.2 99999999999999999999 \
	$'22\n'; do
	want="^opt-site: n: port '$(re "$(q "$p")")' is not a port number \(1-65535\)$"
	refused 65 "$want" "add --port '$(q "$p")'" -- opt-site add n 192.0.2.1 --port "$p"
	refused 65 "$want" "add --port='$(q "$p")'" -- opt-site add n 192.0.2.1 "--port=$p"
	refused 65 "${want/n: /s: }" "set port='$(q "$p")'" -- opt-site set s "port=$p"
done

# ---- Users (65) ----------------------------------------------------------

for u in '' -bob 'a b' "$(rep 33 u)" 'a:b' 'a/b' 'root;id' 'é' $'u\n' '%n'; do
	want="^opt-site: n: user '$(re "$(q "$u")")' is not a valid user name"
	refused 65 "$want" "add --user '$(q "$u")'" -- opt-site add n 192.0.2.1 --user "$u"
	refused 65 "${want/n: /s: }" "set user='$(q "$u")'" -- opt-site set s "user=$u"
done
succeeds "a 32-character user is accepted" -- opt-site add -q u32 192.0.2.1 \
	--user "$(rep 32 u)"

# ---- Identity (65) -------------------------------------------------------

for i in '' rel/key ./key '~/key' $'/a\nb' $'/a\tb' $'/a\x7fb' $'/a\eb'; do
	case $i in /*) why="contains a control character" ;;
	*) why="is not an absolute path" ;; esac
	want="^opt-site: n: identity '$(re "$(q "$i")")' $why$"
	refused 65 "$want" "add --identity '$(q "$i")'" -- \
		opt-site add n 192.0.2.1 --identity "$i"
	refused 65 "${want/n: /s: }" "set identity='$(q "$i")'" -- \
		opt-site set s "identity=$i"
done
refused 65 "^opt-site: s: identity '/a+\.\.\.' is too long$" "identity of 4100 bytes" -- \
	opt-site set s "identity=/$(rep 4100 a)"

# ---- host_key_check, compression, keepalive (65) -------------------------

for m in yes '' STRICT accept_new acceptnew 'off ' no; do
	want="^opt-site: n: host_key_check '$(re "$m")' is not one of strict, accept-new, off$"
	refused 65 "$want" "add --host-key-check '$m'" -- \
		opt-site add n 192.0.2.1 --host-key-check "$m"
	refused 65 "${want/n: /s: }" "set host_key_check='$m'" -- \
		opt-site set s "host_key_check=$m"
done
for b in maybe '' 2 -1 tru 'yes ' y n; do
	refused 65 "^opt-site: s: compression '$(re "$b")' is not a yes/no value" \
		"set compression='$b'" -- opt-site set s "compression=$b"
done
for v in 0 3601 -1 x '' ' 5' 5s +5; do
	refused 65 "^opt-site: s: keepalive_interval '$(re "$v")' is not a number from 1 to 3600$" \
		"set keepalive_interval='$v'" -- opt-site set s "keepalive_interval=$v"
done
for v in 0 101 -1 x '' 3.0; do
	refused 65 "^opt-site: s: keepalive_count '$(re "$v")' is not a number from 1 to 100$" \
		"set keepalive_count='$v'" -- opt-site set s "keepalive_count=$v"
done

# ---- bind and allow (65) -------------------------------------------------

for a in localhost '' 10.0.0.0/8 127.0.0.1:80 256.0.0.1 '[::1]' 'fe80::1%lo' \
	' 127.0.0.1' 0; do
	refused 65 "^opt-site: s: address '$(re "$a")' is not an IPv4 or IPv6 address$" \
		"set bind='$a'" -- opt-site set s "bind=$a"
done
N='is not an address or network \(like 10\.0\.0\.0/8 or fd00::/8\)$'
for a in foo 10.0.0.0/33 fd00::/129 10.0.0.0/-1 10.0.0.0/ /8 10.0.0.0/x \
	10.0.0.0/8/8 example.com/8 '10.0.0.0/ 8'; do
	refused 65 "^opt-site: s: network '$(re "$a")' $N" "set allow='$a'" -- \
		opt-site set s "allow=$a"
done
refused 65 "^opt-site: s: network '' $N" "allow with an empty item" -- \
	opt-site set s allow=10.0.0.0/8,,fd00::/8
refused 65 "^opt-site: s: network '' $N" "allow with a trailing comma" -- \
	opt-site set s allow=10.0.0.1/32,
refused 65 "^opt-site: s: network 'foo' $N" "allow: one bad item refuses all" -- \
	opt-site set s allow=10.0.0.0/8,foo
refused 65 "^opt-site: s: allow has more than 64 networks$" "allow with 65 networks" -- \
	opt-site set s "allow=$(printf '10.0.0.%d/32,' $(seq 65) | sed 's/,$//')"
# A prefix padded with zeros must not be cut to fit (it would become
# 10.0.0.0/0, allowing anyone).
refused 65 "^opt-site: s: (network|allow) " "allow with an over-long zero-padded prefix" -- \
	opt-site set s "allow=10.0.0.0/$(rep 45 0)8"

# ---- Descriptions (65) ---------------------------------------------------

D80=$(rep 80 x)
E80=$(rep 80 é)
for d in "${D80}y" "${E80}é" "$(rep 81 '€')" $'a\nb' $'a\tb' $'a\eb' $'a\x7fb' \
	$'a\xc2\x85b' $'a\rb' $'a\x01b' $'\e[2J' $'\xff' $'a\xc3' $'\xed\xa0\x80' \
	$'\xc0\xaf' $'\xf4\x90\x80\x80' $'\xe2\x82'; do
	case $d in
	"${D80}y" | "${E80}é" | €*) why="is longer than 80 characters" ;;
	$'\xff' | $'a\xc3' | $'\xed\xa0\x80' | $'\xc0\xaf' | $'\xf4\x90\x80\x80' | $'\xe2\x82')
		why="is not valid UTF-8 text" ;;
	*) why="contains a control character" ;;
	esac
	want="^opt-site: n: description '[^']*' $why$"
	refused_q 65 "$want" "add --description '$(q "$d" | cut -c1-30)'" -- \
		opt-site add n 192.0.2.1 --description "$d"
	refused_q 65 "${want/n: /s: }" "set description='$(q "$d" | cut -c1-30)'" -- \
		opt-site set s "description=$d"
done
succeeds "80 characters are accepted" -- opt-site add -q d1 192.0.2.1 --description "$D80"
succeeds "80 'é' (160 bytes) are accepted" -- opt-site add -q d2 192.0.2.1 \
	--description "$E80"
succeeds "80 '€' (240 bytes) are accepted" -- opt-site set d2 "description=$(rep 80 '€')"
run opt-site show d1 -H
like "$out" "$(printf '^description\t%s$' "$D80")" "the 80 characters are kept whole"

# ---- set: KEY=VALUE (64) -------------------------------------------------

for kv in port =22 '=' '' ' '; do
	refused 64 "^opt-site: '$(re "$kv")' is not KEY=VALUE $U" "set '$kv'" -- \
		opt-site set s "$kv"
done
K='\(host, port, user, identity, host_key_check, compression, keepalive_interval, keepalive_count, bind, allow, description\)$'
for k in bogus Port ' port' 'port ' id site enabled up channels; do
	refused 64 "^opt-site: s: unknown setting '$(re "$k")' $K" "set unknown key '$k'" -- \
		opt-site set s "$k=1"
done
refused 64 "^opt-site: s: unknown setting 'bogus' " \
	"a bad key after a good one changes nothing" -- opt-site set s port=23 bogus=1
refused 64 "^opt-site: 'port' is not KEY=VALUE" \
	"a missing '=' after a good pair changes nothing" -- opt-site set s port=23 port
refused 65 "^opt-site: s: port '0' is not a port number" \
	"a bad value after a good one changes nothing" -- opt-site set s port=23 port=0
refused 64 "^opt-site: nosuch: unknown setting 'bogus' " \
	"an unknown key is a usage error even for a missing site" -- \
	opt-site set nosuch bogus=1

# ---- No such site (66) ---------------------------------------------------

mkdir "$C/d" && touch "$C/d/channels.conf"
chmod 750 "$C/d"
for cmd in show remove; do
	refused 66 "^opt-site: nosuch: no such site$" "$cmd of a missing site" -- \
		opt-site $cmd nosuch
	refused 66 "^opt-site: d: no such site$" "$cmd of a dir without site.conf" -- \
		opt-site $cmd d
done
refused 66 "^opt-site: nosuch: no such site$" "set of a missing site" -- \
	opt-site set nosuch port=23
refused 66 "^opt-site: d: no such site$" "set of a dir without site.conf" -- \
	opt-site set d port=23
refused 66 "^opt-site: nosuch: no such site$" "remove --force of a missing site" -- \
	opt-site remove --force nosuch

# ---- Cannot create (73) --------------------------------------------------

refused 73 "^opt-site: s: site already exists$" "add an existing site" -- \
	opt-site add s 192.0.2.99
refused 73 "^opt-site: s: site already exists$" "add an existing site, other options" -- \
	opt-site add s 192.0.2.10 --port 2222 --description x
refused 73 "^opt-site: d: site already exists$" "add over a leftover directory" -- \
	opt-site add d 192.0.2.99
touch "$C/f" && chmod 640 "$C/f"
refused 73 "^opt-site: f: site already exists$" "add over a file of that name" -- \
	opt-site add f 192.0.2.99
is "$(cat "$S")" "$orig" "site.conf of s is unchanged by all of the above"

# ---- Config lock busy (75) -----------------------------------------------

( exec 9>"$C/.lock" && flock 9 && exec sleep 30 ) &
holder=$!
cleanup "kill $holder 2>/dev/null"
for i in $(seq 250); do flock -n "$C/.lock" true || break; sleep 0.02; done
L="^opt-site: (s: )?config lock $(re "$C/.lock") is busy"
refused 75 "$L" "set waits for the lock, then gives up" -- \
	env MAST_LOCK_TIMEOUT=1 opt-site set s port=23
refused 75 "${L/s: /n: }" "add waits for the lock, then gives up" -- \
	env MAST_LOCK_TIMEOUT=1 opt-site add n 192.0.2.1
refused 75 "$L" "remove waits for the lock, then gives up" -- \
	env MAST_LOCK_TIMEOUT=1 opt-site remove s
[ -d "$C/s" ] && [ ! -e "$C/n" ]
ok $? "nothing was added or removed while the lock was busy"
succeeds "show does not need the lock" -- env MAST_LOCK_TIMEOUT=1 opt-site show s
{ kill "$holder" && wait "$holder"; } 2>/dev/null

# ---- Broken config files (78) --------------------------------------------

# broken FILE NAME -- CMD...: CMD exits 78 with one line naming FILE,
# and FILE is byte-identical (and has the same mode) afterwards.
broken() {
	local file=$1 name=$2 mode
	shift 3
	cp "$file" "$T/.saved"
	mode=$(stat -c %a "$file")
	refused 78 "^opt-site: ([a-z0-9_-]+: )?$(re "$file")(:[0-9]+)?: " "$name" -- "$@"
	cmp -s "$file" "$T/.saved" && [ "$(stat -c %a "$file")" = "$mode" ]
	ok $? "$name: $(basename "$file") is byte-identical afterwards"
}

# break_site SED NAME: edits a copy of site.conf of s with SED, then
# show and set must refuse it.
cp "$S" "$T/site.good"
break_site() {
	cp "$T/site.good" "$S"
	sed -i "$1" "$S"
	broken "$S" "show: site.conf $2" -- opt-site show s
	broken "$S" "set: site.conf $2" -- opt-site set s port=23
}
break_site 's/^port = 22;/port = 22/' "with a syntax error"
break_site 's/^port = 22;/port = "22";/' "with a port that is a string"
break_site 's/^compression = true;/compression = "yes";/' "with a compression that is a string"
break_site 's/^allow = .*/allow = "10.0.0.0\/8";/' "with an allow that is not a list"
break_site 's/^allow = .*/allow = [ 10 ];/' "with an allow item that is not a string"
break_site '$a bogus = 1;' "with an unknown key"
break_site '$a Port = 1;' "with a key in the wrong case"
break_site 's/^port = 22;/port = 70000;/' "with a port out of range"
break_site 's/^keepalive_count = 3;/keepalive_count = 0;/' "with keepalive_count 0"
break_site 's/^keepalive_interval = 5;/keepalive_interval = 3601;/' "with keepalive_interval 3601"
break_site 's/^host = .*/host = "x y";/' "with a bad host"
break_site '/^host = /d' "without a host"
break_site 's/^bind = .*/bind = "localhost";/' "with a bad bind"
break_site 's/^allow = .*/allow = [ "10.0.0.0\/33" ];/' "with a bad allow network"
break_site 's/^host_key_check = .*/host_key_check = "yes";/' "with a bad host_key_check"
break_site 's/^identity = .*/identity = "key";/' "with a relative identity"
break_site 's/^description = .*/description = "a\\nb";/' "with a control character in description"
break_site 's/^user = .*/user = "-x";/' "with a bad user"
cp "$T/site.good" "$S"
chmod g+w "$S"
broken "$S" "show: site.conf writable by group" -- opt-site show s
broken "$S" "set: site.conf writable by group" -- opt-site set s port=23
chmod 640 "$S" && chmod o+w "$S"
broken "$S" "show: site.conf writable by others" -- opt-site show s
chmod 640 "$S"

# list reports the broken site, exits 78, and still lists the others.
sed -i 's/^port = 22;/port = "22";/' "$S"
cp "$S" "$T/.saved"
run opt-site list -H
[ "$rc" = 78 ] && [ "$(printf '%s' "$err" | grep -c '')" = 1 ] &&
	printf '%s' "$err" | grep -Eq "^opt-site: s: $(re "$S"):[0-9]+: port: " &&
	printf '%s\n' "$out" | grep -q "^o$(printf '\t')" &&
	! printf '%s\n' "$out" | grep -q "^s$(printf '\t')"
ok $? "list: a broken site.conf is reported (78), the other sites listed"
[ $? -eq 0 ] || diag "exit $rc" "stdout: $out" "stderr: $err"
cmp -s "$S" "$T/.saved"
ok $? "list leaves the broken site.conf byte-identical"
cp "$T/site.good" "$S"

# channels.conf and throttle.conf of the site are read by show too.
CH=$C/s/channels.conf TH=$C/s/throttle.conf
cp "$CH" "$T/ch.good" && cp "$TH" "$T/th.good"
echo 'channels = ( { id = 1; } );' >"$CH"
broken "$CH" "show: channels.conf with a channel missing keys" -- opt-site show s
echo 'channels = (' >"$CH"
broken "$CH" "show: channels.conf with a syntax error" -- opt-site show s
cp "$T/ch.good" "$CH"
echo 'up = "fast";' >>"$TH"
broken "$TH" "show: throttle.conf with a rate that is a string" -- opt-site show s
cp "$T/th.good" "$TH"
chmod g+w "$TH"
broken "$TH" "show: throttle.conf writable by group" -- opt-site show s
cp "$T/th.good" "$TH" && chmod 640 "$TH"

# defaults.conf
DF=$C/defaults.conf
broken_defaults() {
	printf '%s\n' "$1" >"$DF"
	chmod 640 "$DF"
	broken "$DF" "add: defaults.conf $2" -- opt-site add n 192.0.2.1
	broken "$DF" "set: defaults.conf $2" -- opt-site set s port=23
	broken "$DF" "show: defaults.conf $2" -- opt-site show s
	broken "$DF" "list: defaults.conf $2" -- opt-site list
}
broken_defaults 'port = ;' "with a syntax error"
broken_defaults 'bogus = 1;' "with an unknown key"
broken_defaults 'port = "22";' "with a port that is a string"
broken_defaults 'port = 0;' "with port 0"
broken_defaults 'port_range = [9999, 9100];' "with port_range reversed"
broken_defaults 'port_range = [0, 9100];' "with port_range from 0"
broken_defaults 'port_range = 9100;' "with port_range not a list"
broken_defaults 'local_user = "-x";' "with a bad local_user"
broken_defaults 'compression = 1;' "with compression that is a number"
broken_defaults 'host = "192.0.2.1";' "with a per-site key"
printf 'port = 22;\n' >"$DF"
chmod 664 "$DF"
broken "$DF" "add: defaults.conf writable by group" -- opt-site add n 192.0.2.1
rm -f "$DF"
is "$(cat "$S")" "$orig" "site.conf of s is as it was added"

# ---- Hostile input is quoted: one stderr line, no raw control bytes ------

EVIL=$'x\nopt-site: s: all good\n\e[2J'
refused_q 65 "^opt-site: site 'x\\\\x0aopt-site: s: all good\\\\x0a\\\\x1b\[2J' $ID" \
	"a site id with newlines and ESC" -- opt-site show "$EVIL"
refused_q 65 "^opt-site: s: host 'x\\\\x0aopt-site" "a host with newlines" -- \
	opt-site set s "host=$EVIL"
refused_q 65 "^opt-site: n: port 'x\\\\x0aopt-site" "a port with newlines" -- \
	opt-site add n 192.0.2.1 --port "$EVIL"
refused_q 65 "^opt-site: s: user 'x\\\\x0aopt-site" "a user with newlines" -- \
	opt-site set s "user=$EVIL"
refused_q 65 "^opt-site: s: identity '/x\\\\x0aopt-site" "an identity with newlines" -- \
	opt-site set s "identity=/$EVIL"
refused_q 65 "^opt-site: s: host_key_check 'x\\\\x0aopt-site" \
	"a host_key_check with newlines" -- opt-site set s "host_key_check=$EVIL"
refused_q 65 "^opt-site: s: network 'x\\\\x0aopt-site:" "an allow item with newlines" -- \
	opt-site set s "allow=$EVIL"
refused_q 64 "^opt-site: s: unknown setting 'x\\\\x0aopt-site" "a key with newlines" -- \
	opt-site set s "$EVIL=1"
refused_q 64 "^opt-site: 'x\\\\x0aopt-site" "a pair without '=' with newlines" -- \
	opt-site set s "$EVIL"
refused_q 64 "^opt-site: unknown command 'x\\\\x0aopt-site" "a command with newlines" -- \
	opt-site "$EVIL"
refused_q 64 "^opt-site: unknown option '--x\\\\x0aopt-site" "an option with newlines" -- \
	opt-site "--$EVIL" list
refused_q 65 "^opt-site: s: description 'a%n%s%s%n\\\\x0a' contains a control character$" \
	"printf directives in a value are text" -- opt-site set s $'description=a%n%s%s%n\n'
refused_q 65 "^opt-site: n: host '%s%s%s%n' $H" "printf directives in a host" -- \
	opt-site add n '%s%s%s%n'
LONG=$(rep 3000 $'\n\e')
refused_q 65 "^opt-site: s: host '(\\\\x0a\\\\x1b)+\.\.\.' $H" \
	"a 6000-byte hostile value is cut, still one line" -- opt-site set s "host=$LONG"
[ ${#err} -lt 400 ]
ok $? "the message for a 6000-byte value stays short (${#err} bytes)"

# ---- Nothing else appeared -----------------------------------------------

is "$(cat "$S")" "$orig" "site.conf of s is unchanged after every refusal"
is "$(ls -A "$C" | grep -v '^\.lock$' | sort | tr '\n' ' ')" \
	"$(printf '%s ' "$(rep 63 a)" 1-a_b d d1 d2 dot f long o s u32 v6 | tr ' ' '\n' | grep . | sort | tr '\n' ' ')" \
	"the config dir holds only the sites added, no temp files"
[ ! -e "$MAST_RUN_DIR" ] && [ ! -e "$MAST_LOG_DIR" ]
ok $? "no run or log dir was created"

done_testing
