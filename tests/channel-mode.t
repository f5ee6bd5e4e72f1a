#!/bin/bash
# A channel's mode, direct or spool: given to add with --mode, or taken
# from defaults.conf's channel_mode, changed with set, shown by list in
# every format.  channels.conf names it only for spool channels, so the
# files of direct ones stay byte for byte what they were.  Refusals are
# in channel-bad-input.t and site-bad-input.t.
. "$(dirname "$0")/lib.sh"

CS=$MAST_CONFIG_DIR/nautilus/channels.conf DF=$MAST_CONFIG_DIR/defaults.conf
# modes: "ID:MODE" of each channel of nautilus, from list -H.
modes() { opt-channel list -H nautilus | cut -f2,7 | tr '\t\n' ': ' | sed 's/ $//'; }

opt-site add -q nautilus 203.0.113.10
opt-channel add -q nautilus 192.168.1.20 --listen 9100 >/dev/null
opt-channel add -q nautilus 192.168.1.21 --listen 9101 >/dev/null
is "$(grep -c mode "$CS")" 0 "channels.conf of direct channels has no mode"
is "$(modes)" "1:direct 2:direct" "without --mode a channel is direct"

run opt-channel add nautilus 192.168.1.22 --listen 9102 --mode spool
is "$rc:$out" "0:nautilus: channel 3: port 9102 -> 192.168.1.22:9100 (spool)" \
	"add --mode spool says the channel is spooled"
is "$(sed -n '/id = 3;/,/}/p' "$CS")" \
	"$(printf '%s\n' '  { id = 3; listen = 9102; printer = "192.168.1.22"; printer_port = 9100;' \
		'    mode = "spool"; description = ""; }')" \
	"channels.conf: mode = \"spool\" on channel 3's second line"
run opt-channel add --json nautilus 192.168.1.23 --listen 9103 --mode direct
like "$out" '"max_jobs":32,"mode":"direct","probe":"tcp"}$' "add --mode direct --json: mode is direct"
opt-channel remove -q nautilus 4
is "$(modes)" "1:direct 2:direct 3:spool" "list -H: the mode is the seventh field"
run opt-channel list nautilus -H
is "$(printf '%s\n' "$out" | sed -n 3p)" "$(printf 'nautilus\t3\t9102\t192.168.1.22\t9100\t\tspool\ttcp')" \
	"list -H: the six fields before it are as they were"
run opt-channel list nautilus
like "$(echo "$out" | head -1)" '^SITE +ID +LISTEN +PRINTER +PORT +DESCRIPTION +MODE +PROBE$' \
	"the table has a MODE column, then PROBE"
like "$(echo "$out" | sed -n 4p)" '^nautilus +3 +9102 +192\.168\.1\.22 +9100 +- +spool +tcp$' \
	"...spool for channel 3"
run opt-channel list nautilus --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
print(" ".join("%d:%s" % (c["id"], c["mode"]) for c in json.load(sys.stdin)))')" \
	"1:direct 2:direct 3:spool" "list --json: \"mode\""
opt-channel remove -q nautilus 3

# set, there and back: the file of direct channels is as it was.
direct=$(cat "$CS")
run opt-channel set -v nautilus 2 mode=spool
is "$rc:$out" "0:nautilus: channel 2: mode = spool" "set mode=spool, -v says it"
is "$(modes)" "1:direct 2:spool" "list reads it back"
succeeds "set mode=spool with max_jobs" -- opt-channel set nautilus 2 max_jobs=4
grep -q '^    mode = "spool"; max_jobs = 4; description = ""; }' "$CS"
ok $? "channels.conf: mode before max_jobs"
succeeds "another setting keeps the mode" -- opt-channel set nautilus 2 printer_port=9101
is "$(modes)" "1:direct 2:spool" "...as it was"
succeeds "set mode=direct" -- opt-channel set nautilus 2 mode=direct max_jobs=32 \
	printer_port=9100
is "$(cat "$CS")" "$direct" "back to direct, channels.conf is as it was, byte for byte"

# defaults.conf's channel_mode: the mode of channels add makes without --mode.
printf 'channel_mode = "spool";\n' >"$DF"
chmod 640 "$DF"
run opt-channel add nautilus 192.168.1.30 --listen 9110
is "$rc:$out" "0:nautilus: channel 5: port 9110 -> 192.168.1.30:9100 (spool)" \
	"channel_mode = \"spool\": add without --mode makes a spool channel"
opt-channel add -q nautilus 192.168.1.31 --listen 9111 --mode direct >/dev/null
is "$(modes)" "1:direct 2:direct 5:spool 6:direct" \
	"...--mode direct still makes a direct one, and the others keep theirs"
cp "$top/etc/defaults.conf" "$DF"
opt-channel add -q nautilus 192.168.1.32 --listen 9112 >/dev/null
is "$(modes)" "1:direct 2:direct 5:spool 6:direct 7:direct" \
	"the shipped defaults.conf has channel_mode = \"direct\""
rm "$DF"

# A hand edit: mode on its own line, "direct" spelt out.
opt-channel remove -q nautilus 5
opt-channel remove -q nautilus 6
opt-channel remove -q nautilus 7
sed -i '0,/printer_port = 9100;/s//printer_port = 9100;\n    mode = "spool";/' "$CS"
is "$(modes)" "1:spool 2:direct" "a hand-edited mode = \"spool\" is read"
sed -i 's/mode = "spool";/mode = "direct";/' "$CS"
is "$(modes)" "1:direct 2:direct" "...and mode = \"direct\""
succeeds "an edit of another channel" -- opt-channel set nautilus 2 description=
is "$(grep -c mode "$CS")" 0 "...writes direct as the tools do: not at all"

done_testing
