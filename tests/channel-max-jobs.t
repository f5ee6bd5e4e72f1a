#!/bin/bash
# max_jobs of a channel: 32 unless set, set with opt-channel set, read
# back from channels.conf and --json; channels.conf names it only when it
# is not the default, so the files of channels that never set it stay
# byte for byte what they were.  Refusals are in channel-bad-input.t.
. "$(dirname "$0")/lib.sh"

CS=$MAST_CONFIG_DIR/nautilus/channels.conf
# jobs: "ID:MAX_JOBS" of each channel of nautilus, from list --json.
jobs() {
	opt-channel list nautilus --json | python3 -c '
import json, sys
print(" ".join("%d:%d" % (c["id"], c["max_jobs"]) for c in json.load(sys.stdin)))'
}

opt-site add -q nautilus 203.0.113.10
run opt-channel add --json nautilus 192.168.1.20 --listen 9100
like "$out" '"description":"","max_jobs":32,"mode":"direct","probe":"tcp"}$' "add --json: max_jobs is 32"
opt-channel add -q nautilus 192.168.1.21 --listen 9101 >/dev/null
default=$(cat "$CS")
is "$(grep -c max_jobs "$CS")" 0 "channels.conf of channels at the default has no max_jobs"
is "$(jobs)" "1:32 2:32" "list --json: max_jobs 32 by default"

succeeds "set max_jobs=4" -- opt-channel set nautilus 2 max_jobs=4
is "$(sed -n '/id = 2;/,/}/p' "$CS")" \
	"$(printf '%s\n' '  { id = 2; listen = 9101; printer = "192.168.1.21"; printer_port = 9100;' \
		'    max_jobs = 4; description = ""; }')" \
	"channels.conf: max_jobs = 4 on channel 2's second line"
is "$(sed -n '/id = 1;/,/}/p' "$CS" | grep -c max_jobs)" 0 "...and not on channel 1"
is "$(jobs)" "1:32 2:4" "list --json reads it back"
run opt-channel list nautilus -H
is "$out" "$(printf 'nautilus\t1\t9100\t192.168.1.20\t9100\t\tdirect\ttcp\nnautilus\t2\t9101\t192.168.1.21\t9100\t\tdirect\ttcp')" \
	"list -H: max_jobs is in --json only"
run opt-channel list nautilus
like "$(echo "$out" | head -1)" '^SITE +ID +LISTEN +PRINTER +PORT +DESCRIPTION +MODE +PROBE$' \
	"...and from the table"

run opt-channel set -v nautilus 1 max_jobs=1 description=one
is "$rc:$out" "0:$(printf 'nautilus: channel 1: max_jobs = 1\nnautilus: channel 1: description = one')" \
	"set -v says what it wrote"
succeeds "max_jobs=4096, the largest" -- opt-channel set nautilus 2 max_jobs=4096
is "$(jobs)" "1:1 2:4096" "1 and 4096 are accepted"
succeeds "another setting keeps max_jobs" -- opt-channel set nautilus 2 printer_port=9101
is "$(jobs)" "1:1 2:4096" "...as it was"

succeeds "channel 1 back at max_jobs=32" -- \
	opt-channel set nautilus 1 max_jobs=32 description=
succeeds "channel 2 back at max_jobs=32" -- \
	opt-channel set nautilus 2 max_jobs=32 printer_port=9100
is "$(cat "$CS")" "$default" "back at the default, channels.conf is as it was, byte for byte"

# A hand edit: max_jobs on its own line, anywhere in the group.
sed -i '0,/printer_port = 9100;/s//printer_port = 9100;\n    max_jobs = 7;/' "$CS"
is "$(jobs)" "1:7 2:32" "a hand-edited max_jobs = 7 is read"
succeeds "an edit of another channel" -- opt-channel set nautilus 2 description=two
is "$(jobs)" "1:7 2:32" "...keeps it"
grep -q '^    max_jobs = 7; description = "";' "$CS"
ok $? "...and writes it as the tools do"

# A channels.conf written before max_jobs existed.
cat >"$CS" <<'EOF'
# channels.conf of nautilus, written by opt-channel; see opt.conf(5)
# ids are never reused: next_id only grows
next_id = 3;
channels = (
  { id = 1; listen = 9100; printer = "192.168.1.20"; printer_port = 9100;
    description = ""; },
  { id = 2; listen = 9101; printer = "192.168.1.21"; printer_port = 9100;
    description = ""; }
);
EOF
before=$(cat "$CS")
is "$(jobs)" "1:32 2:32" "an older channels.conf: every channel at 32"
succeeds "rewrite it" -- opt-channel set nautilus 2 description=
is "$(cat "$CS")" "$before" "rewritten, it is the same file"

done_testing
