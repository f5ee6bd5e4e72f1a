#!/bin/bash
# Every man page formats without a groff warning, and the SYNOPSIS of
# each section-1 page says what the tool's usage() says, form by form;
# every program installed in sbin has a section-8 page whose SYNOPSIS
# holds its usage line.
. "$(dirname "$0")/lib.sh"

# render PAGE: the page as plain text, 200 columns wide where man(1)
# allows it, without overstrike.
render() {
	local text=
	if command -v man >/dev/null; then
		text=$(MANWIDTH=200 MANPAGER=cat PAGER=cat man -l "$1" 2>/dev/null)
	fi
	if [ -z "$text" ]; then
		text=$(groff -mandoc -Tutf8 -rLL=200n "$1" 2>/dev/null)
	fi
	printf '%s\n' "$text" | sed 's/.\x08//g'
}

# squeeze: whitespace runs become one space, lines are trimmed.
squeeze() {
	sed -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' | grep -v '^$'
}

pages=$(ls "$top"/man/*.[1-8] 2>/dev/null)
[ -n "$pages" ]
ok $? "man/ has pages"

for page in $pages; do
	name=${page##*/}
	run groff -mandoc -ww -z -Tutf8 "$page"
	if [ "$rc" = 0 ] && [ -z "$err" ]; then
		ok 0 "$name: groff -ww prints no warning"
	else
		ok 1 "$name: groff -ww prints no warning"
		diag "exit $rc" "$err"
	fi
done

for page in $(printf '%s\n' $pages | grep '\.1$'); do
	name=${page##*/}
	tool=${name%.1}
	if ! command -v "$tool" >/dev/null; then
		skip "$name: $tool is not built"
		continue
	fi
	run "$tool" --help
	is "$rc:$err" "0:" "$name: $tool --help exits 0, silent on stderr"
	usage=$(printf '%s\n' "$out" | sed 's/^usage: //' | squeeze)
	synopsis=$(render "$page" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
		sed '1d;$d')
	flat=$(printf '%s\n' "$synopsis" | squeeze | tr '\n' ' ')
	missing=
	while IFS= read -r line; do
		[[ " $flat" == *" $line"* ]] || missing="$missing$line"$'\n'
	done <<<"$usage"
	if [ -n "$usage" ] && [ -z "$missing" ]; then
		ok 0 "$name: every line of usage() is in SYNOPSIS"
	else
		ok 1 "$name: every line of usage() is in SYNOPSIS"
		diag "not in SYNOPSIS:" "$missing" "SYNOPSIS:" "$synopsis"
	fi
	is "$(printf '%s\n' "$synopsis" | squeeze | grep -c "^$tool ")" \
		"$(printf '%s\n' "$usage" | grep -c "^$tool ")" \
		"$name: SYNOPSIS has as many forms as usage()"
done

# sbin_program NAME: the file installed as /usr/sbin/NAME (the
# Makefile's SCRIPTS and MAST_UTILS), and the argument that prints its
# usage.
sbin_program() {
	case $1 in
	mast-utils) printf '%s\n' "$top/etc/mast-utils.mk" usage ;;
	*) printf '%s\n' "$top/scripts/$1" --help ;;
	esac
}

for prog in "$top"/scripts/opt-* "$top"/scripts/mast* mast-utils; do
	name=${prog##*/}
	[ -f "$top/man/$name.8" ]
	ok $? "$name has a section-8 page"
done

# mast-utils is a make program: not a sub-make of `make check` (no
# "Entering directory" line before its usage).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
for page in $(printf '%s\n' $pages | grep '\.8$'); do
	name=${page##*/}
	tool=${name%.8}
	{ read -r file; read -r arg; } < <(sbin_program "$tool")
	run "$file" "$arg"
	is "$rc:$err" "0:" "$name: $tool $arg exits 0, silent on stderr"
	usage=$(printf '%s\n' "$out" | sed -n '1s/^usage: //p' | squeeze)
	synopsis=$(render "$page" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
		sed '1d;$d' | squeeze | tr '\n' ' ')
	if [ -n "$usage" ] && [[ " $synopsis" == *" $usage"* ]]; then
		ok 0 "$name: the usage line is in SYNOPSIS"
	else
		ok 1 "$name: the usage line is in SYNOPSIS"
		diag "usage: $usage" "SYNOPSIS: $synopsis"
	fi
done

done_testing
