#!/bin/bash
# mast-utils (etc/mast-utils.mk), mast's make interface over the opt
# tools: every target with its variables and without, values that reach
# the tools as one argument each and never run, and a makefile that
# reads nothing but itself.
. "$(dirname "$0")/lib.sh"

mk=$top/etc/mast-utils.mk
# Not a sub-make of `make check`: no "Entering directory", no jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
export OPT_BIN
mu() { make -f "$mk" "$@"; }

# --- the file itself ------------------------------------------------------
is "$(head -n 1 "$mk")" "#!/usr/bin/make -f" "the first line makes it a make script"
[ -x "$mk" ]
ok $? "it is executable"

succeeds "no target: usage" -- mu
like "$out" '^usage: mast-utils TARGET' "usage comes first"
for t in list-hosts add-host remove-host list-channels add-channel remove-channel list-logs; do
	like "$out" "  $t" "usage names $t"
done
usage=$out
succeeds "usage" -- mu usage
is "$out" "$usage" "usage is the default goal"
succeeds "run as a program" -- "$mk" usage
is "$out" "$usage" "run as a program, it is the same"

# --- missing variables: one line, make's status, nothing done ------------
refused 2 '^[^ ]*mast-utils\.mk:[0-9]+: \*\*\* mast-utils: add-host: NAME= is missing' \
	"add-host without NAME" -- mu add-host REMOTE_HOST=10.0.0.1
refused 2 'mast-utils: add-host: REMOTE_HOST= is missing: the site.s SSH server' \
	"add-host without REMOTE_HOST" -- mu add-host NAME=nautilus
refused 2 'mast-utils: add-host: NAME= is missing' \
	"add-host with nothing" -- mu add-host
refused 2 'mast-utils: add-host: REMOTE_HOST= is missing' \
	"add-host with an empty REMOTE_HOST" -- mu add-host NAME=nautilus REMOTE_HOST=
refused 2 'mast-utils: remove-host: NAME= is missing' \
	"remove-host without NAME" -- mu remove-host
refused 2 'mast-utils: add-channel: NAME= is missing' \
	"add-channel without NAME" -- mu add-channel PRINTER=192.168.1.20
refused 2 'mast-utils: add-channel: PRINTER= is missing' \
	"add-channel without PRINTER" -- mu add-channel NAME=nautilus DESC=x
refused 2 'mast-utils: remove-channel: NAME= is missing' \
	"remove-channel without NAME" -- mu remove-channel ID=1
refused 2 'mast-utils: remove-channel: ID= is missing' \
	"remove-channel without ID" -- mu remove-channel NAME=nautilus
NAME=nautilus REMOTE_HOST=10.0.0.1 refused 2 'mast-utils: add-host: NAME= is missing' \
	"the environment is not the command line (as with mast)" -- mu add-host
refused 2 "No rule to make target 'frobnicate'" "an unknown target" -- mu frobnicate

# --- every target, with good variables ------------------------------------
succeeds "add-host" -- mu add-host NAME=nautilus REMOTE_HOST=203.0.113.10
is "$out" "nautilus: added, opt@203.0.113.10 port 22" "add-host says what opt-site add says"
succeeds "add-host INTERACTIVE=false, no terminal" -- \
	mu add-host NAME=ship REMOTE_HOST=ship.example.net INTERACTIVE=false </dev/null
is "$out" "ship: added, opt@ship.example.net port 22" "INTERACTIVE=false: the same, no question"
run opt-site list -H
sites=$out
succeeds "list-hosts" -- mu list-hosts
is "$out" "$sites" "list-hosts: opt-site list -H"

run mu add-host NAME=nautilus REMOTE_HOST=203.0.113.11
is "$rc" 2 "add-host of an existing site fails"
like "$(printf '%s\n' "$err" | head -n 1)" '^opt-site: nautilus: ' "with opt-site's message"
like "$err" "Error 73" "and opt-site's status in make's line"
run mu add-host 'NAME=Bad Name' REMOTE_HOST=10.0.0.1
like "$rc:$err" "^2:opt-site: site 'Bad Name' is not a valid site id" "a bad NAME is opt-site's to refuse"

succeeds "add-channel" -- mu add-channel NAME=nautilus PRINTER=192.168.1.20 'DESC=Accounting HP'
like "$out" '^nautilus: channel 1: port [0-9]+ -> 192.168.1.20:9100$' "add-channel says the port"
succeeds "add-channel with PRINTER:PORT, no DESC" -- mu add-channel NAME=nautilus PRINTER=192.168.1.21:9101
succeeds "add-channel to another site" -- mu add-channel NAME=ship PRINTER=10.1.1.5 INTERACTIVE=false
run opt-channel list -H
all=$out
succeeds "list-channels" -- mu list-channels
is "$out" "$all" "list-channels without NAME: every site's (opt-channel list -H)"
succeeds "list-channels NAME=" -- mu list-channels NAME=nautilus
is "$(printf '%s\n' "$out" | cut -f 1,2,4,5,6 | tr '\t' ' ')" \
	"$(printf 'nautilus 1 192.168.1.20 9100 Accounting HP\nnautilus 2 192.168.1.21 9101 ')" \
	"list-channels NAME=: that site's channels only"
run mu list-channels NAME=nowhere
like "$rc:$err" "^2:opt-channel: nowhere: no such site" "list-channels of no such site fails"

succeeds "remove-channel" -- mu remove-channel NAME=nautilus ID=1
like "$out" '^nautilus: channel 1 removed, port [0-9]+ is free$' "remove-channel says so"
run mu remove-channel NAME=nautilus ID=1
like "$rc:$err" "^2:opt-channel: nautilus: channel 1: no such channel" "removing it again fails"
run mu remove-channel NAME=nautilus ID=one
is "$rc" 2 "a bad ID fails"

mkdir -p "$MAST_LOG_DIR"
: >"$MAST_LOG_DIR/nautilus.log"
: >"$MAST_LOG_DIR/ship.log"
succeeds "list-logs" -- mu list-logs
is "$out" "$(printf 'nautilus\t%s\nship\t%s' "$MAST_LOG_DIR/nautilus.log" "$MAST_LOG_DIR/ship.log")" \
	"list-logs: SITE TAB FILE"

succeeds "remove-host" -- mu remove-host NAME=ship
is "$out" "ship: removed" "remove-host says so"
[ ! -e "$MAST_CONFIG_DIR/ship" ]
ok $? "the site is gone"
run mu remove-host NAME=ship INTERACTIVE=false
like "$rc:$err" "^2:opt-site: ship: no such site" "remove-host of no such site fails"

# --- values are data: each reaches the tool as one argument --------------
mkdir "$T/fakebin"
for tool in opt-site opt-channel; do
	cat >"$T/fakebin/$tool" <<-'EOF'
	#!/bin/sh
	{ echo "${0##*/} $#"; for a; do printf '<%s>\n' "$a"; done; } >"$ARGS_FILE"
	EOF
	chmod +x "$T/fakebin/$tool"
done
export ARGS_FILE=$T/args
args() { rm -f "$ARGS_FILE"; OPT_BIN=$T/fakebin mu "$@" >/dev/null 2>&1; cat "$ARGS_FILE" 2>/dev/null; }

evil_name='nau tilus; touch '$T'/pwned-1'
evil_host='$(touch '$T'/pwned-2)'
evil_printer='`touch '$T'/pwned-3` $(shell touch '$T'/pwned-4)'
evil_desc="It's \"q\"; \$(touch $T/pwned-5) \$\$HOME \${HOME} \$(NAME) -x"
is "$(args add-host "NAME=$evil_name" "REMOTE_HOST=$evil_host")" \
	"$(printf 'opt-site 4\n<add>\n<-->\n<%s>\n<%s>' "$evil_name" "$evil_host")" \
	"add-host: NAME and REMOTE_HOST as two arguments, unchanged"
is "$(args add-channel "NAME=$evil_name" "PRINTER=$evil_printer" "DESC=$evil_desc")" \
	"$(printf 'opt-channel 5\n<add>\n<--description=%s>\n<-->\n<%s>\n<%s>' \
		"$evil_desc" "$evil_name" "$evil_printer")" \
	"add-channel: DESC, NAME and PRINTER, one argument each, unchanged"
is "$(args remove-channel NAME=-x 'ID=1; touch x')" \
	"$(printf 'opt-channel 4\n<remove>\n<-->\n<-x>\n<1; touch x>')" \
	"remove-channel: a NAME like an option comes after --"
is "$(args remove-host "NAME=$evil_name")" \
	"$(printf 'opt-site 4\n<remove>\n<--force>\n<-->\n<%s>' "$evil_name")" \
	"remove-host: opt-site remove --force -- NAME"
is "$(args list-channels "NAME=$evil_host")" \
	"$(printf 'opt-channel 4\n<list>\n<-H>\n<-->\n<%s>' "$evil_host")" \
	"list-channels: NAME as one argument"
is "$(args list-hosts)" "$(printf 'opt-site 2\n<list>\n<-H>')" "list-hosts: opt-site list -H"
is "$(ls "$T" | grep -c pwned)" 0 "nothing in the values ran"

# The real tools, with a description full of shell and make syntax.
succeeds "add-channel with a hostile DESC" -- \
	mu add-channel NAME=nautilus PRINTER=192.168.1.30 "DESC=$evil_desc"
run opt-channel list -H nautilus
is "$(printf '%s\n' "$out" | awk -F '\t' '$4 == "192.168.1.30" { print $6 }')" "$evil_desc" \
	"the description is stored as given, byte for byte"
is "$(ls "$T" | grep -c pwned)" 0 "nothing in it ran"

# --- nothing of this file can be replaced from the command line ----------
before=$(mu list-hosts)
run mu list-hosts SHELL=/bin/false '.SHELLFLAGS=-c touch '"$T"'/pwned-6;' \
	'opt=$(shell touch '"$T"'/pwned-7)' 'from_command_line=x' 'need=$(shell touch '"$T"'/pwned-8)'
is "$rc:$out:$err" "0:$before:" "SHELL and the file's own variables given on the command line change nothing"
is "$(ls "$T" | grep -c pwned)" 0 "and run nothing"
run mu list-hosts "OPT_BIN=$T/fakebin"
is "$rc:$out" "0:$before" "OPT_BIN comes from the environment only"
succeeds "with OPT_BIN unset, the tools come from PATH" -- \
	env -u OPT_BIN PATH="$OPT_BIN:$PATH" "$mk" list-hosts
is "$out" "$before" "the same hosts"

# --- it never reads another makefile --------------------------------------
mkdir "$T/proj"
for f in Makefile makefile GNUmakefile; do
	printf 'all:\n\ttouch %s/ran-%s\n%%::\n\ttouch %s/ran-%s-$@\n' "$T" "$f" "$T" "$f" >"$T/proj/$f"
done
(cd "$T/proj" && make -f "$mk" list-hosts >/dev/null 2>&1 && make -f "$mk" >/dev/null 2>&1 &&
	"$mk" list-logs >/dev/null 2>&1)
ok $? "it works from a directory with a Makefile"
is "$(ls "$T" | grep -c '^ran-')" 0 "and never runs that Makefile"
run sh -c 'cd "$1" && make -f etc/mast-utils.mk usage' sh "$top"
is "$rc:$out" "0:$usage" "from the project's top, make -f etc/mast-utils.mk is mast-utils"

done_testing
