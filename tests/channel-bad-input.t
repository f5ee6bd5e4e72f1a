#!/bin/bash
# opt-channel refuses bad input: every option and every argument, with
# the exit code of the contract (DESIGN.md 4), one stderr line that names
# the problem (hostile bytes quoted), nothing on stdout, and nothing
# created or changed on disk.  Ports are only ever bound on 127.0.0.1.
. "$(dirname "$0")/lib.sh"

C=$MAST_CONFIG_DIR
U='\(see opt-channel --help\)$'
ID='is not a valid site id'
H='is not a valid host name or address$'
P='is not a port number \(1-65535\)$'
CID='is not a number from 1 to 2147483647$'

# ---- Usage errors (64), before any config dir exists -----------------

refused 64 "^opt-channel: missing command $U" "no command" -- opt-channel
refused 64 "^opt-channel: unknown command 'bogus' $U" "unknown command" -- \
	opt-channel bogus
refused 64 "^opt-channel: unknown command 'show' $U" "show is not a command" -- \
	opt-channel show s
refused 64 "^opt-channel: unknown option '-Z' $U" "unknown short option" -- \
	opt-channel -Z list
refused 64 "^opt-channel: unknown option '--bogus' $U" "unknown long option" -- \
	opt-channel --bogus list
refused 64 "^opt-channel: unknown option '--port' $U" \
	"an opt-site option is unknown to opt-channel" -- opt-channel add s p --port 22
refused 64 "^opt-channel: unknown option '-x' $U" \
	"a site id starting with '-' is parsed as an option" -- opt-channel add -x p
refused 64 "^opt-channel: unknown option '-1' $U" \
	"remove: a channel id starting with '-' is parsed as an option" -- \
	opt-channel remove s -1
refused 64 "^opt-channel: unknown option '-1' $U" \
	"set: a channel id starting with '-' is parsed as an option" -- \
	opt-channel set s -1 listen=9100

# -C / --config-dir
refused 64 "^opt-channel: option '-C' needs a value $U" "-C without a value" -- \
	opt-channel -C
refused 64 "^opt-channel: -C: directory 'rel' is not an absolute path$" \
	"-C with a relative path" -- opt-channel -C rel list
refused 64 "-C" "-C with an empty value" -- opt-channel -C '' list
refused_q 64 "^opt-channel: -C: directory '/a\\\\x0ab' contains a control character$" \
	"-C with a newline" -- opt-channel --config-dir=$'/a\nb' list

# operands
refused 64 "^opt-channel: add needs SITE and PRINTER\[:PORT\] $U" "add without operands" -- \
	opt-channel add
refused 64 "^opt-channel: add needs SITE and PRINTER\[:PORT\] $U" "add without PRINTER" -- \
	opt-channel add s
refused 64 "^opt-channel: add needs SITE and PRINTER\[:PORT\] $U" "add with an extra operand" -- \
	opt-channel add s p1 p2
refused 64 "^opt-channel: remove needs SITE and ID $U" "remove without ID" -- \
	opt-channel remove s
refused 64 "^opt-channel: remove needs SITE and ID $U" "remove with two ids" -- \
	opt-channel remove s 1 2
refused 64 "^opt-channel: set needs SITE, ID and KEY=VALUE $U" "set without operands" -- \
	opt-channel set
refused 64 "^opt-channel: set needs SITE, ID and KEY=VALUE $U" "set without KEY=VALUE" -- \
	opt-channel set s 1
refused 64 "^opt-channel: list takes at most one SITE $U" "list with two sites" -- \
	opt-channel list s o

# options given to the wrong command
refused 64 "^opt-channel: --listen is an option of 'add' only $U" "--listen given to set" -- \
	opt-channel set s 1 printer=p --listen 9100
refused 64 "^opt-channel: --listen is an option of 'add' only $U" "--listen given to list" -- \
	opt-channel list --listen 9100
refused 64 "^opt-channel: --description is an option of 'add' only $U" \
	"--description given to remove" -- opt-channel remove s 1 --description d
refused 64 "^opt-channel: --mode is an option of 'add' only $U" "--mode given to set" -- \
	opt-channel set s 1 mode=spool --mode spool
refused 64 "^opt-channel: --mode is an option of 'add' only $U" "--mode given to list" -- \
	opt-channel list --mode spool
refused 64 "^opt-channel: -H and --json are for list and add $U" "-H given to remove" -- \
	opt-channel remove s 1 -H
refused 64 "^opt-channel: -H and --json are for list and add $U" "--json given to set" -- \
	opt-channel set s 1 listen=9100 --json
refused 64 "^opt-channel: -H and --json are exclusive $U" "list -H --json" -- \
	opt-channel list -H --json
refused 64 "^opt-channel: -H and --json are exclusive $U" "add --json -H" -- \
	opt-channel add s p --json -H

# option values
refused 64 "^opt-channel: option '--listen' needs a value $U" "--listen without a value" -- \
	opt-channel add s p --listen
refused 64 "^opt-channel: option '--description' needs a value $U" \
	"--description without a value" -- opt-channel add s p --description
refused 64 "^opt-channel: option '--mode' needs a value $U" "--mode without a value" -- \
	opt-channel add s p --mode
# The message must name the option the user typed, and not as a raw byte.
for o in --json=1 --verbose=1; do
	refused_q 64 "^opt-channel: .*'$(re "${o%%=*}")(=[^']*)?'.* $U" \
		"$o is refused, naming ${o%%=*}" -- opt-channel list "$o"
done

# ---- Site ids (65) -------------------------------------------------------

for id in ../x 'A B' Café _x a.b "$(rep 64 a)" '' -x $'a\nb' a%n "a'b" /; do
	refused_q 65 "^opt-channel: site '$(re "$(q "$id")")' $ID" \
		"add refuses site id '$(q "$id")'" -- opt-channel add -- "$id" 192.0.2.50
done
for id in ../x ''; do
	want="^opt-channel: site '$id' $ID"
	refused 65 "$want" "remove refuses site id '$id'" -- opt-channel remove -- "$id" 1
	refused 65 "$want" "set refuses site id '$id'" -- opt-channel set -- "$id" 1 listen=9100
	refused 65 "$want" "list refuses site id '$id'" -- opt-channel list -- "$id"
done

[ ! -e "$C" ]
ok $? "no config dir was created by the refused commands"

# ---- Setup: two sites whose ports are tested on 127.0.0.1 only ----------

mkdir -m 750 "$C"
printf 'bind = "127.0.0.1";\n' >"$C/defaults.conf"
chmod 640 "$C/defaults.conf"
cp "$C/defaults.conf" "$T/defaults.good"
succeeds "add site s" -- opt-site add -q s 192.0.2.10
succeeds "add site o" -- opt-site add -q o 192.0.2.11
ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
read -r P1 P2 P3 P4 <<<"$ports"
succeeds "s: channel 1" -- opt-channel add -q s 192.0.2.20 --listen "$P1"
succeeds "s: channel 2, an IPv6 printer with a port" -- \
	opt-channel add -q s '[fd00::5]:9101' --listen "$P3"
succeeds "o: channel 1" -- opt-channel add -q o 192.0.2.21 --listen "$P2"
run opt-channel list s -H
like "$out" "$(printf '^s\t2\t%s\tfd00::5\t9101\t\tdirect\ttcp$' "$P3")" "[IPV6]:PORT is stored as address and port"
CS=$C/s/channels.conf CO=$C/o/channels.conf
cs_orig=$(cat "$CS") co_orig=$(cat "$CO")
# restore_cs: puts channels.conf of s back after a test that wrongly
# changed it, so that one failure does not hide the tests after it.
restore_cs() { [ "$(cat "$CS")" = "$cs_orig" ] || printf '%s\n' "$cs_orig" >"$CS"; }

# ---- Printers (65) -------------------------------------------------------

# VALUE|ERE of the message after "opt-channel: s: "
while IFS='|' read -r v want; do
	printf -v v '%b' "$v"
	refused_q 65 "^opt-channel: s: $want" "add refuses printer '$(q "$v")'" -- \
		opt-channel add --listen "$P4" s -- "$v"
	restore_cs
done <<'EOF'
x y|host 'x y' is not a valid host name
-p|host '-p' is not a valid host name
host_name|host 'host_name' is not a valid host name
a..b|host 'a\.\.b' is not a valid host name
999.1.1.1|host '999\.1\.1\.1' is not a valid host name
|host '' is not a valid host name
[fd00::5|printer '\[fd00::5' is not HOST, HOST:PORT or \[IPV6\]:PORT$
[fd00::5]x|printer '\[fd00::5\]x' is not HOST, HOST:PORT or \[IPV6\]:PORT$
[fd00::5]:|printer port '' is not a port number
[]:9100|host '' is not a valid host name
h:0|printer port '0' is not a port number
h:65536|printer port '65536' is not a port number
h:|printer port '' is not a port number
h:p|printer port 'p' is not a port number
h: 9100|printer port ' 9100' is not a port number
:9100|host '' is not a valid host name
h:9100:1|host 'h:9100:1' is not a valid host name
p\n|host 'p\\x0a' is not a valid host name
[printer.example]:9100|(printer|host) '\[?printer\.example
[192.0.2.5]:9100|(printer|host) '\[?192\.0\.2\.5
EOF
refused 65 "^opt-channel: s: host '[a-d.]+\.\.\.' $H" "add refuses a 254-character printer" -- \
	opt-channel add s "$(rep 63 a).$(rep 63 b).$(rep 63 c).$(rep 62 d)" --listen "$P4"
for v in 'x y' h:9100 '' '[fd00::5]'; do
	refused 65 "^opt-channel: s: host '$(re "$v")' $H" "set printer='$v'" -- \
		opt-channel set s 1 "printer=$v"
done
for v in 0 65536 x '' ' 1'; do
	refused 65 "^opt-channel: s: printer port '$v' $P" "set printer_port='$v'" -- \
		opt-channel set s 1 "printer_port=$v"
done

# ---- Listen ports (65) ---------------------------------------------------

for v in 0 65536 -1 x '' ' 9200' +9200 99999999999 $'9200\n'; do
	refused_q 65 "^opt-channel: s: listen port '$(re "$(q "$v")")' $P" \
		"add --listen '$(q "$v")'" -- opt-channel add s 192.0.2.50 --listen "$v"
done
refused 65 "^opt-channel: s: listen port '-1' $P" "add --listen=-1" -- \
	opt-channel add s 192.0.2.50 --listen=-1
for v in 0 '' x; do
	refused 65 "^opt-channel: s: listen port '$v' $P" "set listen='$v'" -- \
		opt-channel set s 1 "listen=$v"
done

# ---- max_jobs (65) -------------------------------------------------------

MJ='is not a number from 1 to 4096$'
for v in 0 -1 4097 abc 99999999999 '' ' 8' +8 8x 1.5 0x10 $'8\n'; do
	refused_q 65 "^opt-channel: s: max_jobs '$(re "$(q "$v")")' $MJ" \
		"set max_jobs='$(q "$v")'" -- opt-channel set s 1 "max_jobs=$v"
done
refused 65 "^opt-channel: s: max_jobs '0' $MJ" \
	"a bad max_jobs after a good description: nothing is changed" -- \
	opt-channel set s 1 description=d max_jobs=0
refused 65 "^opt-channel: nosuch: max_jobs '0' $MJ" \
	"a bad max_jobs is refused before the site is looked up" -- \
	opt-channel set nosuch 1 max_jobs=0

# ---- mode (65) -----------------------------------------------------------

M='is not one of direct, spool$'
for v in bogus '' Spool DIRECT ' spool' 'spool ' spooled d $'spool\n'; do
	refused_q 65 "^opt-channel: s: mode '$(re "$(q "$v")")' $M" \
		"add --mode '$(q "$v")'" -- opt-channel add s 192.0.2.50 --listen "$P4" --mode "$v"
	refused_q 65 "^opt-channel: s: mode '$(re "$(q "$v")")' $M" \
		"set mode='$(q "$v")'" -- opt-channel set s 1 "mode=$v"
done
refused 65 "^opt-channel: s: mode 'x' $M" \
	"a bad mode after a good description: nothing is changed" -- \
	opt-channel set s 1 description=d mode=x
refused 65 "^opt-channel: nosuch: mode 'x' $M" \
	"a bad mode is refused before the site is looked up" -- \
	opt-channel set nosuch 1 mode=x
refused 65 "^opt-channel: nosuch: mode 'x' $M" \
	"add: a bad --mode is refused before the site is looked up" -- \
	opt-channel add nosuch 192.0.2.50 --mode x

# ---- Descriptions (65) ---------------------------------------------------

LONG80='is longer than 80 characters$' CTL='contains a control character$'
UTF='is not valid UTF-8 text$'
refused 65 "^opt-channel: s: description 'x+y' $LONG80" "add: 81 characters" -- \
	opt-channel add s 192.0.2.50 --listen "$P4" --description "$(rep 80 x)y"
refused 65 "^opt-channel: s: description '(\\\\xc3\\\\xa9)+(\\\\xc3)?\.\.\.' $LONG80" \
	"set: 81 'é'" -- opt-channel set s 1 "description=$(rep 81 é)"
refused_q 65 "^opt-channel: s: description 'a\\\\x0ab' $CTL" "add: a newline" -- \
	opt-channel add s 192.0.2.50 --listen "$P4" --description $'a\nb'
refused_q 65 "^opt-channel: s: description '\\\\xff' $UTF" "add: \\xff" -- \
	opt-channel add s 192.0.2.50 --listen "$P4" --description $'\xff'
for d in $'a\tb' $'a\eb' $'a\x7fb' $'a\xc2\x85b'; do
	refused_q 65 "^opt-channel: s: description '$(re "$(q "$d")")' $CTL" \
		"set: description '$(q "$d")'" -- opt-channel set s 1 "description=$d"
done
for d in $'a\xc3' $'\xed\xa0\x80' $'\xc0\xaf'; do
	refused_q 65 "^opt-channel: s: description '$(re "$(q "$d")")' $UTF" \
		"set: description '$(q "$d")'" -- opt-channel set s 1 "description=$d"
done
succeeds "80 'é' are accepted" -- opt-channel set s 1 "description=$(rep 80 é)"
succeeds "80 characters are accepted" -- opt-channel set s 1 "description=$(rep 80 x)"
run opt-channel list s -H
like "$out" "$(printf '^s\t1\t%s\t192.0.2.20\t9100\t%s\tdirect\ttcp$' "$P1" "$(rep 80 x)")" \
	"the 80 characters are kept whole"
succeeds "put the description back" -- opt-channel set s 1 description=
is "$(cat "$CS")" "$cs_orig" "channels.conf of s is as before"

# ---- Channel ids (65 not a number, 66 no such channel) -------------------

for v in abc 0 -1 1x '' ' 1' +1 1.0 0x1 2147483648 99999999999 $'1\n'; do
	refused_q 65 "^opt-channel: s: channel id '$(re "$(q "$v")")' $CID" \
		"remove refuses channel id '$(q "$v")'" -- opt-channel remove s -- "$v"
done
for v in abc 0 ''; do
	refused 65 "^opt-channel: s: channel id '$v' $CID" "set refuses channel id '$v'" -- \
		opt-channel set s -- "$v" listen="$P4"
done
refused 66 "^opt-channel: s: channel 99: no such channel$" "remove a missing channel" -- \
	opt-channel remove s 99
refused 66 "^opt-channel: s: channel 99: no such channel$" "set a missing channel" -- \
	opt-channel set s 99 "listen=$P4"
refused 66 "^opt-channel: o: channel 2: no such channel$" \
	"remove a channel id of another site" -- opt-channel remove o 2
refused 66 "^opt-channel: o: channel 2: no such channel$" \
	"set a channel id of another site" -- opt-channel set o 2 printer=p

# ---- No such site (66) ---------------------------------------------------

refused 66 "^opt-channel: nosuch: no such site$" "add to a missing site" -- \
	opt-channel add nosuch 192.0.2.50 --listen "$P4"
refused 66 "^opt-channel: nosuch: no such site$" "remove from a missing site" -- \
	opt-channel remove nosuch 1
refused 66 "^opt-channel: nosuch: no such site$" "set in a missing site" -- \
	opt-channel set nosuch 1 "listen=$P4"
refused 66 "^opt-channel: nosuch: no such site$" "list of a missing site" -- \
	opt-channel list nosuch
mkdir -m 750 "$C/d"
refused 66 "^opt-channel: d: no such site$" "add to a dir without site.conf" -- \
	opt-channel add d 192.0.2.50 --listen "$P4"

# ---- set: KEY=VALUE (64) -------------------------------------------------

refused 64 "^opt-channel: 'listen' is not KEY=VALUE $U" "set KEY without '='" -- \
	opt-channel set s 1 listen
refused 64 "^opt-channel: '=1' is not KEY=VALUE $U" "set '=VALUE' without KEY" -- \
	opt-channel set s 1 =1
KEYS='\(listen, printer, printer_port, max_jobs, mode, probe, description\)$'
for k in bogus id Listen site next_id; do
	refused 64 "^opt-channel: s: unknown setting '$k' $KEYS" "set unknown key '$k'" -- \
		opt-channel set s 1 "$k=1"
done
refused 64 "^opt-channel: s: unknown setting 'bogus' " \
	"a bad key after a good one: nothing is changed" -- \
	opt-channel set s 1 printer=p bogus=1
refused 65 "^opt-channel: s: listen port '0' $P" \
	"a bad value after a good one: nothing is changed" -- \
	opt-channel set s 1 printer=p listen=0
refused 64 "^opt-channel: nosuch: unknown setting 'bogus' " \
	"an unknown key is a usage error even for a missing site" -- \
	opt-channel set nosuch 1 bogus=1

# ---- Ports taken (73) ----------------------------------------------------

refused 73 "^opt-channel: s: port $P1 is already channel 1 of site s$" \
	"add on a port of a channel of the same site" -- \
	opt-channel add s 192.0.2.50 --listen "$P1"
refused 73 "^opt-channel: s: port $P2 is already channel 1 of site o$" \
	"add on a port of another site's channel" -- \
	opt-channel add s 192.0.2.50 --listen "$P2"
refused 73 "^opt-channel: s: port $P1 is already channel 1 of site s$" \
	"set listen to the port of another channel of the site" -- \
	opt-channel set s 2 "listen=$P1"
refused 73 "^opt-channel: o: port $P1 is already channel 1 of site s$" \
	"set listen to the port of another site's channel" -- \
	opt-channel set o 1 "listen=$P1"
printf 'bind = "127.0.0.1";\nport_range = [%d, %d];\n' "$P1" "$P1" >"$C/defaults.conf"
refused 73 "^opt-channel: s: no free port left in port_range $P1-$P1$" \
	"add with every port of port_range given to channels" -- opt-channel add s 192.0.2.50

# A port another process listens on (127.0.0.1, the sites' bind address).
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$T/held" &
heldp=$!
cleanup "kill $heldp 2>/dev/null"
wait_for 5 test -s "$T/held"
HP=$(cat "$T/held")
refused 73 "^opt-channel: s: port $HP is held by another process on 127\.0\.0\.1$" \
	"add --listen on a port another process holds" -- \
	opt-channel add s 192.0.2.50 --listen "$HP"
refused 73 "^opt-channel: s: port $HP is held by another process on 127\.0\.0\.1$" \
	"set listen to a port another process holds" -- opt-channel set s 1 "listen=$HP"
printf 'bind = "127.0.0.1";\nport_range = [%d, %d];\n' "$HP" "$HP" >"$C/defaults.conf"
refused 73 "^opt-channel: s: no free port left in port_range $HP-$HP$" \
	"add when the only port of port_range is held" -- opt-channel add s 192.0.2.50
kill_wait "$heldp"
cp "$T/defaults.good" "$C/defaults.conf"

# ---- Config lock busy (75) -----------------------------------------------

hold "$C/.lock"
L="config lock $(re "$C/.lock") is busy"
# remove and set wait in the background while add waits in refused.
in_background rm env MAST_LOCK_TIMEOUT=1 opt-channel remove s 1
in_background set env MAST_LOCK_TIMEOUT=1 opt-channel set s 1 "listen=$P4"
refused 75 "^opt-channel: $L" "add: the config lock is busy" -- \
	env MAST_LOCK_TIMEOUT=1 opt-channel add s 192.0.2.50 --listen "$P4"
refused_bg 75 "^opt-channel: $L" "rm: the config lock is busy" rm
refused_bg 75 "^opt-channel: $L" "set: the config lock is busy" set
succeeds "list does not need the lock" -- env MAST_LOCK_TIMEOUT=1 opt-channel list
kill_wait "$holder"
is "$(cat "$CS")" "$cs_orig" "channels.conf of s is unchanged"

# ---- Broken config files (78) --------------------------------------------

cp "$CS" "$T/cs.good"
# break_ch SED NAME CMD...: channels.conf of s edited with SED is refused.
break_ch() {
	local ed=$1 name=$2
	shift 2
	cp "$T/cs.good" "$CS"
	sed -i "$ed" "$CS"
	broken "$CS" "$1: channels.conf $name" -- opt-channel "$@"
}
break_ch 's/^channels = (/channels = ((/' "with a syntax error" list s
break_ch 's/id = 2;/id = 1;/' "with an id used twice" add s 192.0.2.50 --listen "$P4"
break_ch "s/listen = $P3;/listen = $P1;/" "with a port used twice" set s 1 printer=p
break_ch "s/listen = $P3;/listen = 70000;/" "with a port out of range" remove s 1
break_ch 's/printer = "192.0.2.20"; //' "with a channel missing its printer" list s
break_ch 's/printer = "192.0.2.20"/printer = "x y"/' "with a bad printer" list s
break_ch 's/printer_port = 9100;/printer_port = "9100";/' "with a printer_port that is a string" list s
break_ch 's/^next_id = 3;/next_id = "3";/' "with a next_id that is a string" \
	add s 192.0.2.50 --listen "$P4"
break_ch '$a bogus = 1;' "with an unknown key" list s
# max_jobs and mode: on the description line of channel 1, line 6 of the
# file.
[ "$(sed -n 6p "$T/cs.good")" = '    description = ""; },' ]
ok $? "line 6 of channels.conf is channel 1's description"
while IFS='|' read -r k v why cmd; do
	cp "$T/cs.good" "$CS"
	sed -i "6s/description = /$k = $v; description = /" "$CS"
	read -ra w <<<"$cmd"
	broken_at "$CS" ":6: $k: $why\$" \
		"${w[0]}: channels.conf with $k = $v" -- opt-channel "${w[@]}"
done <<EOF
max_jobs|0|0 is out of range \(1-4096\)|list s
max_jobs|-1|-1 is out of range \(1-4096\)|set s 2 printer=p
max_jobs|4097|4097 is out of range \(1-4096\)|add s 192.0.2.50 --listen $P4
max_jobs|99999999999L|99999999999 is out of range \(1-4096\)|list s
max_jobs|"8"|must be a whole number|remove s 2
max_jobs|8.0|must be a whole number|list s
max_jobs|true|must be a whole number|list s
max_jobs|[8]|must be a whole number|list s
mode|"bogus"|mode 'bogus' ${M%$}|list s
mode|"Spool"|mode 'Spool' ${M%$}|set s 2 printer=p
mode|""|mode '' ${M%$}|add s 192.0.2.50 --listen $P4
mode|1|must be a "string"|list s
mode|true|must be a "string"|remove s 2
mode|["spool"]|must be a "string"|list s
EOF
break_ch 's/^channels = (/channels = [/; s/^);/];/' "with channels not a list" list s
break_ch '0,/description = ""/s//description = "a\\x01b"/' \
	"with a control character in a description" list s
break_ch '$a @include "/dev/null"' "with an @include" list s
cp "$T/cs.good" "$T/cs.real"
rm "$CS" && ln -s "$T/cs.real" "$CS"
broken "$CS" "list: channels.conf is a symbolic link" -- opt-channel list s
broken "$CS" "add: channels.conf is a symbolic link" -- \
	opt-channel add s 192.0.2.50 --listen "$P4"
rm "$CS"
cp "$T/cs.good" "$CS"
chmod g+w "$CS"
broken "$CS" "add: channels.conf writable by group" -- \
	opt-channel add s 192.0.2.50 --listen "$P4"
broken "$CS" "list: channels.conf writable by group" -- opt-channel list s
chmod 640 "$CS"

# Another site's broken channels.conf: its ports are unknown, so no port
# can be given out.
cp "$CO" "$T/co.good"
echo 'channels = (' >"$CO"
broken "$CO" "add: another site's channels.conf is broken" -- \
	opt-channel add s 192.0.2.50 --listen "$P4"
broken "$CO" "set listen: another site's channels.conf is broken" -- \
	opt-channel set s 1 "listen=$P4"
# list of all sites reports it, exits 78, and still lists the others.
cp "$CO" "$T/.saved"
partly 78 "^opt-channel: o: $(re "$CO"):[0-9]+: " $'^s\t1\t' $'^o\t' \
	"list: a broken channels.conf is reported (78), the other sites listed" -- \
	opt-channel list -H
cmp -s "$CO" "$T/.saved"
ok $? "list leaves the broken channels.conf byte-identical"
cp "$T/co.good" "$CO"

# The site's own site.conf.
SS=$C/s/site.conf
cp "$SS" "$T/ss.good"
sed -i 's/^port = 22;/port = "22";/' "$SS"
broken "$SS" "add: site.conf with a port that is a string" -- \
	opt-channel add s 192.0.2.50 --listen "$P4"
broken "$SS" "set: site.conf with a port that is a string" -- opt-channel set s 1 printer=p
broken "$SS" "remove: site.conf with a port that is a string" -- opt-channel remove s 1
cp "$T/ss.good" "$SS"
sed -i 's/^bind = .*/bind = "localhost";/' "$SS"
broken "$SS" "add: site.conf with a bad bind" -- opt-channel add s 192.0.2.50 --listen "$P4"
cp "$T/ss.good" "$SS"
chmod o+w "$SS"
broken "$SS" "add: site.conf writable by others" -- opt-channel add s 192.0.2.50 --listen "$P4"
cp "$T/ss.good" "$SS" && chmod 640 "$SS"

# defaults.conf
DF=$C/defaults.conf
broken_defaults $'bind = "127.0.0.1"\nport = ;' "with a syntax error" \
	opt-channel add s 192.0.2.50 --listen "$P4"
broken_defaults $'bind = "127.0.0.1";\nport_range = [9999, 9100];' \
	"with port_range reversed" opt-channel add s 192.0.2.50
broken_defaults $'bind = "127.0.0.1";\nport_range = [0, 9100];' \
	"with port_range from 0" opt-channel add s 192.0.2.50
broken_defaults $'bind = "127.0.0.1";\nbogus = 1;' "with an unknown key" \
	opt-channel set s 1 printer=p
broken_defaults 'bind = 127;' "with a bind that is a number" opt-channel remove s 1
cp "$T/defaults.good" "$DF"
chmod g+w "$DF"
broken "$DF" "add: defaults.conf writable by group" -- \
	opt-channel add s 192.0.2.50 --listen "$P4"
cp "$T/defaults.good" "$DF" && chmod 640 "$DF"

# ---- Hostile input is quoted: one stderr line, no raw control byte -------

EVIL=$'x\nopt-channel: s: all good\n\e[2J'
QE='x\\x0aopt-channel: s: all good\\x0a\\x1b\[2J'
refused_q 65 "^opt-channel: site '$QE' $ID" "a site id with newlines and ESC" -- \
	opt-channel list "$EVIL"
refused_q 65 "^opt-channel: s: host '$QE' $H" "a printer with newlines" -- \
	opt-channel add s "$EVIL" --listen "$P4"
refused_q 65 "^opt-channel: s: host '$QE' $H" "set printer with newlines" -- \
	opt-channel set s 1 "printer=$EVIL"
refused_q 65 "^opt-channel: s: listen port '$QE' $P" "a listen port with newlines" -- \
	opt-channel add s 192.0.2.50 --listen "$EVIL"
refused_q 65 "^opt-channel: s: channel id '$QE' $CID" "a channel id with newlines" -- \
	opt-channel remove s "$EVIL"
refused_q 65 "^opt-channel: s: description '$QE' $CTL" "a description with newlines" -- \
	opt-channel set s 1 "description=$EVIL"
refused_q 64 "^opt-channel: s: unknown setting '$QE' " "a key with newlines" -- \
	opt-channel set s 1 "$EVIL=1"
refused_q 64 "^opt-channel: unknown command '$QE' $U" "a command with newlines" -- \
	opt-channel "$EVIL"
refused_q 64 "^opt-channel: unknown option '--$QE' $U" "an option with newlines" -- \
	opt-channel "--$EVIL" list
refused_q 65 "^opt-channel: s: host '%s%s%n' $H" "printf directives are text" -- \
	opt-channel add s '%s%s%n:%n' --listen "$P4"
refused_q 65 "^opt-channel: s: host '(\\\\x0a|\\\\x1b)+\.\.\.' $H" \
	"a 6000-byte hostile printer is cut, still one line" -- \
	opt-channel set s 1 "printer=$(rep 3000 $'\n\e')"
[ ${#err} -lt 300 ]
ok $? "the message for a 6000-byte value stays short (${#err} bytes)"

# ---- Nothing else changed ------------------------------------------------

is "$(cat "$CS")" "$cs_orig" "channels.conf of s is unchanged after every refusal"
is "$(cat "$CO")" "$co_orig" "channels.conf of o is unchanged after every refusal"
is "$(ls -A "$C" | grep -v '^\.lock$' | LC_ALL=C sort | tr '\n' ' ')" \
	"d defaults.conf o s " "the config dir holds no new file"
[ ! -e "$MAST_RUN_DIR" ] && [ ! -e "$MAST_LOG_DIR" ]
ok $? "no run or log dir was created"

done_testing
