# A throwaway OpenSSH sshd on 127.0.0.1 and a fake printer, for the
# tunnel tests; sourced after lib.sh.  Nothing here is a system service:
# keys, config and logs live in $T and everything is killed at exit.

PATH=$top/tests:$PATH
SSHD=${SSHD:-/usr/sbin/sshd}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# listening PORT: something listens on PORT (checked without connecting).
listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }

# start_sshd: sets SSHD_PORT and the client key $T/id_ed25519; the
# sshd logs at SSHD_LOGLEVEL (VERBOSE), and its config ends with the
# lines of SSHD_CONFIG, if set.
start_sshd() {
	mkdir -p "$T/sshd"
	[ -f "$T/sshd/host_ed25519" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_ed25519" || return 1
	[ -f "$T/id_ed25519" ] || {
		ssh-keygen -q -t ed25519 -N '' -f "$T/id_ed25519" -C opt-test &&
		cp "$T/id_ed25519.pub" "$T/sshd/authorized_keys"
	} || return 1
	: "${SSHD_PORT:=$(free_port)}"
	cat >"$T/sshd/config" <<-CONF
	Port $SSHD_PORT
	ListenAddress 127.0.0.1
	HostKey $T/sshd/host_ed25519
	PidFile $T/sshd/pid
	AuthorizedKeysFile $T/sshd/authorized_keys
	StrictModes no
	UsePAM no
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PubkeyAuthentication yes
	PermitRootLogin prohibit-password
	AllowTcpForwarding yes
	PermitTTY no
	LogLevel ${SSHD_LOGLEVEL:-VERBOSE}
	${SSHD_CONFIG:-}
	CONF
	[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
	"$SSHD" -D -e -f "$T/sshd/config" 2>>"$T/sshd/log" &
	SSHD_PID=$!
	cleanup "end_procs $SSHD_PID; sshd_strays"
	wait_for 10 port_open "$SSHD_PORT"
}

# sshd_strays: what a listener of $T forked and left when it ended (a
# connection taken as it was told to stop): the children that did not
# become sshd-session still show the listener's command line.
sshd_strays() { pkill -KILL -f -- "-f $T/sshd/config( |\$|-)" 2>/dev/null; return 0; }

# need_sshd: start_sshd, or one failed test and the end of the file.
need_sshd() {
	start_sshd && return 0
	ok 1 "sshd starts"
	done_testing
	exit
}

# stop_sshd: the listener and every session it serves, as when the
# site's box goes down (a mere sshd restart would keep sessions).
# OpenSSH 10 serves each session in sshd-session processes two levels
# down, so the whole family goes, not only the listener's children.
stop_sshd() {
	local sessions
	sessions=$(family "$SSHD_PID" | tail -n +2)
	# shellcheck disable=SC2086 # one word per pid
	[ -z "$sessions" ] || kill -KILL $sessions 2>/dev/null
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	sshd_strays
	return 0
}

# crash_sshd: sshd dies without a word, the listener and every session
# (SIGKILL).
crash_sshd() {
	# shellcheck disable=SC2046 # one word per pid
	kill -9 $(family "$SSHD_PID") 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	sshd_strays
	return 0
}

# start_printer NAME [fake-printer options]: sets PRINTER_PORT; jobs go
# to $T/NAME/job-N.
start_printer() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	fake-printer -d "$T/$name" "$@" >"$T/$name.port" &
	local pid=$!
	cleanup "end_procs $pid"
	wait_for 5 grep -q port "$T/$name.port" || return 1
	PRINTER_PORT=$(cut -d' ' -f2 "$T/$name.port")
	eval "PRINTER_PID_$name=$pid"
}

# add_test_site SITE [KEY=VALUE ...]: a site for the sshd above, with
# tunnels that stay root in tests, and the settings given.
add_test_site() {
	local site=$1
	shift
	mkdir -p "$MAST_CONFIG_DIR"
	[ -f "$MAST_CONFIG_DIR/defaults.conf" ] || {
		printf 'local_user = "root";\nport_range = [%d, %d];\nkeepalive_interval = 1;\nkeepalive_count = 3;\n' \
			"${PORT_LO:-21100}" "${PORT_HI:-21999}" >"$MAST_CONFIG_DIR/defaults.conf"
		chmod 640 "$MAST_CONFIG_DIR/defaults.conf"
	}
	opt-site add -q "$site" 127.0.0.1 --port "$SSHD_PORT" \
		--user "$(id -un)" --identity "$T/id_ed25519"
	[ $# -eq 0 ] || opt-site set -q "$site" "$@"
}

# user_site SITE USER: add_test_site SITE, whose tunnel, started as
# root, drops to local_user USER, which owns the identity and may enter
# $T; nobody_site SITE: the same for nobody.
user_site() {
	add_test_site "$1"
	sed -i "s/^local_user = \"root\";/local_user = \"$2\";/" \
		"$MAST_CONFIG_DIR/defaults.conf"
	chmod 755 "$T"
	chown "$2" "$T/id_ed25519"
}
nobody_site() { user_site "$1" nobody; }

# lp_site [KEY=VALUE ...] [FAKE-PRINTER-OPTION ...]: printer lp (jobs in
# $T/lp) with the options given, and site nautilus, with the settings
# given, whose one channel to lp listens on $port; the tunnels are
# stopped at exit.
lp_site() {
	local settings=()
	while [ $# -gt 0 ] && [[ $1 == [a-z]*=* ]]; do
		settings+=("$1")
		shift
	done
	start_printer lp "$@"
	add_test_site nautilus "${settings[@]}"
	# shellcheck disable=SC2034 # for the test
	port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
	cleanup stop_tunnels
}

# slow_lp_site: printers slow (reads 64 KiB every 20 ms) and lp, on
# $slow_port and $lp_port, and site nautilus bound to 127.0.0.1, whose
# channel 1 to slow listens on $long; the tunnels are stopped at exit.
slow_lp_site() {
	start_printer slow --read-delay 20
	slow_port=$PRINTER_PORT
	start_printer lp
	lp_port=$PRINTER_PORT
	add_test_site nautilus bind=127.0.0.1
	long=$(opt-channel add -q nautilus "127.0.0.1:$slow_port")
	cleanup stop_tunnels
}

# long_job PRINTER PORT FILE BYTES: BYTES of random data into FILE, sent
# to PORT in the background ($job, its stderr in FILE.err), until the
# fake printer PRINTER has its first bytes; 1 if they do not come.
long_job() {
	head -c "$4" /dev/urandom >"$3"
	send-job "$2" "$3" >/dev/null 2>"$3.err" &
	job=$!
	cleanup "kill $job 2>/dev/null"
	wait_for 10 test -s "$T/$1/job-1.part"
}

# black_hole: sets $hole, a port on 127.0.0.1 that never answers: its
# listener's accept queue is full, so SYNs are dropped (a printer gone
# from the LAN).  It goes at exit.
black_hole() {
	hole=$(free_port)
	python3 - "$hole" >"$T/hole.out" <<'PY' &
import socket, sys, time
ls = socket.socket(); ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(0)
c = socket.socket(); c.connect(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True); time.sleep(600)
PY
	cleanup "end_procs $!"
	wait_for 5 grep -q ready "$T/hole.out"
}

stop_tunnels() { opt-tunnel stop -q >/dev/null 2>&1; }

# dropping_site USER: printer lp and site nautilus, as lp_site, for a
# tunnel that root starts and that then runs as USER (local_user), set
# up as the package does: USER may read the config and the identity.
dropping_site() {
	start_printer lp
	user_site nautilus "$1"
	# shellcheck disable=SC2034 # for the test
	port=$(opt-channel add -q nautilus "127.0.0.1:$PRINTER_PORT")
	opt-site trust -q nautilus
	chmod -R o+rX "$MAST_CONFIG_DIR"
	cleanup stop_tunnels
	# shellcheck disable=SC2016 # run at exit
	cleanup 'kill $(tunnel_pids) 2>/dev/null' # those a stop missed
}

# The tunnel processes of this test: those holding a file under $T.
tunnel_pids() {
	local p fd exe
	exe=$(readlink -f "$OPT_BIN/opt-tunnel")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] || continue
		for fd in "$p"/fd/*; do
			case $(readlink "$fd" 2>/dev/null) in
			"$T"/*) echo "${p#/proc/}" && break ;;
			esac
		done
	done
	return 0
}

# st KEY [SITE]: a value of the state file of SITE (nautilus unless told).
st() { sed -n "s/^$1=//p" "$MAST_RUN_DIR/${2:-nautilus}.state" 2>/dev/null; }
# st_is KEY VALUE [SITE]
st_is() { [ "$(st "$1" "${3:-nautilus}")" = "$2" ]; }
# state_is STATE [SITE]
state_is() { st_is state "$1" "${2:-nautilus}"; }
# log [SITE]: the tunnel log of SITE (nautilus unless told).
log() { cat "$MAST_LOG_DIR/${1:-nautilus}.log" 2>/dev/null; }
# logged ERE [SITE]: a line of that log matches ERE.
logged() { grep -Eq -- "$1" "$MAST_LOG_DIR/${2:-nautilus}.log" 2>/dev/null; }

# njobs DIR: how many jobs a fake printer wrote in DIR, whole or not.
njobs() { find "$1" -name 'job-*' | wc -l; }
# got_job DIR FILE: DIR holds a complete job with FILE's bytes.
got_job() {
	local f want
	want=$(sha "$2")
	for f in "$1"/job-*; do
		case $f in *.part | *.cut) continue ;; esac
		[ -f "$f" ] && [ "$(sha "$f")" = "$want" ] && return 0
	done
	return 1
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }
# shas DIR: the sorted checksums of DIR's complete jobs.
shas() {
	local f
	for f in "$1"/job-*; do
		case $f in *.part | *.cut) continue ;; esac
		[ -f "$f" ] && sha "$f"
	done | sort
}
# njobs_done DIR N: DIR holds N complete jobs or more.
njobs_done() { [ "$(shas "$1" | grep -c '')" -ge "$2" ]; }
