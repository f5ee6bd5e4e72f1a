#!/bin/bash
# opt-queue over spools built through lib/spool.h (tests/spool-put, as a
# tunnel stores jobs): list in id order with state, -H and --json, show,
# retry and remove (refused while the job is being sent, logged), and,
# as root, a planted symbolic link refused.  (Bad input:
# tests/queue-bad-input.t.)
. "$(dirname "$0")/lib.sh"

put="$top/tests/spool-put"
S=$MAST_SPOOL_DIR

mkdir -m 0750 "$MAST_LOG_DIR"
opt-site add -q nautilus 127.0.0.1 >/dev/null
opt-site add -q zeta 127.0.0.1 >/dev/null
head -c 300000 /dev/urandom >"$T/job1"
j1=$("$put" put "$S" nautilus 1 10.1.2.3 <"$T/job1")
j2=$(printf 'second' | "$put" put "$S" nautilus 2)
j3=$(printf 'third' | "$put" put "$S" nautilus 1)
"$put" fail "$S" nautilus "$j3" "printer said no"
is "$j1 $j2 $j3" "0000000001 0000000002 0000000003" "site-wide ids, in order"
is "$(sha256sum <"$S/nautilus/1/$j1.data" | cut -d' ' -f1)" \
	"$(sed -n 's/^sha256=//p' "$S/nautilus/1/$j1.job")" \
	"the stored sha256 is sha256sum's"

run opt-queue list -H
is "$rc" 0 "list"
is "$(printf '%s\n' "$out" | cut -f1-5)" \
	"$(printf 'nautilus\t1\t%s\tqueued\t300000\nnautilus\t2\t%s\tqueued\t6\nnautilus\t1\t%s\tfailed\t5' "$j1" "$j2" "$j3")" \
	"-H: site, channel, job, state, bytes, by id; zeta has none"
run opt-queue list
like "$out" '^SITE +CHANNEL +JOB +STATE +BYTES +AGE +ATTEMPTS +LAST_ERROR' \
	"a table with a header"
run opt-queue list nautilus --json
is "$rc" 0 "list --json"
is "$(printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(" ".join("%s:%s:%s:%d:%d" % (j["job"], j["state"], j["last_error"],
    j["attempts"], j["age"] >= 0) for j in v))')" \
	"$j1:queued::0:1 $j2:queued::0:1 $j3:failed:printer said no:0:1" \
	"--json parses, with state and last error"

run opt-queue show nautilus 1
like "$out" "sha256 +[0-9a-f]{64}" "show: the sha256"
like "$out" "peer +10\\.1\\.2\\.3" "show: the peer"
run opt-queue show nautilus "$j3" --json
is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" \
	failed "show --json"

spool_hold nautilus "$j1"
run opt-queue list -H nautilus
like "$(printf '%s' "$out" | head -1 | cut -f4)" '^sending$' \
	"a job whose data is locked is sending"
refused 75 "^opt-queue: nautilus: job 0000000001 is being sent$" \
	"remove refuses a job being sent" -- opt-queue remove nautilus 1
spool_release

run opt-queue retry nautilus "$j3"
is "$rc:$out" "0:nautilus: 1 job to be sent again" "retry a failed job"
is "$(sed -n 's/^next_try=//p' "$S/nautilus/1/$j3.job")" 0 \
	"it is back in its queue, due now"
"$put" fail "$S" nautilus "$j3" again
"$put" fail "$S" nautilus "$j2" again
run opt-queue retry nautilus --all
is "$rc:$out" "0:nautilus: 3 jobs to be sent again" "retry --all"
run opt-queue list -H nautilus
is "$(printf '%s\n' "$out" | cut -f4 | sort -u)" queued "all queued"

run opt-queue remove nautilus 2
is "$rc:$out" "0:nautilus: job 0000000002 removed (6 bytes, not printed)" "remove"
ok "$([ ! -e "$S/nautilus/2/$j2.job" ] && [ ! -e "$S/nautilus/2/$j2.data" ]; echo $?)" \
	"both files are gone"
like "$(cat "$MAST_LOG_DIR/nautilus.log")" \
	"level=info site=nautilus event=queue-remove job=0000000002 channel=2 state=queued bytes=6 by=$(id -un)$" \
	"the remove is in the site's log"
j4=$(printf 'fourth' | "$put" put "$S" nautilus 2)
is "$j4" 0000000004 "a removed job's id is not given again"

# ---- As root: what local_user plants is never followed ---------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	echo 'local_user = "nobody";' >>"$MAST_CONFIG_DIR/defaults.conf"
	printf z | "$put" put "$S" zeta 1 >/dev/null
	chown -R nobody: "$S"
	# $T is root's 0700: the links are made here, and given to nobody.
	ln -s /etc/shadow "$S/nautilus/1/0000000050.job"
	chown -h nobody: "$S/nautilus/1/0000000050.job"
	partly 77 "^opt-queue: nautilus: .*0000000050\\.job: a symbolic link, refusing it$" \
		zeta nautilus "a planted link fails that site only" -- \
		opt-queue list -H nautilus zeta
	rm "$S/nautilus/1/0000000050.job"
	mv "$S/nautilus/2" "$S/nautilus/2x"
	ln -s /etc "$S/nautilus/2"
	chown -h nobody: "$S/nautilus/2"
	refused 77 "nautilus/2: not a directory \\(a symbolic link\\?\\), refusing it$" \
		"a channel directory that is a link is refused" -- \
		opt-queue remove nautilus 4
	ok "$([ -e /etc/passwd ]; echo $?)" "nothing was followed"
else
	skip "the planted links need root and the user nobody"
fi

done_testing
