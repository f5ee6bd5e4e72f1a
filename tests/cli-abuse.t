#!/bin/bash
# Hostile command lines, swept over every argument position of the five
# tools with one set of values: overlong (100 KiB, and nearly the 128 KiB
# the kernel lets one argument be), control characters (newline, tab,
# CR, ESC and OSC sequences, C1), DEL, invalid UTF-8, "../", quotes,
# printf directives, shell syntax; unknown options spelled with such
# bytes; usage errors mixed with hostile operands; an empty argv and odd
# argv[0]s.  Each is refused with the exit code of the contract
# (DESIGN.md 4 and the EXIT STATUS of each man page), exactly one line on
# stderr that names the problem with the hostile bytes quoted (no raw
# control byte, no byte over 0x7e, cut short), nothing on stdout, and
# nothing written: the config, run and log trees keep their names, modes
# and contents.  The *-bad-input.t tests pin each message exactly; this
# one checks that no position of any tool lets such bytes through.
#
# NUL bytes cannot be in an argument: execve() takes C strings, so the
# kernel ends an argument at its first NUL and a tool never sees one.
# They are tried where they can arrive, in the files the tools read:
# each config file (78, one line naming the file, the file untouched),
# a mast file given to import (65), an identity (65), and a state file,
# whose hostile bytes opt-status never lets through to what it prints.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

C=$MAST_CONFIG_DIR
ARGV_EXEC=$top/tests/argv-exec
# At exit no tunnel of this test survives, not even one that a command
# wrongly accepting hostile input started with a run dir elsewhere in $T.
cleanup 'kill $(tunnel_pids) 2>/dev/null'
export LC_ALL=C
mkdir -p "$T/cwd" && cd "$T/cwd" || exit 1

# snap: names, modes and contents of the config, run and log trees (but
# the content of the config lock, where its last holder wrote its pid).
snap() {
	(cd "$T" && find etc run log -printf '%p %y %m\n' 2>/dev/null | sort &&
		find etc run log -type f ! -path etc/.lock -print0 2>/dev/null |
		sort -z | xargs -0r sha256sum) | sha256sum
}

# The hostile values, each with its class:
#   c  control characters and DEL      u  invalid UTF-8
#   t  text that is printable but must not be taken for a name, number
#      or path: ../, quotes, printf directives, shell syntax
#   b  overlong: 100 KiB, and 128 KiB less room for a prefix and the NUL
#   s  one byte after '-', for unknown short options
#   o  nothing: the command is run once as it is
V=() K=()
val() { K+=("$1") && V+=("$2"); }
val c $'x\nopt-tool: all good\n'
val c $'a\tb'
val c $'\r'
val c $'\e[2J\e]0;title\a'
val c $'\x01\x02\x03'
val c $'a\x7fb'
val c $'\xc2\x9b31m'
val u $'\xff\xfe'
val u $'\xc0\xaf'
val u $'\xed\xa0\x80'
val u $'a\xc3'
val t '../../../etc/passwd'
val t '"q"'
val t "'q'"
val t '%n%n%s%s%x'
val t '$(touch pwned)'
val t '`touch pwned`'
val t '; touch pwned'
val b "$(rep 102400 a)"
val b "$(rep $((65536 - 32)) $'\n\e')"
for b in $'\e' $'\n' $'\t' $'\x7f' $'\x80' $'\xff' : % '"' "'" '\' '?' .; do
	val s "$b"
done
val o ''
NP='[^ -~]' # a byte that is not printable ASCII

# sweep [-o|-a] CODE CLASSES ERE -- CMD...: CMD, with each '@' in its
# words replaced by each value of CLASSES, exits CODE with exactly one
# line on stderr matching ERE (on stdout with -o: the monitoring
# convention of opt-status --check), printable ASCII only and at most
# 400 bytes, the other stream empty (-a: stdout may have a listing), and
# the trees unchanged.  One TAP line.
sweep() {
	local where=err other=empty code classes re before i a e o line n=0
	local bad= name
	local -a cmd
	case $1 in
	-o) where=out && shift ;;
	-a) other=any && shift ;;
	esac
	code=$1 classes=$2 re=$3
	shift 4
	name=
	for a in "$@"; do
		[ ${#a} -le 40 ] && name+=" $(printf '%q' "$a")" || name+=" <${#a} bytes>"
	done
	name=${name# }
	before=$(snap)
	for i in "${!V[@]}"; do
		[[ $classes == *"${K[$i]}"* ]] || continue
		cmd=()
		for a in "$@"; do cmd+=("${a//@/"${V[$i]}"}"); done
		"${cmd[@]}" >"$T/.out" 2>"$T/.err" </dev/null
		rc=$?
		n=$((n + 1))
		IFS= read -r -d '' e <"$T/.err"
		IFS= read -r -d '' o <"$T/.out"
		if [ $where = out ]; then line=$o o=$e; else line=$e; fi
		[ $other = any ] && o=
		if [ "$rc" = "$code" ] && [ -z "$o" ] &&
			[ "${line%$'\n'}"$'\n' = "$line" ] &&
			[[ ${line%$'\n'} != *$'\n'* ]] &&
			[[ ! ${line%$'\n'} =~ $NP ]] &&
			[ ${#line} -le 400 ] && [[ ${line%$'\n'} =~ $re ]]; then
			continue
		fi
		bad+="value $(printf '%q' "${V[$i]:0:40}") (${#V[$i]} bytes):"
		bad+=" exit $rc (want $code), std$where: $(printf '%s' "${line:0:300}" | od -An -c | tr -s ' \n' ' ' | cut -c1-600)"
		[ -z "$o" ] || bad+=" other stream: ${o:0:200}"
		bad+=$'\n'
	done
	[ "$(snap)" = "$before" ] || bad+="the config, run or log tree changed"$'\n'
	if [ -z "$bad" ] && [ "$n" -gt 0 ]; then
		ok 0 "$name: $n values refused (exit $code)"
	else
		ok 1 "$name: $n values refused (exit $code)"
		diag "$bad"
	fi
}

# ---- The scene: two sites, one with a channel ------------------------------

mkdir -p "$C"
lo=$((23000 + RANDOM % 3000)) # below the ephemeral ports
printf 'local_user = "root";\nport_range = [%d, %d];\n' "$lo" $((lo + 99)) >"$C/defaults.conf"
chmod 640 "$C/defaults.conf"
dead=$(free_port) # nothing listens there
ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519" -C cli-abuse
for site in s o; do
	opt-site add -q "$site" 127.0.0.1 --port "$dead" --identity "$T/id_ed25519"
	opt-site set -q "$site" bind=127.0.0.1
done
opt-channel add -q s 192.0.2.5 >/dev/null
mkdir -p "$MAST_RUN_DIR" "$MAST_LOG_DIR"

ID="site '.*' is not a valid site id"
HOST="host '.*' is not a valid host name or address"
PORT="port '.*' is not a port number"
NUM="'.*' is not a number from"
DESC="description '.*' (contains a control character|is not valid UTF-8 text|is longer than 80 characters)"
ABS="'.*' (is not an absolute path|contains a control character|is not valid UTF-8|is too long)"
UNK="unknown option '-.*' \(see"
CMD="unknown command '.*' \(see"
SET="unknown setting '.*' \("

# ---- What every tool shares ---------------------------------------------------

# Each tool with a command that takes a site id last: the id (and the
# longest argument there can be: 128 KiB less its NUL), the command, the
# options, -C and the MAST_* directories, and -H with --json.
A=$(rep 131071 $'\e')
for tc in "opt-site show" "opt-channel list" "opt-throttle show" "opt-tunnel stop" \
	opt-status; do
	read -ra w <<<"$tc"
	t=${w[0]}
	sweep 65 cutb "^$t: $ID" -- "${w[@]}" @
	sweep 65 o "^$t: $ID" -- "${w[@]}" "$A"
	[ "$t" = opt-status ] || sweep 64 cutb "^$t: $CMD" -- "$t" @
	sweep 64 cutb "^$t: $UNK" -- "${w[@]}" --@
	sweep 64 s "^$t: $UNK" -- "${w[@]}" -@
	sweep 64 cutb "^$t: -C: directory $ABS" -- "${w[@]}" s -C @
	sweep 64 cub "^$t: -C: directory $ABS" -- "${w[@]}" s -C "$T/@"
	for v in MAST_CONFIG_DIR MAST_RUN_DIR MAST_LOG_DIR; do
		sweep 64 cutb "^$t: $v: directory $ABS" -- env "$v=@" "${w[@]}" s
		sweep 64 cub "^$t: $v: directory $ABS" -- env "$v=$T/@" "${w[@]}" s
	done
	sweep 64 cutb "^$t: -H and --json are exclusive" -- "${w[@]}" @ -H --json
done

# ---- opt-site --------------------------------------------------------------

sweep 65 cutb "^opt-site: $ID" -- opt-site add @ 192.0.2.1
sweep 65 cutb "^opt-site: n: $HOST" -- opt-site add n @
sweep 65 cutb "^opt-site: n: $PORT" -- opt-site add n 192.0.2.1 --port @
sweep 65 cutb "^opt-site: n: user '.*' is not a valid user name" -- \
	opt-site add n 192.0.2.1 --user @
sweep 65 cutb "^opt-site: n: identity $ABS" -- opt-site add n 192.0.2.1 --identity @
sweep 65 cub "^opt-site: n: identity $ABS" -- opt-site add n 192.0.2.1 --identity "$T/@"
sweep 65 cub "^opt-site: n: $DESC" -- opt-site add n 192.0.2.1 --description @
sweep 65 cutb "^opt-site: n: host_key_check '.*' is not one of" -- \
	opt-site add n 192.0.2.1 --host-key-check @
sweep 64 cutb "^opt-site: s: $SET" -- opt-site set s @=1
for k in host port user identity host_key_check compression \
	keepalive_interval keepalive_count bind allow max_jobs spool_max_mb \
	spool_keep spool_max_age spool_warn_age; do
	sweep 65 cutb "^opt-site: s: [a-z_ ]+ '.*' is not" -- opt-site set s "$k=@"
done
sweep 65 cub "^opt-site: s: $DESC" -- opt-site set s description=@
sweep 65 cutb "^opt-site: $ID" -- opt-site remove --force @
sweep 65 cutb "^opt-site: $ID" -- opt-site trust @
sweep 65 cutb "^opt-site: s: fingerprint '.*' is not SHA256:" -- \
	opt-site trust s --fingerprint @
sweep 65 cub "^opt-site: /.*: its name gives no site id: $ID" -- opt-site import /@
sweep 66 cub "^opt-site: cannot read /.*: (No such file or directory|File name too long)$" -- \
	opt-site import /@/s
sweep 64 cutb "^opt-site: --force is an option of 'remove' only" -- \
	opt-site add n @ --force

# ---- opt-channel -----------------------------------------------------------

sweep 65 cutb "^opt-channel: $ID" -- opt-channel add @ 192.0.2.5
sweep 65 cutb "^opt-channel: s: (printer )?($HOST|$PORT)" -- opt-channel add s @
sweep 65 cutb "^opt-channel: s: (printer $PORT|$HOST)" -- opt-channel add s 192.0.2.5:@
sweep 65 cutb "^opt-channel: s: listen $PORT" -- opt-channel add s 192.0.2.5 --listen @
sweep 65 cub "^opt-channel: s: $DESC" -- opt-channel add s 192.0.2.5 --description @
sweep 65 cutb "^opt-channel: s: mode '.*' is not one of" -- opt-channel add s 192.0.2.5 --mode @
sweep 65 cutb "^opt-channel: s: channel id $NUM" -- opt-channel remove s @
sweep 65 cutb "^opt-channel: $ID" -- opt-channel remove @ 1
sweep 64 cutb "^opt-channel: s: $SET" -- opt-channel set s 1 @=1
sweep 65 cutb "^opt-channel: s: channel id $NUM" -- opt-channel set s @ listen=$((lo + 50))
sweep 65 cutb "^opt-channel: s: listen $PORT" -- opt-channel set s 1 listen=@
sweep 65 cutb "^opt-channel: s: (printer )?($HOST|$PORT)" -- opt-channel set s 1 printer=@
sweep 65 cutb "^opt-channel: s: printer $PORT" -- opt-channel set s 1 printer_port=@
sweep 65 cutb "^opt-channel: s: max_jobs $NUM" -- opt-channel set s 1 max_jobs=@
sweep 65 cutb "^opt-channel: s: mode '.*' is not one of" -- opt-channel set s 1 mode=@
sweep 65 cub "^opt-channel: s: $DESC" -- opt-channel set s 1 description=@
sweep 65 cutb "^opt-channel: $ID" -- opt-channel script @ --format cups
sweep 65 cutb "^opt-channel: s: channel id $NUM" -- opt-channel script s 1 @ --format ps1
sweep 65 cutb "^opt-channel: s: format '.*' is not one of" -- opt-channel script s --format @
sweep 65 cutb "^opt-channel: s: $HOST" -- opt-channel script s --format bat --host @
sweep 65 cub "^opt-channel: s: driver '.*' is not a driver name" -- \
	opt-channel script s --format ps1 --driver @

# ---- opt-throttle ----------------------------------------------------------

RATE="rate '.*' is not valid"
sweep 65 cutb "^opt-throttle: (s: )?--up: $RATE" -- opt-throttle set s --up @
sweep 65 cutb "^opt-throttle: (s: )?--down: $RATE" -- opt-throttle set s --down @
sweep 65 cutb "^opt-throttle: $ID" -- opt-throttle set @ --up 5
sweep 65 cutb "^opt-throttle: $ID" -- opt-throttle on @
sweep 65 cutb "^opt-throttle: $ID" -- opt-throttle off @

# ---- opt-tunnel (nothing may start: every site id is refused first) ------

for c in start stop restart reload run; do
	sweep 65 cutb "^opt-tunnel: $ID" -- timeout 10 opt-tunnel "$c" @
done
sweep 65 cutb "^opt-tunnel: $ID" -- timeout 10 opt-tunnel start s @
sweep 64 cutb "^opt-tunnel: --wait '.*' is not a number of seconds" -- \
	timeout 10 opt-tunnel start --wait @ s
sweep 64 cutb "^opt-tunnel: -H and --json are for listings" -- \
	timeout 10 opt-tunnel start @ --json

# ---- opt-status ------------------------------------------------------------

sweep 65 cutb "^opt-status: $ID" -- opt-status s @ --channels
sweep -o 3 cutb "^OPT UNKNOWN - $ID" -- opt-status --check @
sweep 64 cutb "^opt-status: --timeout '.*' is not a number of seconds" -- \
	opt-status --check --timeout @
sweep 64 cutb "^opt-status: --prometheus, -H and --json are exclusive" -- \
	opt-status --json --prometheus @

# ---- 128 KiB: the longest argument a program can get -----------------------

# MAX_ARG_STRLEN (32 pages) counts the NUL: an argument of 128 KiB never
# reaches a program, execve() fails with E2BIG; one byte less does, and
# is swept above.
run "$OPT_BIN/opt-site" show "$(rep 131072 a)"
[ "$rc" = 126 ] && [[ $err == *"Argument list too long"* ]]
ok $? "an argument of exactly 128 KiB cannot be passed: execve() fails with E2BIG"

# ---- argv[0] and an empty argv ---------------------------------------------

# argv-exec -n execs with argc == 0; Linux (5.18 and later) then passes
# argv[0] == "" instead, as -0 '' does.  Either way no tool may crash,
# and messages carry the tool's own name, never argv[0].
tools="opt-site opt-channel opt-throttle opt-tunnel opt-status"
c1=$(rep 102400 $'\x9b')
for t in $tools; do
	before=$(snap)
	run "$ARGV_EXEC" -n "$OPT_BIN/$t"
	if [ "$t" = opt-status ]; then
		[ "$rc" = 0 ] && [ -z "$err" ] && [[ $out == SITE* ]]
	else
		[ "$rc" = 64 ] && [ -z "$out" ] &&
			[ "$err" = "$t: missing command (see $t --help)" ]
	fi
	st=$?
	[ "$(snap)" = "$before" ] || st=1
	ok $st "$t with an empty argv: $([ $t = opt-status ] && echo 'lists the sites' || echo "'missing command' (64)"), no crash, nothing written"
	[ $st -eq 0 ] || diag "exit $rc" "stdout: $out" "stderr: $err"
	for a0 in '' $'\e]0;pwned\a\n' "$c1" ../../x '%n%s'; do
		sweep 64 o "^$t: unknown option '--bogus' \(see $t --help\)$" -- \
			"$ARGV_EXEC" -0 "$a0" "$OPT_BIN/$t" --bogus
	done
done

# A tunnel started under an odd argv[0] still names itself as documented
# ("opt-tunnel: SITE STATE Nch"), whatever ps shows of argv[0].
for a0 in $'\e]0;pwned\a\n' "$(rep 100000 Z)" ''; do
	run "$ARGV_EXEC" -0 "$a0" "$OPT_BIN/opt-tunnel" start --wait 1 s
	pid=$(cat "$MAST_RUN_DIR/s.pid" 2>/dev/null)
	title=$(tr '\0' '\n' <"/proc/${pid:-0}/cmdline" 2>/dev/null | head -1)
	[ "$rc" = 69 ] && [[ $title == "opt-tunnel: s "* ]] && [[ ! $title =~ $NP ]]
	ok $? "start under argv[0] $(printf '%q' "${a0:0:12}"): the process is '${title:0:40}'"
	[ "$rc" = 69 ] || diag "exit $rc" "stderr: $err"
	run "$ARGV_EXEC" -0 "$a0" "$OPT_BIN/opt-tunnel" stop s
	is "$rc:$out" "0:s: stopped" "...and stop stops it"
done
rm -f "$MAST_LOG_DIR/s.log"

# ---- NUL bytes in the files the tools read ---------------------------------

# nul FILE CMD...: FILE with a NUL byte is refused by CMD: 78, one line
# naming FILE (a listing may still go to stdout), the trees unchanged.
nul() {
	local f=$1 prog=$2
	shift
	[ "$prog" = timeout ] && prog=$3
	cp -p "$f" "$T/.keep"
	printf '# \0 NUL\n' >>"$f"
	sweep -a 78 o "^$prog: (s: )?$(re "$f"): contains a NUL byte$" -- "$@"
	mv "$T/.keep" "$f"
}
# (site.conf with opt-site show and throttle.conf with opt-throttle are
# in site-bad-input.t and throttle-bad-input.t.)
S=$C/s
for cmd in "opt-site set s port=23" "opt-site list" "opt-channel add s 192.0.2.9" \
	"opt-channel remove s 1" "opt-tunnel start s" "timeout 20 opt-tunnel run s"; do
	nul "$S/site.conf" $cmd
done
for cmd in "opt-site show s" "opt-channel list s" "opt-channel add s 192.0.2.9" \
	"opt-channel set s 1 listen=$((lo + 50))" "opt-tunnel start s" "opt-status s" \
	"opt-status --json"; do
	nul "$S/channels.conf" $cmd
done
for cmd in "opt-site show s" "opt-throttle set s --up 5" "opt-tunnel start s"; do
	nul "$S/throttle.conf" $cmd
done
for cmd in "opt-site add n 192.0.2.1" "opt-channel add s 192.0.2.9" \
	"opt-throttle show s" "opt-tunnel start s"; do
	nul "$C/defaults.conf" $cmd
done
[ ! -e "$MAST_RUN_DIR/s.pid" ] && [ ! -e "$MAST_LOG_DIR/s.log" ]
ok $? "no tunnel started on any of them"

# A mast file with a NUL byte: not imported, nothing created.
printf 'RemoteHost="192.0.2.7"\nRemotePort=22\0\nForwardPort=("9100:p:9100")\n' >"$T/mastsite"
sweep 65 o "^opt-site: $(re "$T")/mastsite: not a mast configuration \(binary, or over 1 MiB\)$" -- \
	opt-site import "$T/mastsite"
[ ! -e "$C/mastsite" ]
ok $? "...and no site mastsite"
# The same file lying in the config dir, found by import without FILE:
# named on stderr (it may be a damaged mast file), left where it is.
cp "$T/mastsite" "$C/mastsite"
run opt-site import
is "$rc:$err" "0:opt-site: $C/mastsite: not a mast configuration (binary, or over 1 MiB); left alone" \
	"import without FILE names a mast file it cannot read"
[ -f "$C/mastsite" ] && cmp -s "$T/mastsite" "$C/mastsite" && [ ! -e "$C/.mast-legacy/mastsite" ]
ok $? "...and leaves it as it was"
rm "$C/mastsite"

# An identity with a NUL byte in the middle of the key, mode 0600.
ssh-keygen -q -t ed25519 -N '' -f "$T/id_nul" -C nul
{ head -c 120 "$T/id_nul"; printf '\0'; tail -c +121 "$T/id_nul"; } >"$T/id_nul.new"
mv "$T/id_nul.new" "$T/id_nul" && chmod 600 "$T/id_nul"
opt-site set -q o identity="$T/id_nul"
sweep 65 o "^opt-tunnel: o: identity $(re "$T")/id_nul is not (a valid key|an OpenSSH private key)" -- \
	timeout 20 opt-tunnel start o
[ ! -e "$MAST_RUN_DIR/o.pid" ]
ok $? "...and no tunnel of o started"

# A state file with NUL bytes, control characters and invalid UTF-8 in
# its values, as a running tunnel holds its pidfile: opt-status shows
# the site (up) in every format without letting one of those bytes out,
# and its JSON stays JSON (UTF-8).
hold "$MAST_RUN_DIR/s.pid" pid
{
	printf 'site=s\npid=%d\nstate=up\nsince=%d\nreconnects=0\n' "$holder" "$(date +%s)"
	printf 'last_error=a\0b\e[2J\e]0;t\a\xff\xc3(\r\n'
	printf 'compression=zlib\x9b1m\nchannels=1\njobs=3\n'
	printf 'channel.1.listen=41000\nchannel.1.printer=\e[31m\xfe\0x:9100\n'
	printf 'channel.1.printer=\e[31mpr\x7fn\xe9ter\x01:9100\n'
	printf 'channel.1.probe=o\ek\nchannel.1.last_error=\x1b]8;;http://x\a\xc0\xaf\n'
} >"$MAST_RUN_DIR/s.state"
cp "$MAST_RUN_DIR/s.state" "$T/state.keep"
printable() { local np=$'[^ -~\n\t]'; [[ ! $1 =~ $np ]]; }
for fmt in "" "--channels" "-H --channels" "--json" "--prometheus"; do
	run opt-status $fmt s
	[ "$rc" = 0 ] && [ -z "$err" ] && printable "$out" && [[ $out == *up* ]] &&
		cmp -s "$MAST_RUN_DIR/s.state" "$T/state.keep"
	st=$?
	ok $st "opt-status $fmt: a state file with NUL, control bytes and bad UTF-8: shown, nothing raw comes out"
	[ $st -eq 0 ] || diag "exit $rc" "stderr: $err" "stdout: $(printf '%s' "$out" | od -c | head -20)"
done
run opt-status --json s
printf '%s' "$out" | python3 -c '
import json, sys
v = json.loads(sys.stdin.buffer.read().decode("utf-8"))
c = v[0]["channels"][0]
sys.exit(0 if v[0]["state"] == "up" and v[0]["jobs"] == 3 and c["listen"] == 41000 else 1)'
ok $? "...--json is valid UTF-8 JSON with the site up, its jobs and its channel"
kill_wait "$holder"
rm -f "$MAST_RUN_DIR/s.pid" "$MAST_RUN_DIR/s.state"

# ---- Nothing ran ------------------------------------------------------------

is "$(ls -A "$T/cwd")" "" "no file appeared in the working directory (nothing ran a shell)"
is "$(ls -A "$C" | grep -v '^\.lock$' | sort | tr '\n' ' ')" "defaults.conf o s " \
	"the config dir holds the two sites, no temp file, no other site"
done_testing
