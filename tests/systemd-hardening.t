#!/bin/bash
# The systemd units are sandboxed: `systemd-analyze security` rates
# each below 3.0 (OK) and `systemd-analyze verify` finds nothing wrong.
# The tunnel still works within what the sandbox leaves: started as
# root with only the units' capability bounding set and no new
# privileges, it drops to local_user, comes up, takes a job, reloads and
# stops.  systemd-analyze comes with the package systemd, which
# scripts/install-deps installs: without it this test fails.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

if ! command -v systemd-analyze >/dev/null; then
	ok 1 "systemd-analyze is installed (scripts/install-deps installs systemd)"
	done_testing
	exit
fi
U=$T/units
mkdir "$U"
for u in "$top"/etc/systemd/*.service; do
	sed -e "s|@bindir@|$OPT_BIN|g" -e 's|@sysconfdir@|/etc|g' \
		-e 's|@runstatedir@|/run|g' -e 's|@localstatedir@|/var|g' \
		"$u" >"$U/${u##*/}"
done
# A template is analysed as one of its instances.
ln -s opt-tunnel@.service "$U/opt-tunnel@demo.service"

for u in opt-tunnels.service opt-tunnel@demo.service; do
	run systemd-analyze security --offline=true --no-pager "$U/$u"
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	diag "$u: exposure $score"
	awk -v s="${score:-99}" 'BEGIN { exit !(s < 3.0) }'
	ok $? "$u: exposure ${score:-unknown} is below 3.0"
done
run systemd-analyze verify --man=no "$U/opt-tunnels.service" "$U/opt-tunnel@demo.service"
is "$rc:$out$err" "0:" "systemd-analyze verify finds nothing wrong"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$U/opt-tunnels.service")
is "$(sed -n 's/^CapabilityBoundingSet=//p' "$U/opt-tunnel@.service")" "$caps" \
	"both units bound the same capabilities"

if [ "$(id -u)" -ne 0 ]; then
	skip "running the tunnel within the bounding set needs root"
	done_testing
	exit
fi
# setpriv: as systemd runs ExecStart, with the units' capabilities only.
bounding=-all$(printf ',+%s' $(printf '%s\n' $caps | sed 's/^CAP_//' | tr 'A-Z' 'a-z'))
sandboxed() { setpriv --bounding-set="$bounding" --inh-caps=-all --no-new-privs "$@"; }
run sandboxed opt-tunnel reload
like "$rc" '^[0-9]+$' "setpriv applies the bounding set $bounding"
need_sshd
start_printer lp
nobody_site nautilus
chgrp -R "$(id -g nobody)" "$MAST_CONFIG_DIR"
port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
# The log directory is local_user's, as the package makes it.
mkdir -m 750 "$MAST_LOG_DIR" && chown nobody "$MAST_LOG_DIR"
cleanup stop_tunnels

run sandboxed opt-tunnel start nautilus
is "$rc:$err" "0:" "start within the bounding set: the tunnel comes up"
pid=$(cat "$MAST_RUN_DIR/nautilus.pid" 2>/dev/null)
is "$(ps -o user= -p "${pid:-0}")" nobody "it runs as local_user"
is "$(grep '^CapBnd' "/proc/${pid:-0}/status" 2>/dev/null | cut -f2)" \
	"$(sandboxed grep '^CapBnd' /proc/self/status | cut -f2)" \
	"with the units' bounding set"
head -c 300000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1" 2>/dev/null)" "$(sha "$T/job")" "a job crosses"
run sandboxed opt-tunnel reload nautilus
is "$rc:$err" "0:" "reload within the bounding set signals the tunnel"
run sandboxed opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop within the bounding set"
done_testing
