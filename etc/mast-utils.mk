#!/usr/bin/make -f
# mast-utils: mast's make interface, kept for the scripts that use it,
# over the opt tools.  Installed as /usr/sbin/mast-utils; run it as
#	mast-utils TARGET [NAME=...] [REMOTE_HOST=...] [PRINTER=...] [DESC=...] [ID=...]
# or as make -f mast-utils.mk TARGET ...; see usage below and opt(7).
#
# Its targets print what mast's printed, line for line and with mast's
# printf formats (without mast's colours), so that what parsed mast's
# output, such as OPT's daemon, parses this; opt(7) says where it differs.
#
# Security: the values of the variables are data, never code.
#  - NAME, REMOTE_HOST, PRINTER, DESC, ID and INTERACTIVE are taken from
#    the command line only (as mast did, the environment is ignored),
#    with $(value): make expands nothing in them, so $(shell ...) is text.
#  - They reach the recipes as environment variables, quoted by the
#    shell ("$$NAME"), and each reaches its tool as one argument, after
#    "--" where it could be read as an option.  No value is ever pasted
#    into a command line.
#  - Every variable of this file is an override, so that none of them
#    (SHELL above all) can be replaced from the command line; OPT_BIN is
#    read from the environment only (sudo resets it).
#  - make's own options (--eval, -f) run anything: do not let untrusted
#    users run this file through sudo.

override SHELL := /bin/sh
override .SHELLFLAGS := -c
MAKEFLAGS += --no-builtin-rules --no-builtin-variables --no-print-directory
.SUFFIXES:
.DEFAULT_GOAL := usage
.PHONY: usage help list-hosts add-host remove-host list-channels \
	add-channel remove-channel list-logs

# No rule may remake this file (nor any other makefile).
$(MAKEFILE_LIST): ;

override from_command_line = $(if $(filter command line,$(origin $1)),$(value $1))
override from_environment = $(if $(filter environment,$(origin $1)),$(value $1))

override NAME := $(call from_command_line,NAME)
override REMOTE_HOST := $(call from_command_line,REMOTE_HOST)
override PRINTER := $(call from_command_line,PRINTER)
override DESC := $(call from_command_line,DESC)
override ID := $(call from_command_line,ID)
override INTERACTIVE := $(call from_command_line,INTERACTIVE)
override OPT_BIN := $(call from_environment,OPT_BIN)
override MAST_LOG_DIR := $(call from_environment,MAST_LOG_DIR)
export NAME REMOTE_HOST PRINTER DESC ID OPT_BIN MAST_LOG_DIR

# $(call opt,TOOL): the tool, from OPT_BIN when set, else from PATH.
override opt = "$${OPT_BIN:+$$OPT_BIN/}opt-$1"

# A missing variable stops make before anything runs, with one line.
override need = $(if $(filter $1,$(MAKECMDGOALS)),$(if $($2),,$(error \
	mast-utils: $1: $2= is missing: $3)))
$(call need,add-host,NAME,the new site's id (as in NAME=nautilus))
$(call need,add-host,REMOTE_HOST,the site's SSH server (as in REMOTE_HOST=203.0.113.10))
$(call need,remove-host,NAME,the site's id (see mast-utils list-hosts))
$(call need,add-channel,NAME,the site's id (see mast-utils list-hosts))
$(call need,add-channel,PRINTER,the printer's address on the site's LAN (as in PRINTER=192.168.1.20))
$(call need,remove-channel,NAME,the site's id (see mast-utils list-hosts))
$(call need,remove-channel,ID,the channel's id (see mast-utils list-channels))

usage help:
	@echo 'usage: mast-utils TARGET [VARIABLE=VALUE ...]'
	@echo '  list-hosts                          the sites and their hosts, as mast listed them'
	@echo '  add-host NAME= REMOTE_HOST=         add a site (opt-site add)'
	@echo '  remove-host NAME=                   stop the site'"'"'s tunnel, remove the site'
	@echo '  list-channels [NAME=]               the channels of a site, or of every site'
	@echo '  add-channel NAME= PRINTER= [DESC=]  add a channel to PRINTER[:PORT]'
	@echo '  remove-channel NAME= ID=            remove channel ID of the site'
	@echo '  list-logs                           each site'"'"'s log file'
	@echo '  usage                               this help'
	@echo 'INTERACTIVE= is accepted and ignored: mast-utils never asks anything.'
	@echo 'See opt(7), opt-site(1) and opt-channel(1).'

# mast's lines, made by awk from the lines of the opt tools, in three
# parts: after "#H", opt-site list -H (a header line for each site);
# after "#B", "SITE<TAB>BIND" for the sites' bind addresses; after "#C",
# opt-channel list -H.  MODE is list, add (the channel listening on
# $PORT) or remove (channel $ID).  A rule is mast's
# "L BIND:LISTEN:PRINTER:PORT", * for every interface.
override define mast_awk
function rule(f,    b, p) {
	b = bind[f[1]]
	if (b == "" || b == "0.0.0.0")
		b = "*"
	else if (b ~ /:/)
		b = "[" b "]"
	p = f[4]
	if (p ~ /:/)
		p = "[" p "]"
	return "L " b ":" f[3] ":" p ":" f[5]
}
# What mast's list-channels showed of a comment: blanks squeezed (by
# echo), then each # a space (by awk), then trimmed.
function shown(d) {
	gsub(/[ \t]+/, " ", d)
	gsub(/#/, " ", d)
	sub(/^ +/, "", d)
	sub(/ +$$/, "", d)
	return d
}
BEGIN { FS = "\t"; MODE = ENVIRON["MODE"] }
/^#[HBC]$$/ { part = substr($$0, 2); next }
$$0 == "" { next }
part == "H" { order[++nsites] = $$1; host[$$1] = $$2 }
part == "B" { bind[$$1] = $$2 }
part == "C" { chan[++nchans] = $$0 }
END {
	for (i = 1; i <= nchans; i++) {
		split(chan[i], f, "\t")
		if (MODE == "add" && f[3] == ENVIRON["PORT"])
			printf "\t%-50s\t%s\n", rule(f) " # " f[6], "added"
		else if (MODE == "remove" && f[2] == ENVIRON["ID"] + 0)
			printf "\t%-50s\t%s\n", rule(f) " # " f[6], "removed"
		else if (MODE == "list")
			rules[f[1]] = rules[f[1]] sprintf("\t%-45s%-15s\t%s\n", \
			    rule(f), f[2], "# " shown(f[6]))
	}
	if (MODE != "list")
		exit
	if (nsites == 0)
		printf "%s", rules[ENVIRON["NAME"]]
	for (i = 1; i <= nsites; i++)
		printf "\t%-50s%s\n%s", order[i], host[order[i]], rules[order[i]]
}
endef
export mast_awk

# $(call capture,VAR,TOOL,ARGS): VAR is what the tool printed; $st keeps
# the status of the first that failed (it reported why on stderr).
override capture = $1=$$($(call opt,$2) $3) || { r=$$?; [ "$$st" -ne 0 ] || st=$$r; }

# $(call mast,MODE): mast's lines for $hosts and $chans, with the bind
# addresses of the sites in $sites, one a line.
override mast = { echo '\#H'; printf '%s\n' "$$hosts"; echo '\#B'; \
	printf '%s\n' "$$sites" | while IFS= read -r s; do \
		[ -n "$$s" ] || continue; \
		$(call opt,site) show -H -- "$$s" | \
			S=$$s awk -F '\t' '$$1 == "bind" { print ENVIRON["S"] "\t" $$2 }'; \
	done; \
	echo '\#C'; printf '%s\n' "$$chans"; } | MODE=$1 awk "$$mast_awk"

list-hosts:
	@st=0; $(call capture,hosts,site,list -H); \
	printf '%s\n' "$$hosts" | awk -F '\t' 'NF { printf "\t%-50s%s\n", $$1, $$2 }'; \
	exit $$st

add-host:
	@printf 'Adding host…\n'
	@$(call opt,site) add -q -- "$$NAME" "$$REMOTE_HOST"
	@printf '\t%-50s%s\t%s\n' "$$NAME" " $$REMOTE_HOST" added

remove-host:
	@printf 'Removing host…\n'
	@$(call opt,site) remove -q --force -- "$$NAME"
	@printf '\t%s\t\t%s\n' " $$NAME" done

# Without NAME, mast printed a header line for each site (its /etc/mast
# always held its template too, so it never listed one file); with
# NAME, the site's rules alone.
list-channels:
	@st=0; hosts=; \
	if [ -n "$$NAME" ]; then \
		chans=$$($(call opt,channel) list -H -- "$$NAME") || exit $$?; \
		sites=$$NAME; \
	else \
		$(call capture,hosts,site,list -H); \
		$(call capture,chans,channel,list -H); \
		sites=$$(printf '%s\n' "$$chans" | cut -f 1 | uniq); \
	fi; \
	$(call mast,list); exit $$st

add-channel:
	@printf 'Adding channel…\n'
	@if [ -n "$$DESC" ]; then \
		PORT=$$($(call opt,channel) add -q --description="$$DESC" -- "$$NAME" "$$PRINTER"); \
	else \
		PORT=$$($(call opt,channel) add -q -- "$$NAME" "$$PRINTER"); \
	fi || exit $$?; \
	chans=$$($(call opt,channel) list -H -- "$$NAME") || exit $$?; \
	hosts=; sites=$$NAME; export PORT; $(call mast,add)

remove-channel:
	@printf 'Removing channel…\n'
	@chans=$$($(call opt,channel) list -H -- "$$NAME") || exit $$?; \
	$(call opt,channel) remove -q -- "$$NAME" "$$ID" || exit $$?; \
	hosts=; sites=$$NAME; $(call mast,remove)

# FILE and its path, for each log in the log directory.
list-logs:
	@dir=$${MAST_LOG_DIR:-/var/log/mast}; \
	for f in "$$dir"/*.log; do \
		[ -f "$$f" ] || continue; \
		printf '\t%-50s%s\n' "$${f##*/}" "$$f"; \
	done
