#!/bin/bash
# mast-utils (etc/mast-utils.mk), mast's make interface over the opt
# tools: every target with its variables and without, printing mast's
# lines in mast's printf formats (checked here against those formats,
# written out), values that reach the tools as one argument each and
# never run, and a makefile that reads nothing but itself.
# mast-compat.t runs OPT's daemon's calls over running tunnels.
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

# mast's formats, as its makefile printed them (printf of bash, here
# of the shell: they count bytes alike).
host_line() { printf '\t%-50s%s\n' "$1" "$2"; }
rule_line() { printf '\t%-45s%-15s\t%s\n' "$1" "$2" "# $3"; }
said_line() { printf '\t%-50s\t%s\n' "$1" "$2"; }

# --- every target, with good variables ------------------------------------
succeeds "add-host" -- mu add-host NAME=nautilus REMOTE_HOST=203.0.113.10
is "$out" "$(printf 'Adding host…\n\t%-50s%s\t%s' nautilus ' 203.0.113.10' added)" \
	"add-host: mast's two lines"
succeeds "add-host INTERACTIVE=false, no terminal" -- \
	mu add-host NAME=ship REMOTE_HOST=ship.example.net INTERACTIVE=false </dev/null
is "$out" "$(printf 'Adding host…\n\t%-50s%s\t%s' ship ' ship.example.net' added)" \
	"INTERACTIVE=false: the same, no question"
[ -f "$MAST_CONFIG_DIR/ship/site.conf" ]
ok $? "...and the site is made (opt-site add)"
succeeds "list-hosts" -- mu list-hosts
is "$out" "$(host_line nautilus 203.0.113.10; host_line ship ship.example.net)" \
	"list-hosts: mast's line for each site, sorted"

run mu add-host NAME=nautilus REMOTE_HOST=203.0.113.11
is "$rc" 2 "add-host of an existing site fails"
like "$(printf '%s\n' "$err" | head -n 1)" '^opt-site: nautilus: ' "with opt-site's message"
like "$err" "Error 73" "and opt-site's status in make's line"
run mu add-host 'NAME=Bad Name' REMOTE_HOST=10.0.0.1
like "$rc:$err" "^2:opt-site: site 'Bad Name' is not a valid site id" "a bad NAME is opt-site's to refuse"

succeeds "add-channel" -- mu add-channel NAME=nautilus PRINTER=192.168.1.20 'DESC=Accounting HP'
p1=$(opt-channel list -H nautilus | awk -F '\t' '$2 == 1 { print $3 }')
is "$out" "$(printf 'Adding channel…\n'; said_line "L *:$p1:192.168.1.20:9100 # Accounting HP" added)" \
	"add-channel: mast's rule, with the port opt-channel gave"
succeeds "add-channel with PRINTER:PORT, no DESC" -- mu add-channel NAME=nautilus PRINTER=192.168.1.21:9101
p2=$(opt-channel list -H nautilus | awk -F '\t' '$2 == 2 { print $3 }')
is "$out" "$(printf 'Adding channel…\n'; said_line "L *:$p2:192.168.1.21:9101 # " added)" \
	"add-channel without DESC: mast's empty comment"
succeeds "add-channel to another site" -- mu add-channel NAME=ship PRINTER=10.1.1.5 INTERACTIVE=false
p3=$(opt-channel list -H ship | awk -F '\t' '$2 == 1 { print $3 }')
succeeds "list-channels" -- mu list-channels
is "$out" "$(host_line nautilus 203.0.113.10
	rule_line "L *:$p1:192.168.1.20:9100" 1 'Accounting HP'
	rule_line "L *:$p2:192.168.1.21:9101" 2 ''
	host_line ship ship.example.net
	rule_line "L *:$p3:10.1.1.5:9100" 1 '')" \
	"list-channels without NAME: each site's line, then its rules with opt's ids"
succeeds "list-channels NAME=" -- mu list-channels NAME=nautilus
is "$out" "$(rule_line "L *:$p1:192.168.1.20:9100" 1 'Accounting HP'
	rule_line "L *:$p2:192.168.1.21:9101" 2 '')" \
	"list-channels NAME=: that site's rules only, no site line"
succeeds "list-channels ' NAME=' (a space first, as OPT's daemon gives it)" -- \
	mu list-channels ' NAME=nautilus'
is "$out" "$(rule_line "L *:$p1:192.168.1.20:9100" 1 'Accounting HP'
	rule_line "L *:$p2:192.168.1.21:9101" 2 '')" "...the same"
run mu list-channels NAME=nowhere
like "$rc:$err" "^2:opt-channel: nowhere: no such site" "list-channels of no such site fails"

succeeds "remove-channel" -- mu remove-channel NAME=nautilus ID=1
is "$out" "$(printf 'Removing channel…\n'; said_line "L *:$p1:192.168.1.20:9100 # Accounting HP" removed)" \
	"remove-channel ID=1: the id list-channels showed; mast's line"
run mu remove-channel NAME=nautilus ID=1
like "$rc:$err" "^2:opt-channel: nautilus: channel 1: no such channel" "removing it again fails"
run mu remove-channel NAME=nautilus ID=one
is "$rc" 2 "a bad ID fails"

mkdir -p "$MAST_LOG_DIR"
: >"$MAST_LOG_DIR/nautilus.log"
: >"$MAST_LOG_DIR/ship.log"
succeeds "list-logs" -- mu list-logs
is "$out" "$(host_line nautilus.log "$MAST_LOG_DIR/nautilus.log"; host_line ship.log "$MAST_LOG_DIR/ship.log")" \
	"list-logs: mast's line for each log, its name and its path"

succeeds "remove-host" -- mu remove-host NAME=ship
is "$out" "$(printf 'Removing host…\n\t ship\t\tdone')" "remove-host: mast's lines"
[ ! -e "$MAST_CONFIG_DIR/ship" ]
ok $? "the site is gone"
run mu remove-host NAME=ship INTERACTIVE=false
like "$rc:$err" "^2:opt-site: ship: no such site" "remove-host of no such site fails"

# --- values are data: each reaches the tool as one argument --------------
mkdir "$T/fakebin"
for tool in opt-site opt-channel; do
	cat >"$T/fakebin/$tool" <<-'EOF'
	#!/bin/sh
	{ echo "${0##*/} $#"; for a; do printf '<%s>\n' "$a"; done; } >>"$ARGS_FILE"
	EOF
	chmod +x "$T/fakebin/$tool"
done
export ARGS_FILE=$T/args
# args TARGET VARIABLES...: each tool the target ran, and its arguments.
args() { rm -f "$ARGS_FILE"; OPT_BIN=$T/fakebin mu "$@" >/dev/null 2>&1; cat "$ARGS_FILE" 2>/dev/null; }

evil_name='nau tilus; touch '$T'/pwned-1'
evil_host='$(touch '$T'/pwned-2)'
evil_printer='`touch '$T'/pwned-3` $(shell touch '$T'/pwned-4)'
evil_desc="It's \"q\"; \$(touch $T/pwned-5) \$\$HOME \${HOME} \$(NAME) -x"
show() { printf 'opt-site 4\n<show>\n<-H>\n<-->\n<%s>' "$1"; }
is "$(args add-host "NAME=$evil_name" "REMOTE_HOST=$evil_host")" \
	"$(printf 'opt-site 5\n<add>\n<-q>\n<-->\n<%s>\n<%s>' "$evil_name" "$evil_host")" \
	"add-host: NAME and REMOTE_HOST as two arguments, unchanged"
is "$(args add-channel "NAME=$evil_name" "PRINTER=$evil_printer" "DESC=$evil_desc")" \
	"$(printf 'opt-channel 6\n<add>\n<-q>\n<--description=%s>\n<-->\n<%s>\n<%s>\n' \
		"$evil_desc" "$evil_name" "$evil_printer"
	printf 'opt-channel 4\n<list>\n<-H>\n<-->\n<%s>\n' "$evil_name"; show "$evil_name")" \
	"add-channel: DESC, NAME and PRINTER, one argument each, unchanged; then the new rule's listing"
is "$(args remove-channel NAME=-x 'ID=1; touch x')" \
	"$(printf 'opt-channel 4\n<list>\n<-H>\n<-->\n<-x>\nopt-channel 5\n<remove>\n<-q>\n<-->\n<-x>\n<1; touch x>\n'; show -x)" \
	"remove-channel: a NAME like an option comes after --"
is "$(args remove-host "NAME=$evil_name")" \
	"$(printf 'opt-site 5\n<remove>\n<-q>\n<--force>\n<-->\n<%s>' "$evil_name")" \
	"remove-host: opt-site remove --force -- NAME"
is "$(args list-channels "NAME=$evil_host")" \
	"$(printf 'opt-channel 4\n<list>\n<-H>\n<-->\n<%s>\n' "$evil_host"; show "$evil_host")" \
	"list-channels: NAME as one argument"
is "$(args list-hosts)" "$(printf 'opt-site 2\n<list>\n<-H>')" "list-hosts: opt-site list -H"
is "$(ls "$T" | grep -c pwned)" 0 "nothing in the values ran"

# The real tools, with a description full of shell and make syntax.
succeeds "add-channel with a hostile DESC" -- \
	mu add-channel NAME=nautilus PRINTER=192.168.1.30 "DESC=$evil_desc"
run opt-channel list -H nautilus
is "$(printf '%s\n' "$out" | awk -F '\t' '$4 == "192.168.1.30" { print $6 }')" "$evil_desc" \
	"the description is stored as given, byte for byte"
p4=$(printf '%s\n' "$out" | awk -F '\t' '$4 == "192.168.1.30" { print $3 }')
id4=$(printf '%s\n' "$out" | awk -F '\t' '$4 == "192.168.1.30" { print $2 }')
run mu list-channels NAME=nautilus
is "$(printf '%s\n' "$out" | grep 192.168.1.30)" \
	"$(rule_line "L *:$p4:192.168.1.30:9100" "$id4" "It's \"q\"; \$(touch $T/pwned-5) \$\$HOME \${HOME} \$(NAME) -x")" \
	"list-channels shows it as mast did: blanks squeezed, each # a space (none here)"
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
