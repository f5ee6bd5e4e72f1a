#!/bin/bash
# A run or log directory that another user could change is refused, in
# one line naming it and its mode, with status 77, and left as it was:
# writable by group or others (a /tmp-like 1777 one too), owned by a
# user who is neither root nor local_user, or, for the run directory
# of a tunnel that drops root, not local_user's.  A missing one is
# made, and given to local_user.  opt-site remove removes nothing from
# such a directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_root "a less privileged local_user"
need_sshd
dropping_site nobody
owner() { stat -c '%U:%G %a' "$1"; }

# dir NAME OWNER MODE: a fresh directory $T/NAME.
dir() {
	rm -rf "${T:?}/$1"
	install -d -o "${2%:*}" -g "${2#*:}" -m "$3" "$T/$1"
}

# unsafe WHAT NAME OWNER MODE ERE [COMMAND...]: with MAST_WHAT_DIR a
# directory NAME made with OWNER and MODE, each COMMAND of opt-tunnel
# (start unless told) is refused, and the directory is left as it was.
unsafe() {
	local what=$1 name=$2 own=$3 mode=$4 msg=$5 var cmd
	shift 5
	var=MAST_${what^^}_DIR
	dir "$name" "$own" "$mode"
	for cmd in "${@:-start}"; do
		refused 77 "^opt-tunnel: nautilus: $what directory $(re "$T/$name"): mode $mode, $msg, refusing it" \
			"$cmd: a $what directory $own $mode is refused (exit 77)" -- \
			env "$var=$T/$name" opt-tunnel "$cmd" nautilus
	done
	is "$(owner "$T/$name")" "$own ${mode#0}" "...and left as it was"
	is "$(tunnel_pids)" "" "...and no tunnel runs"
}

others="writable by group or others"
unsafe run tmp root:root 1777 "$others" start run stop restart
unsafe run ww root:root 0777 "$others"
unsafe run gw root:nogroup 0775 "$others"
unsafe run daemon daemon:daemon 0755 "owned by daemon, not root or local_user nobody" start run
unsafe run root root:root 0755 "owned by root: local_user nobody cannot write in it"
unsafe log tmp root:root 1777 "$others"
unsafe log daemon daemon:daemon 0750 "owned by daemon, not root or local_user nobody"

# Missing, they are made and given to local_user: the tunnel works.
run opt-tunnel start nautilus
like "$rc:$out" "^0:nautilus: up " "start with neither directory: up"
is "$(owner "$MAST_RUN_DIR")" "nobody:nogroup 755" "the run directory made is local_user's, mode 755"
is "$(owner "$MAST_LOG_DIR")" "nobody:nogroup 750" "the log directory made is local_user's, mode 750"
head -c 300000 /dev/urandom >"$T/job"
send-job "$port" "$T/job" >/dev/null
wait_for 10 got_job "$T/lp" "$T/job"
ok $? "a job crosses byte for byte"
run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "stop"

# A tunnel that stays root takes no directory of local_user's.
sed -i 's/^local_user = .*/local_user = "root";/' "$MAST_CONFIG_DIR/defaults.conf"
dir run2 nobody:nogroup 0755
refused 77 "^opt-tunnel: nautilus: run directory $(re "$T/run2"): mode 0755, owned by nobody, not root or local_user root, refusing it" \
	"start: local_user root, a run directory of nobody's is refused (exit 77)" -- \
	env MAST_RUN_DIR="$T/run2" opt-tunnel start nautilus
is "$(owner "$T/run2")" "nobody:nogroup 755" "...and left as it was"

# opt-site remove takes nothing out of a run directory another user may
# change: in a 1777 one, a file of another user's named like the site's
# state file stays, and the remove says why.
dir tmp root:root 1777
as nobody sh -c "echo theirs >'$T/tmp/nautilus.state'"
run env MAST_RUN_DIR="$T/tmp" opt-site remove nautilus
is "$rc" 0 "remove of a site with a 1777 run directory: the site is removed"
like "$err" "^opt-site: nautilus: run directory $(re "$T/tmp"): mode 1777, $others, refusing it" \
	"...and it says why it leaves the run directory alone"
is "$(cat "$T/tmp/nautilus.state" 2>/dev/null)" theirs "...where the other user's file stays"
done_testing
