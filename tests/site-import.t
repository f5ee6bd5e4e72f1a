#!/bin/bash
# opt-site import reads mast's bash configs, in both forms mast wrote
# and whatever else bash writes for them, by parsing them: nothing in
# them runs.  Every version of mast's template: site-import-history.t.
. "$(dirname "$0")/lib.sh"

mkdir -p "$MAST_CONFIG_DIR" "$T/old"
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/old/id_rsa"
# Plain assignments, as mast's add-host wrote them.
cat >"$MAST_CONFIG_DIR/nautilus" <<CONF
# mast site: Nautilus HQ   \$(touch $T/pwned-comment)
LocalUser="mast"
RemoteHost="203.0.113.10"
RemoteUser="\$LocalUser"
RemotePort=2222
Compression=yes
ServerAliveInterval=10
ServerAliveCountMax=6
StrictHostKeyChecking=no
IdentityFile="$T/old/id_rsa"
BandwidthLimitation=yes
UploadLimit=100
DownloadLimit=10000
ForwardPort=( "L *:19100:imp1:9100 # Accounting HP"
              "L *:19101:192.168.1.21:9100 # Labels \$(touch $T/pwned-item)"
              'L *:19102:[fd00::7]:515'   # a comment after an item
)
CONF
# What declare -p prints.
cat >"$MAST_CONFIG_DIR/harbour.conf" <<'CONF'
declare -- RemoteHost="198.51.100.7"
declare -- RemoteUser="opt"
declare -i RemotePort="22"
declare -- Compression="no"
declare -- StrictHostKeyChecking="yes"
declare -a ForwardPort=([0]="L 127.0.0.1:19200:printer.lan:9100 # Front desk \"laser\"" [1]="L 127.0.0.1:19201:10.1.1.5:9100")
declare -- BandwidthLimitation="no"
CONF
# Below the kernel's ephemeral ports (32768-60999): a client socket of an
# earlier test, in TIME_WAIT, can hold one of those for a minute.
echo 'port_range = [19100, 19999];' >"$MAST_CONFIG_DIR/defaults.conf"
chmod 640 "$MAST_CONFIG_DIR/defaults.conf"

run opt-site import
is "$rc" 0 "import of the config dir exits 0"; [ "$rc" = 0 ] || diag "$err"
like "$out" "harbour: imported from $MAST_CONFIG_DIR/.mast-legacy/harbour.conf: 198.51.100.7 port 22, 2 channels, throttle off" "harbour (declare -p form)"
like "$out" "nautilus: imported from $MAST_CONFIG_DIR/.mast-legacy/nautilus: 203.0.113.10 port 2222, 3 channels, throttle on" "nautilus (assignments)"
# mast's RSA key: kept where libssh2 signs with it (1.11), replaced by
# the default identity where it cannot (1.10).
if rsa_signs; then
	key=$T/old/id_rsa
	printf '%s' "$out" | grep -q "mast's key"
	ok $((!$?)) "it keeps mast's RSA key (libssh2 $(libssh2_built)) and says nothing of it"
else
	key=/var/lib/mast/.ssh/id_ed25519
	like "$out" "nautilus: mast's key $T/old/id_rsa is RSA.*opt-install-key nautilus" \
		"it says the RSA key must be replaced, and how (libssh2 $(libssh2_built))"
fi
[ ! -e "$T/pwned-comment" ] && [ ! -e "$T/pwned-item" ]
ok $? "nothing in the files ran"

run opt-site show nautilus --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["host"], s["port"], s["user"], s["compression"], s["keepalive_interval"],
      s["keepalive_count"], s["host_key_check"], s["identity"],
      s["throttle_enabled"], s["throttle_up"], s["throttle_down"])')" \
	"203.0.113.10 2222 mast True 10 6 off $key True 100 10000" \
	"nautilus: every setting mapped (\$LocalUser expanded, no -> off, identity $key)"
run opt-channel list nautilus -H
is "$out" "$(printf 'nautilus\t1\t19100\timp1\t9100\tAccounting HP\tdirect\ttcp\nnautilus\t2\t19101\t192.168.1.21\t9100\tLabels $(touch %s/pwned-item)\tdirect\ttcp\nnautilus\t3\t19102\tfd00::7\t515\t\tdirect\ttcp' "$T")" \
	"nautilus: the channels, descriptions from the comments, as text, direct like mast's"
run opt-site show harbour -H
like "$out" "$(printf 'bind\t127.0.0.1')" "harbour: the bind address of its ForwardPorts"
like "$out" "$(printf 'host_key_check\tstrict')" "harbour: yes -> strict"
run opt-channel list harbour -H
like "$out" 'Front desk "laser"' "harbour: an escaped quote in a declare -p string"
is "$(ls -A "$MAST_CONFIG_DIR/.mast-legacy" | tr '\n' ' ')" "harbour.conf nautilus " "the imported files moved to .mast-legacy/"

run opt-site import
is "$rc:$out" "0:no mast configuration in $MAST_CONFIG_DIR" "a second import finds nothing"

# Refusals: a line it cannot map, with the file and line; nothing imported.
bad() { # bad NAME ERE TEXT
	printf '%s\n' "$3" >"$T/old/$1"
	refused 65 "$2" "refused: $1" -- opt-site import "$T/old/$1"
	[ ! -e "$MAST_CONFIG_DIR/$1" ]
	ok $? "...and no site $1"
}
bad cmd1 "cmd1:2: 'echo' is not an assignment; nothing imported" $'RemoteHost=h\necho hi'
bad cmd2 "cmd2:1: 'source' is not an assignment" 'source /etc/other'
bad subst1 "subst1:1: unexpected text after RemoteHost=" 'RemoteHost=$(curl evil) x'
bad unk1 "unk1:2: mast's Frobnicate has no place in opt" $'RemoteHost=h\nFrobnicate=1'
bad port1 "port1:2: RemotePort: port 'x' is not a port number" $'RemoteHost=h\nRemotePort=x'
bad host1 "host1:1: RemoteHost: host 'a b' is not a valid host name" 'RemoteHost="a b"'
bad nohost "nohost: RemoteHost is not set" 'RemotePort=22'
bad fwd1 "fwd1:2: ForwardPort '9100:p' is not \[BIND:\]PORT:PRINTER:PORT" $'RemoteHost=h\nForwardPort=("9100:p")'
bad fwd2 "fwd2:2: ForwardPort listens twice on port 9100" $'RemoteHost=h\nForwardPort=("9100:a:9100" "9100:b:9100")'
bad quote1 "quote1:1: a \" is not closed" 'RemoteHost="h'
bad list1 "list1:2: the list of ForwardPort is not closed" $'RemoteHost=h\nForwardPort=( "9100:a:9100"'
bad 'Bad.Name' "its name gives no site id" 'RemoteHost=h'

# --- the forms of bash: declare, quotes, comments, references -----------
mkdir -p "$T/forms"
form() { # form NAME: stdin to $T/forms/NAME, then imported
	cat >"$T/forms/$1"
	run opt-site import "$T/forms/$1"
}
# declare and typeset with flags, without a value, several names a line;
# comments holding quotes and brackets anywhere; a reference to a value
# set earlier, and to one set only later (text, as opt-site(1) says).
form forms1 <<'CONF'
#!/usr/bin/env bash
declare -i RemotePort ServerAliveInterval ServerAliveCountMax UploadLimit DownloadLimit # ints
typeset -x LocalUser="mast" RemoteUser='opt' ; declare -- Compression
declare -r -g RemoteHost="203.0.113.20"   # it's "the" (host) [1]
export ServerAliveInterval=7 ServerAliveCountMax=4; readonly StrictHostKeyChecking=no
RemotePort=2200
IdentityFile="/home/$LocalUser/.ssh/id_ed25519.$BandwidthLimitation"
declare -a ForwardPort=(
	# "L *:9100:imp1:9100 # comment: ()[]'' about printer#1"
	"L *:19300:10.0.0.1:9100 # Accueil #1 \"laser\" l'entrée" # after it: '"()
	[5]='L *:19301:10.0.0.2:9100 # it'\''s' \
	$'L *:19302:10.0.0.3:9100 # caf\303\251 \u00e9t\xc3\xa9 \101'
)
BandwidthLimitation=true UploadLimit=64 DownloadLimit=2000 IdentityFile+=.key
CONF
is "$rc:$err" "0:" "declare/typeset/export/readonly, flags, no values, several names, comments: imported"
run opt-site show forms1 --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["host"], s["port"], s["user"], s["compression"], s["keepalive_interval"],
      s["keepalive_count"], s["host_key_check"], s["identity"], s["throttle_enabled"],
      s["throttle_up"])')" \
	'203.0.113.20 2200 opt True 7 4 off /home/mast/.ssh/id_ed25519.$BandwidthLimitation.key True 64' \
	"forms1: every value, \$LocalUser from the line before, \$BandwidthLimitation (set after) left as text"
run opt-channel list -H forms1
is "$(cut -f1-6 <<<"$out")" "$(printf 'forms1\t1\t19300\t10.0.0.1\t9100\tAccueil #1 "laser" l'"'"'entrée\nforms1\t2\t19301\t10.0.0.2\t9100\tit'"'"'s\nforms1\t3\t19302\t10.0.0.3\t9100\tcafé été A')" \
	"forms1: double, single and \$'...' quotes; a # inside a description is kept"

# What declare -p printed before bash 4.4: an array as one quoted string.
form forms2 <<'CONF'
declare -- RemoteHost="203.0.113.21"
declare -i RemotePort="22"
declare -a ForwardPort='([0]="L *:19310:imp1:9100 # It'\''s \"q\"" [2]="L *:19311:imp2:9100 # Étage #2")'
CONF
is "$rc:$err" "0:" "bash 4.3's declare -a NAME='(...)': imported"
run opt-channel list -H forms2
is "$(cut -f1-6 <<<"$out")" "$(printf 'forms2\t1\t19310\timp1\t9100\tIt'"'"'s "q"\nforms2\t2\t19311\timp2\t9100\tÉtage #2')" \
	"forms2: the items of the quoted array, quotes unescaped"

# What mast's template had until 7f1e817 and what declare -p writes for
# a name declared without a value.
form forms3 <<'CONF'
declare -i RemotePort
declare -- RemoteHost="h.example"
declare -a ForwardPort='()'
CONF
is "$rc:$(opt-site show forms3 -H | grep '^port')" "0:$(printf 'port\t22')" \
	"a name declared without a value keeps the default; '()' is no channel"

# A reverse forward, a SOCKS proxy, a second bind address: refused with
# their line, nothing imported; --partial imports the rest and lists them.
cat >"$T/forms/rev" <<'CONF'
RemoteHost="203.0.113.22"
ForwardPort=(
	"L *:19320:10.0.0.1:9100 # kept"
	"R 127.0.0.1:3307:127.0.0.1:3306 # back home"
	"D 1080"
	"L 127.0.0.1:19321:10.0.0.2:9100"
	"L *:19322:[fd00::9]:9100 # kept too"
	"L *:19323:10.0.0.3:99999"
)
CONF
refused 65 "^opt-site: $T/forms/rev:4: ForwardPort 'R 127.0.0.1:3307:127.0.0.1:3306 # back home' is a remote forward \(ssh -R\), which opt cannot make; nothing imported \(--partial skips such rules\)$" \
	"a reverse forward: refused, its line named" -- opt-site import "$T/forms/rev"
run opt-site import --partial "$T/forms/rev"
is "$rc:$out" "0:rev: imported from $T/forms/rev: 203.0.113.22 port 22, 2 channels, throttle off, 4 rules skipped" \
	"--partial: the rest imported, and said how many were skipped"
is "$err" "opt-site: rev: $T/forms/rev:4: ForwardPort 'R 127.0.0.1:3307:127.0.0.1:3306 # back home' is a remote forward (ssh -R), which opt cannot make; skipped
opt-site: rev: $T/forms/rev:5: ForwardPort 'D 1080' is a SOCKS proxy (ssh -D), which opt cannot make; skipped
opt-site: rev: $T/forms/rev:6: ForwardPort binds '127.0.0.1', unlike the ones before: a site has one bind address; skipped
opt-site: rev: $T/forms/rev:8: ForwardPort: printer port '99999' is not a port number (1-65535); skipped" \
	"--partial: every skipped rule on stderr, with its line"
run opt-channel list -H rev
is "$(cut -f1-6 <<<"$out")" "$(printf 'rev\t1\t19320\t10.0.0.1\t9100\tkept\nrev\t2\t19322\tfd00::9\t9100\tkept too')" \
	"--partial: the rules opt can make became channels"
refused 64 "^opt-site: --partial is an option of 'import' only" \
	"--partial elsewhere is a usage error" -- opt-site list --partial

bad declf "declf:2: 'declare -f' is not an assignment opt can read" $'RemoteHost=h\ndeclare -f RemoteHost'
bad decln "decln:1: 'declare -n' is not an assignment opt can read" 'declare -n ref=RemoteHost'
bad decl0 "decl0:1: 'typeset' names no variable" 'typeset -i'
bad decl1 "decl1:1: unexpected text after RemotePort" 'declare -i RemotePort >/tmp/x'
bad int1 "int1:2: RemotePort\+= adds, as RemotePort is an integer: opt cannot tell the sum" \
	$'declare -i RemotePort=2000 RemoteHost=h\nRemotePort+=22'
bad ansi1 "ansi1:1: a \\$' is not closed" "RemoteHost=\$'h"
bad tpl1 "tpl1:2: RemoteHost holds '\{\{HOST\}\}', a placeholder of mast's template that 'make add-host' fills in: this file is a template, not a site; nothing imported" \
	$'# a template\nRemoteHost="{{HOST}}" \nRemotePort=22'

# mast's template in the config dir is not a site: import leaves it.
mkdir -p "$T/etc2"
printf 'RemoteHost="{{HOST}}"\n' >"$T/etc2/template"
printf 'RemoteHost="203.0.113.30"\n' >"$T/etc2/harbour2"
cp "$MAST_CONFIG_DIR/defaults.conf" "$T/etc2/"
run env MAST_CONFIG_DIR="$T/etc2" opt-site import
is "$rc:$out:$err" "0:harbour2: imported from $T/etc2/.mast-legacy/harbour2: 203.0.113.30 port 22, 0 channels, throttle off:" \
	"import of a config dir leaves mast's template alone"
[ -f "$T/etc2/template" ] && [ ! -e "$T/etc2/.mast-legacy/template" ]
ok $? "...where it was"

printf 'RemoteHost=h\nForwardPort=("19100:a:9100")\n' >"$T/old/taken"
refused 73 "port 19100 is already channel 1 of site nautilus" "a listen port another site has" -- \
	opt-site import "$T/old/taken"
printf 'RemoteHost=h\nRemotePort=0\n' >"$MAST_CONFIG_DIR/broken"
run opt-site import
is "$rc" 65 "a broken file in the config dir: 65"
[ -f "$MAST_CONFIG_DIR/broken" ] && [ ! -e "$MAST_CONFIG_DIR/.mast-legacy/broken" ]
ok $? "...and it stays where it was"
printf 'RemoteHost=h\n' >"$T/old/nautilus"
refused 73 "site already exists" "a site that exists" -- opt-site import "$T/old/nautilus"

# mast's forwards become new channels: of defaults.conf's channel_mode.
mkdir -p "$T/etc3"
{ cat "$MAST_CONFIG_DIR/defaults.conf"; printf 'channel_mode = "spool";\n'; } >"$T/etc3/defaults.conf"
chmod 640 "$T/etc3/defaults.conf"
printf 'RemoteHost=h\nForwardPort=("L *:19400:a:9100" "L *:19401:b:9100")\n' >"$T/old/spooled"
run env MAST_CONFIG_DIR="$T/etc3" opt-site import "$T/old/spooled"
is "$rc:$err" "0:" "import with channel_mode = \"spool\" in defaults.conf"
is "$(env MAST_CONFIG_DIR="$T/etc3" opt-channel list -H spooled | cut -f2,7 | tr '\t\n' ': ')" \
	"1:spool 2:spool " "...makes spool channels"
done_testing
