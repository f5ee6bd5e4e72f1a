#!/bin/bash
# Runs last: no test left a tunnel, sshd, fake printer or proxy behind.
. "$(dirname "$0")/lib.sh"

left=$(ps -eo pid=,args= | grep -E 'opt-tunnel: |opt-test\.|fake-printer' |
	grep -v -e grep -e "$T" -e "$$" || true)
is "$left" "" "no process of a test is left running"
done_testing
