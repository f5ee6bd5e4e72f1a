#!/bin/bash
# The fuzz targets, without libFuzzer, over their corpus and every input
# that once crashed one (tests/fuzz/crashers/TARGET-*): none may crash.
. "$(dirname "$0")/lib.sh"

for t in conf legacy state valid; do
	bin=$top/tests/fuzz/replay-$t
	files=("$top/tests/fuzz/corpus/$t"/* "$top"/tests/fuzz/crashers/"$t"-*)
	set -- ; for f in "${files[@]}"; do [ -f "$f" ] && set -- "$@" "$f"; done
	run "$bin" "$@"
	is "$rc" 0 "$t: $# inputs replayed without a crash"
	is "$(printf '%s\n' "$out" | grep -c '^ok ')" "$#" "$t: every input ran"
done
done_testing
