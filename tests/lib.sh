# TAP helpers for the integration tests, sourced by tests/*.t (bash).
#
# Each test gets a scratch tree in $T with MAST_CONFIG_DIR, MAST_RUN_DIR
# and MAST_LOG_DIR inside it, so tests never touch /etc/mast and can run
# side by side.  The plan is printed at the end (done_testing).

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${OPT_BIN:=$top/bin}"
PATH=$OPT_BIN:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/opt-test.XXXXXX")
export MAST_CONFIG_DIR=$T/etc MAST_RUN_DIR=$T/run MAST_LOG_DIR=$T/log
export MAST_LOCK_TIMEOUT=20
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

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
