# TAP helpers for the integration tests, sourced by tests/*.t (bash).
#
# Each test gets a scratch tree in $T with MAST_CONFIG_DIR, MAST_RUN_DIR
# MAST_LOG_DIR and MAST_SPOOL_DIR inside it, so tests never touch /etc/mast and can run
# side by side.  The plan is printed at the end (done_testing).

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${OPT_BIN:=$top/bin}"
PATH=$OPT_BIN:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/opt-test.XXXXXX")
export MAST_CONFIG_DIR=$T/etc MAST_RUN_DIR=$T/run MAST_LOG_DIR=$T/log
export MAST_SPOOL_DIR=$T/spool
export MAST_LOCK_TIMEOUT=20
# What every process a test starts carries, so that a leftover names its
# test (tests/zz-no-process-left.t).
export OPT_TEST=${0##*/}
# make check-valgrind: every opt tool runs under valgrind (memcheck),
# each process logging to $VALGRIND_LOGS, which the target then reads.
if [ -n "${VALGRIND_LOGS:-}" ]; then
	mkdir -p "$T/vgbin"
	for tool in "$OPT_BIN"/opt-*; do
		[ -x "$tool" ] || continue
		cat >"$T/vgbin/${tool##*/}" <<-VG
		#!/bin/sh
		exec valgrind -q --leak-check=full --show-leak-kinds=definite \
			--errors-for-leak-kinds=definite --child-silent-after-fork=no \
			--suppressions="$top/tests/valgrind.supp" \
			--log-file="$VALGRIND_LOGS/${tool##*/}.%p.log" "$tool" "\$@"
		VG
		chmod +x "$T/vgbin/${tool##*/}"
	done
	PATH=$T/vgbin:$PATH
fi
unset NO_COLOR
_n=0
_failed=0
_cleanups=

cleanup() { _cleanups="$*; $_cleanups"; }
_finish() {
	eval "$_cleanups"
	rm -rf "$T"
}
trap _finish EXIT

ok() { # ok STATUS NAME: STATUS 0 passes
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $2"
	fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }

is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}

like() { # like GOT ERE NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  '$1'" "want: /$2/"
	fi
}

skip() { # skip REASON: a visible skip, counted as such by prove
	_n=$((_n + 1))
	echo "ok $_n # SKIP $1"
}

# run CMD...: runs it, leaving $rc, $out (stdout) and $err (stderr).
run() {
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	out=$(cat "$T/.out")
	err=$(cat "$T/.err")
	return 0
}

# The state of the config tree: paths, modes and contents.
tree_sum() {
	(cd "$MAST_CONFIG_DIR" 2>/dev/null &&
		find . -path ./.lock -prune -o -printf '%p %m\n' | sort &&
		find . -type f ! -name .lock -print0 | sort -z |
		xargs -0r sha256sum) | sha256sum | cut -d' ' -f1
}

# refused CODE ERE NAME -- CMD...: CMD exits CODE with one line on
# stderr matching ERE, nothing on stdout, and the config tree unchanged.
refused() {
	local code=$1 re=$2 name=$3 before lines
	shift 4
	before=$(tree_sum)
	run "$@"
	lines=$(printf '%s' "$err" | grep -c '')
	if [ "$rc" = "$code" ] && [ "$lines" = 1 ] && [ -z "$out" ] &&
		printf '%s' "$err" | grep -Eq -- "$re" &&
		[ "$(tree_sum)" = "$before" ]; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "command: $*" "exit $rc (want $code)" "stdout: $out" \
			"stderr: $err" "want stderr: /$re/"
		[ "$(tree_sum)" = "$before" ] || diag "the config tree changed"
	fi
}

# succeeds NAME -- CMD...: CMD exits 0 with nothing on stderr.
succeeds() {
	local name=$1
	shift 2
	run "$@"
	if [ "$rc" = 0 ] && [ -z "$err" ]; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "command: $*" "exit $rc" "stderr: $err"
	fi
}

# partly CODE ERE GOT NOT NAME -- CMD...: CMD exits CODE with one line on
# stderr matching ERE, and has a line on stdout matching GOT and none
# matching NOT: a listing that reports a broken site and lists the others.
partly() {
	local code=$1 re=$2 got=$3 not=$4 name=$5
	shift 6
	run "$@"
	if [ "$rc" = "$code" ] && [ "$(printf '%s' "$err" | grep -c '')" = 1 ] &&
		printf '%s' "$err" | grep -Eq -- "$re" &&
		printf '%s\n' "$out" | grep -Eq -- "$got" &&
		! printf '%s\n' "$out" | grep -Eq -- "$not"; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "command: $*" "exit $rc (want $code)" "stdout: $out" \
			"stderr: $err"
	fi
}

# refused_q CODE ERE NAME -- CMD...: refused, then a second test that
# stderr holds no raw control byte (the message quotes hostile input).
refused_q() {
	local name=$3 LC_ALL=C
	refused "$@"
	if [[ $err == *[[:cntrl:]]* ]]; then
		ok 1 "$name: stderr has no raw control byte"
		diag "stderr: $(printf '%s' "$err" | od -c | head -4)"
	else
		ok 0 "$name: stderr has no raw control byte"
	fi
}

# in_background JOB CMD...: CMD runs in the background, its stdout in
# $T/JOB.out and its stderr in $T/JOB.err; refused_bg waits for it.
declare -A _bg
in_background() {
	local job=$1
	shift
	"$@" >"$T/$job.out" 2>"$T/$job.err" &
	_bg[$job]=$!
}

# refused_bg CODE ERE NAME JOB: refused, for the command in_background
# JOB, once it ends (the config tree is not checked: other commands ran
# meanwhile).
refused_bg() {
	local code=$1 re=$2 name=$3 job=$4 r e
	wait "${_bg[$job]}"
	r=$?
	e=$(cat "$T/$job.err")
	if [ "$r" = "$code" ] && [ ! -s "$T/$job.out" ] &&
		[ "$(printf '%s' "$e" | grep -c '')" = 1 ] &&
		printf '%s' "$e" | grep -Eq -- "$re"; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diag "exit $r (want $code)" "stderr: $e"
	fi
}

# broken FILE NAME -- CMD...: CMD (an opt tool) exits 78 with one line
# naming FILE, and FILE is byte-identical, with the same mode, afterwards.
broken() {
	local file=$1 name=$2
	shift 3
	broken_at "$file" '(:[0-9]+)?: ' "$name" -- "$@"
}

# broken_at FILE WHERE NAME -- CMD...: broken, the line on stderr going
# on after FILE as the ERE WHERE says (":6: max_jobs: must be a whole").
broken_at() {
	local file=$1 where=$2 name=$3 mode
	shift 4
	cp "$file" "$T/.saved"
	mode=$(stat -c %a "$file")
	refused 78 "^${1##*/}: ([a-z0-9_-]+: )?$(re "$file")$where" "$name" -- "$@"
	cmp -s "$file" "$T/.saved" && [ "$(stat -c %a "$file")" = "$mode" ]
	ok $? "$name: $(basename "$file") is byte-identical afterwards"
}

# broken_defaults TEXT NAME TOOL COMMAND...: broken, with defaults.conf
# holding TEXT (mode 0640); the test is named "COMMAND: defaults.conf NAME".
broken_defaults() {
	local text=$1 name=$2 df=$MAST_CONFIG_DIR/defaults.conf
	shift 2
	printf '%s\n' "$text" >"$df"
	chmod 640 "$df"
	broken "$df" "$2: defaults.conf $name" -- "$@"
}

# re TEXT: an ERE matching TEXT literally.
re() { printf '%s' "$1" | sed 's/[].[\\()*+?{}|^$]/\\&/g'; }

# q TEXT: TEXT as the tools quote it: printable ASCII kept, '\' doubled,
# every other byte as \xNN.
q() {
	perl -e '$_ = shift; s/\\/\\\\/g;
		s/([^\x20-\x7e])/sprintf("\\x%02x", ord $1)/ge; print' -- "$1"
}

# rep N TEXT: TEXT N times.
rep() { local i s=; for ((i = 0; i < $1; i++)); do s+=$2; done; printf '%s' "$s"; }

# need_root WHY: root, or one visible skip and the end of the file.
need_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	skip "$1 needs root"
	done_testing
	exit
}

# as USER CMD...: CMD run as USER, with USER's own group only (what a
# less privileged user, such as local_user, may do).
as() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"
}

# fp FILE: what a file is: its checksum, owner, group and mode.
fp() { printf '%s %s' "$(sha256sum <"$1" | cut -d' ' -f1)" "$(stat -c '%U:%G %a' "$1")"; }

# libssh2_built: the version of libssh2 the tools were built with, as
# configure found it; rsa_signs: that one signs RSA user keys with
# rsa-sha2 (1.11.0 and later), so RSA identities are accepted.
libssh2_built() { sed -n 's/^LIBSSH2_VERSION = //p' "$top/config.mk" 2>/dev/null; }
rsa_signs() {
	[ "$(printf '%s\n' 1.11.0 "$(libssh2_built)" | sort -V | head -n 1)" = 1.11.0 ]
}

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# wait_for SECONDS CMD...: until CMD succeeds; 1 on timeout.
wait_for() {
	local deadline=$(($(ms_now) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(ms_now)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# alive PID: a process that is not a zombie (an orphan's zombie may wait
# a while for init).
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"; }

# family PID: a process and all its descendants.
family() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do family "$c"; done
}

# wait_all PID...: waits for each; $failed is how many did not exit 0.
wait_all() {
	local p
	failed=0
	for p; do wait "$p" || failed=$((failed + 1)); done
}

# end_procs PID...: SIGTERM, then up to 5 s for them to be gone, then
# SIGKILL: a test's servers are gone before the next test starts, even
# on a loaded machine.
end_procs() {
	local p i
	kill "$@" 2>/dev/null
	for i in $(seq 50); do
		for p; do alive "$p" && break; done
		alive "$p" || break
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null
	wait "$@" 2>/dev/null
	return 0
}

# kill_wait PID: ends a background process of the test, and reaps it.
kill_wait() { { kill "$1" && wait "$1"; } 2>/dev/null; }

# hold FILE [pid]: a background process, $holder, holds an flock on FILE
# (with "pid", writing its pid into it as a tunnel does into its
# pidfile) until kill_wait "$holder".
held() { ! flock -n "$1" true; }
hold() {
	if [ "${2:-}" = pid ]; then
		(exec 9>"$1" && flock 9 && echo "$BASHPID" >&9 && exec sleep 30) &
	else
		(exec 9>"$1" && flock 9 && exec sleep 30) &
	fi
	holder=$!
	cleanup "kill $holder 2>/dev/null"
	wait_for 5 held "$1"
}

# spool_hold SITE JOB: a background process, $holder, claims JOB of
# SITE's spool as a tunnel sending it does (tests/spool-put hold), until
# spool_release.
spool_hold() {
	mkfifo "$T/.hold"
	"$top/tests/spool-put" hold "$MAST_SPOOL_DIR" "$1" "$2" <"$T/.hold" \
		>"$T/.held" &
	holder=$!
	exec 3>"$T/.hold"
	cleanup "kill $holder 2>/dev/null"
	wait_for 10 grep -q held "$T/.held"
}
spool_release() {
	exec 3>&-
	wait "$holder"
	rm -f "$T/.hold" "$T/.held"
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
