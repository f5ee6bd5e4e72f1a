#!/bin/bash
# opt-queue refuses bad input: every command, option and argument, with
# the exit code of the contract (DESIGN.md 4: 64 usage, 65 a bad site or
# job id, 66 no such site or job), one stderr line that names the
# problem (hostile bytes quoted), nothing on stdout, and nothing changed
# on disk: neither the config tree nor the spool, and nothing logged.
. "$(dirname "$0")/lib.sh"

put="$top/tests/spool-put"
S=$MAST_SPOOL_DIR
U='\(see opt-queue --help\)$'
ID='is not a valid site id'

mkdir -m 0750 "$MAST_LOG_DIR"
opt-site add -q nautilus 127.0.0.1 >/dev/null
opt-site add -q zeta 127.0.0.1 >/dev/null
j1=$(printf 'first' | "$put" put "$S" nautilus 1)
j2=$(printf 'second' | "$put" put "$S" nautilus 2)
"$put" fail "$S" nautilus "$j2" "printer said no"
is "$j1 $j2" "0000000001 0000000002" "a site with a queued and a failed job"
# The spool as it is: paths, modes and contents.
spool_sum() {
	(cd "$S" && find . -printf '%p %m\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0r sha256sum) |
		sha256sum | cut -d' ' -f1
}
spool_before=$(spool_sum)

# ---- Usage (64) ---------------------------------------------------------
refused 64 "^opt-queue: missing command $U" "no command" -- opt-queue
refused 64 "^opt-queue: unknown command 'bogus' $U" "unknown command" -- \
	opt-queue bogus
refused 64 "^opt-queue: unknown command 'add' $U" "add is not a command" -- \
	opt-queue add nautilus 1
refused 64 "^opt-queue: unknown option '--bogus' $U" "unknown option" -- \
	opt-queue --bogus list
refused 64 "^opt-queue: unknown option '--bogus' $U" \
	"unknown option after the command" -- opt-queue list -H --bogus
refused 64 "^opt-queue: unknown option '-x' $U" "unknown short option" -- \
	opt-queue -x list
refused 64 "^opt-queue: unknown option '--port' $U" \
	"an opt-site option is unknown to opt-queue" -- opt-queue list --port 22
refused 64 "^opt-queue: unknown option '-1' $U" \
	"a job id starting with '-' is parsed as an option" -- \
	opt-queue show nautilus -1
refused 64 "^opt-queue: option '--json=1' takes no value $U" "--json=1" -- \
	opt-queue list --json=1
refused 64 "^opt-queue: option '-C' needs a value $U" "-C without a value" -- \
	opt-queue list -C
refused 64 "^opt-queue: -C: directory 'rel' is not an absolute path$" \
	"-C relative" -- opt-queue -C rel list
refused 64 "^opt-queue: MAST_SPOOL_DIR: directory 'rel' is not an absolute path$" \
	"MAST_SPOOL_DIR relative" -- env MAST_SPOOL_DIR=rel opt-queue list
refused 64 "^opt-queue: -H and --json are exclusive $U" "-H with --json" -- \
	opt-queue list -H --json
refused 64 "^opt-queue: -H and --json are exclusive $U" \
	"show -H --json" -- opt-queue show nautilus 1 -H --json
refused 64 "^opt-queue: -H and --json are for list and show $U" \
	"-H with remove" -- opt-queue remove nautilus 1 -H
refused 64 "^opt-queue: -H and --json are for list and show $U" \
	"--json with retry" -- opt-queue retry --json nautilus 1
refused 64 "^opt-queue: --all is an option of 'retry' only $U" \
	"--all with remove" -- opt-queue remove nautilus --all
refused 64 "^opt-queue: --all is an option of 'retry' only $U" \
	"--all with list" -- opt-queue list --all
refused 64 "^opt-queue: show needs SITE and JOB $U" "show without JOB" -- \
	opt-queue show nautilus
refused 64 "^opt-queue: show needs SITE and JOB $U" "show with two jobs" -- \
	opt-queue show nautilus 1 2
refused 64 "^opt-queue: remove needs SITE and JOB $U" "remove without JOB" -- \
	opt-queue remove nautilus
refused 64 "^opt-queue: remove needs SITE and JOB $U" "remove with two jobs" -- \
	opt-queue remove nautilus 1 2
refused 64 "^opt-queue: retry needs SITE and JOB, or SITE --all $U" \
	"retry without JOB" -- opt-queue retry nautilus
refused 64 "^opt-queue: retry needs SITE and JOB, or SITE --all $U" \
	"retry with JOB and --all" -- opt-queue retry nautilus 1 --all
refused 64 "^opt-queue: retry needs SITE and JOB, or SITE --all $U" \
	"retry --all without SITE" -- opt-queue retry --all

# ---- Bad site ids (65), no such site (66) -------------------------------
refused 65 "^opt-queue: site 'a b' $ID" "a site id with a space" -- \
	opt-queue show 'a b' 1
refused 65 "^opt-queue: site '' $ID" "an empty site id" -- \
	opt-queue retry '' 1
refused 65 "^opt-queue: site '\\.\\./x' $ID" "a path as site id" -- \
	opt-queue list ../x
refused 65 "^opt-queue: site 'Nautilus' $ID" "an upper-case site id" -- \
	opt-queue list Nautilus
refused_q 65 "^opt-queue: site 'na\\\\x1b' $ID" "an escape in a site id" -- \
	opt-queue show $'na\x1b' 1
for cmd in "list nosuch" "show nosuch 1" "retry nosuch 1" \
	"retry nosuch --all" "remove nosuch 1"; do
	# shellcheck disable=SC2086 # the command's words
	refused 66 "^opt-queue: nosuch: no such site$" "unknown site: $cmd" -- \
		opt-queue $cmd
done
refused 66 "^opt-queue: nosuch: no such site$" \
	"list: one unknown site among known ones, nothing listed" -- \
	opt-queue list nautilus nosuch zeta

# ---- Bad job ids (65), no such job (66) ---------------------------------
for id in 1x 0 '' ' 1' +1 0x1 1e3 00000000001 10000000000 12345678901; do
	refused 65 "^opt-queue: nautilus: job '$(re "$id")': not a job id$" \
		"job id '$id'" -- opt-queue show nautilus "$id"
done
refused_q 65 "^opt-queue: nautilus: job '1\\\\x0a': not a job id$" \
	"a newline in a job id" -- opt-queue retry nautilus $'1\n'
for cmd in show retry remove; do
	refused 66 "^opt-queue: nautilus: job 0000000099: no such job$" \
		"unknown job: $cmd" -- opt-queue "$cmd" nautilus 99
done
refused 66 "^opt-queue: nautilus: job 9999999999: no such job$" \
	"the highest job id, unknown" -- opt-queue show nautilus 9999999999
refused 66 "^opt-queue: zeta: job 0000000001: no such job$" \
	"a job of another site" -- opt-queue remove zeta 1

is "$(spool_sum)" "$spool_before" "the spool is as it was"
is "$(cat "$MAST_LOG_DIR"/*.log 2>/dev/null)" "" "nothing was logged"
run opt-queue list -H
is "$rc:$(printf '%s\n' "$out" | cut -f3,4 | tr '\t\n' ': ')" \
	"0:$j1:queued $j2:failed " "both jobs are still there, as they were"
done_testing
