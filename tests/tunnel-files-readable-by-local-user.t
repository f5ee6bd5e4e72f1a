#!/bin/bash
# Run as root, opt-site (add, trust, import), opt-channel and
# opt-throttle give what they write to root and a group of local_user
# (mast if /etc/group has it, else local_user's primary group), mode
# 0640 (directories 0750), so that a tunnel that dropped root reads its
# files: it comes up, takes a job, and applies a change.  A file the
# tunnel reads that local_user cannot read makes opt-tunnel start refuse
# (77), naming it, before any process is started.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "giving files to local_user needs root"
	done_testing
	exit
fi
need_sshd
start_printer lp
C=$MAST_CONFIG_DIR
gid=$(awk -F: '$1 == "mast" { print $3 }' /etc/group)
: "${gid:=$(id -g nobody)}"
chmod 755 "$T"
chown nobody "$T/id_ed25519"
# What the package makes: the config dir and defaults.conf, the mast
# group's (here local_user's group).
mkdir -m 750 "$C"
printf 'local_user = "nobody";\nport_range = [%d, %d];\n' \
	"${PORT_LO:-21100}" "${PORT_HI:-21999}" >"$C/defaults.conf"
chgrp "$gid" "$C" "$C/defaults.conf"
chmod 640 "$C/defaults.conf"
cleanup stop_tunnels

opt-site add -q s 127.0.0.1 --port "$SSHD_PORT" --user "$(id -un)" \
	--identity "$T/id_ed25519" --host-key-check strict
port=$(opt-channel add -q s "127.0.0.1:$PRINTER_PORT")
opt-throttle set -q s --up 10000
opt-site trust -q s
printf 'RemoteHost="127.0.0.1"\nRemotePort=%d\n' "$SSHD_PORT" >"$T/imp"
opt-site import -q "$T/imp"

# owned PATH MODE: root's and the group's, MODE, and nobody reads it.
owned() {
	is "$(stat -c '%u:%g %a' "$1")" "0:$gid $2" "${1#"$C"/}: root:$gid, mode $2"
	setpriv --reuid=nobody --regid="$(id -g nobody)" --init-groups \
		"$([ -d "$1" ] && echo ls || echo cat)" "$1" >/dev/null 2>&1
	ok $? "${1#"$C"/}: local_user reads it"
}
owned "$C/s" 750
for f in site.conf channels.conf throttle.conf known_hosts; do
	owned "$C/s/$f" 640
done
owned "$C/imp" 750
for f in site.conf channels.conf throttle.conf; do
	owned "$C/imp/$f" 640
done

run opt-tunnel start s
is "$rc:$err" "0:" "start: the tunnel comes up as local_user"
pid=$(cat "$MAST_RUN_DIR/s.pid" 2>/dev/null)
is "$(ps -o user= -p "${pid:-0}")" nobody "the tunnel runs as nobody"
head -c 200000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1" 2>/dev/null)" "$(sha "$T/job")" "a job crosses"
run opt-throttle set s --up 20000
is "$rc:$err" "0:" "a throttle change is applied by the tunnel"
owned "$C/s/throttle.conf" 640
run grep -E 'event=(hostkey-failed|reload-failed)' "$MAST_LOG_DIR/s.log"
is "$out" "" "the tunnel read every file (no hostkey-failed, no reload-failed)"
opt-tunnel stop -q s

# unreadable PATH NAME: PATH (its mode and owner) made root's only is
# refused by start with 77, naming FILE, and no tunnel is started.
unreadable() {
	local path=$1 name=$2 file=$3 mode owner
	mode=$(stat -c %a "$path")
	owner=$(stat -c %u:%g "$path")
	chown root:root "$path"
	chmod "$([ -d "$path" ] && echo 700 || echo 600)" "$path"
	refused 77 "^opt-tunnel: s: cannot read $(re "$file") as local_user nobody: Permission denied$" \
		"start: $name not readable by local_user" -- opt-tunnel start s
	[ ! -e "$MAST_RUN_DIR/s.pid" ] && [ -z "$(tunnel_pids)" ]
	ok $? "start: $name: no tunnel was started"
	chown "$owner" "$path"
	chmod "$mode" "$path"
}
unreadable "$C/defaults.conf" defaults.conf "$C/defaults.conf"
for f in site.conf channels.conf throttle.conf known_hosts; do
	unreadable "$C/s/$f" "$f" "$C/s/$f"
done
unreadable "$T/id_ed25519" "the identity" "$T/id_ed25519"
unreadable "$C/s" "the site's directory" "$C/s/site.conf"
run opt-tunnel start s
is "$rc" 0 "start, every file readable again"
done_testing
