#!/usr/bin/make -f
# mast-utils: mast's make interface, kept for the scripts that use it,
# over the opt tools.  Installed as /usr/sbin/mast-utils; run it as
#	mast-utils TARGET [NAME=...] [REMOTE_HOST=...] [PRINTER=...] [DESC=...] [ID=...]
# or as make -f mast-utils.mk TARGET ...; see usage below and opt(7).
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
	@echo '  list-hosts                          the sites, one a line (opt-site list -H)'
	@echo '  add-host NAME= REMOTE_HOST=         add a site (opt-site add)'
	@echo '  remove-host NAME=                   stop the site'"'"'s tunnel, remove the site'
	@echo '  list-channels [NAME=]               the channels of a site, or of all'
	@echo '  add-channel NAME= PRINTER= [DESC=]  add a channel to PRINTER[:PORT]'
	@echo '  remove-channel NAME= ID=            remove channel ID of the site'
	@echo '  list-logs                           each site'"'"'s log file'
	@echo '  usage                               this help'
	@echo 'INTERACTIVE= is accepted and ignored: mast-utils never asks anything.'
	@echo 'See opt(7), opt-site(1) and opt-channel(1).'

list-hosts:
	@$(call opt,site) list -H

add-host:
	@$(call opt,site) add -- "$$NAME" "$$REMOTE_HOST"

remove-host:
	@$(call opt,site) remove --force -- "$$NAME"

list-channels:
	@if [ -n "$$NAME" ]; then \
		$(call opt,channel) list -H -- "$$NAME"; \
	else \
		$(call opt,channel) list -H; \
	fi

add-channel:
	@if [ -n "$$DESC" ]; then \
		$(call opt,channel) add --description="$$DESC" -- "$$NAME" "$$PRINTER"; \
	else \
		$(call opt,channel) add -- "$$NAME" "$$PRINTER"; \
	fi

remove-channel:
	@$(call opt,channel) remove -- "$$NAME" "$$ID"

# SITE<TAB>FILE for each log in the log directory.
list-logs:
	@dir=$${MAST_LOG_DIR:-/var/log/mast}; \
	for f in "$$dir"/*.log; do \
		[ -f "$$f" ] || continue; \
		site=$${f##*/}; \
		printf '%s\t%s\n' "$${site%.log}" "$$f"; \
	done
