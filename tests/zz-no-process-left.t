#!/bin/bash
# Runs last: no test left a tunnel, sshd, fake printer or proxy behind.
# A leftover belongs to a test whose scratch directory is gone: its
# arguments name a missing /tmp/opt-test.* or its files there are
# deleted.  (Tests still running beside this one are not leftovers, nor
# are those of a suite running meanwhile with a /tmp of its own, as
# make check-debian13 has: each process is judged by what it sees.)
. "$(dirname "$0")/lib.sh"

left=
for pid in $(ps -eo pid=); do
	[ "$pid" = $$ ] && continue
	args=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
	dir=$(printf '%s' "$args" | grep -o '/tmp/opt-test\.[A-Za-z0-9]*' | head -1)
	from=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | sed -n 's/^OPT_TEST=//p')
	# Its directory as the process sees it (its root and its mounts): a
	# test suite running meanwhile in a chroot or a mount namespace of
	# its own, with a /tmp of its own, is not a leftover of this one.
	if [ -n "$dir" ] && [ ! -d "/proc/$pid/root$dir" ]; then
		left="$left$pid $args (of ${from:-?}); "
	elif ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'opt-test\..*(deleted)'; then
		left="$left$pid $args (of ${from:-?}); "
	fi
done
is "$left" "" "no process of a finished test is left running"
done_testing
