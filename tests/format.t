#!/bin/bash
# Every C file is as the project's .clang-format says: one test per file,
# so that a failure names the file and the first lines that differ.
. "$(dirname "$0")/lib.sh"

cd "$top" || exit 1
if [ -d .git ]; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find bin lib tests -name '*.[ch]' | sort)
fi
[ -n "$files" ]
ok $? "there are C files to check"
for f in $files; do
	clang-format --style=file "$f" | diff -u "$f" - >"$T/diff"
	ok $? "$f is formatted"
	[ -s "$T/diff" ] && diag "$(head -20 "$T/diff")" "fix: clang-format -i $f"
done
done_testing
