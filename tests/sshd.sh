# A throwaway OpenSSH sshd on 127.0.0.1 and a fake printer, for the
# tunnel tests; sourced after lib.sh.  Nothing here is a system service:
# keys, config and logs live in $T and everything is killed at exit.

PATH=$top/tests:$PATH
SSHD=${SSHD:-/usr/sbin/sshd}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: until CMD succeeds; 1 on timeout.
wait_for() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_sshd: sets SSHD_PORT and the client key $T/id_ed25519.
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
	LogLevel VERBOSE
	CONF
	[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd
	"$SSHD" -D -e -f "$T/sshd/config" 2>>"$T/sshd/log" &
	SSHD_PID=$!
	cleanup "kill $SSHD_PID 2>/dev/null"
	wait_for 10 port_open "$SSHD_PORT"
}

# stop_sshd: the listener and every session it serves, as when the
# site's box goes down (a mere sshd restart would keep sessions).
stop_sshd() {
	pkill -KILL -P "$SSHD_PID" 2>/dev/null
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
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
	cleanup "kill $pid 2>/dev/null"
	wait_for 5 grep -q port "$T/$name.port" || return 1
	PRINTER_PORT=$(cut -d' ' -f2 "$T/$name.port")
	eval "PRINTER_PID_$name=$pid"
}

# A site for the sshd above, with tunnels that stay root in tests.
add_test_site() {
	local site=$1
	mkdir -p "$MAST_CONFIG_DIR"
	[ -f "$MAST_CONFIG_DIR/defaults.conf" ] || {
		printf 'local_user = "root";\nport_range = [%d, %d];\nkeepalive_interval = 1;\nkeepalive_count = 3;\n' \
			"${PORT_LO:-21100}" "${PORT_HI:-21999}" >"$MAST_CONFIG_DIR/defaults.conf"
		chmod 640 "$MAST_CONFIG_DIR/defaults.conf"
	}
	opt-site add -q "$site" 127.0.0.1 --port "$SSHD_PORT" \
		--user "$(id -un)" --identity "$T/id_ed25519"
}

stop_tunnels() { opt-tunnel stop -q >/dev/null 2>&1; }

sha() { sha256sum <"$1" | cut -d' ' -f1; }
