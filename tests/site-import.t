#!/bin/bash
# opt-site import reads mast's bash configs, in both forms mast wrote,
# by parsing them: nothing in them runs.
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
like "$out" "nautilus: mast's key $T/old/id_rsa is RSA.*opt-install-key nautilus" "it says the RSA key must be replaced, and how"
[ ! -e "$T/pwned-comment" ] && [ ! -e "$T/pwned-item" ]
ok $? "nothing in the files ran"

run opt-site show nautilus --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["host"], s["port"], s["user"], s["compression"], s["keepalive_interval"],
      s["keepalive_count"], s["host_key_check"], s["identity"],
      s["throttle_enabled"], s["throttle_up"], s["throttle_down"])')" \
	"203.0.113.10 2222 mast True 10 6 off /var/lib/mast/.ssh/id_ed25519 True 100 10000" \
	"nautilus: every setting mapped (\$LocalUser expanded, no -> off, RSA key replaced)"
run opt-channel list nautilus -H
is "$out" "$(printf 'nautilus\t1\t19100\timp1\t9100\tAccounting HP\nnautilus\t2\t19101\t192.168.1.21\t9100\tLabels $(touch %s/pwned-item)\nnautilus\t3\t19102\tfd00::7\t515\t' "$T")" \
	"nautilus: the channels, descriptions from the comments, as text"
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
done_testing
