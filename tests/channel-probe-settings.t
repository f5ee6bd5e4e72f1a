#!/bin/bash
# What a probe asks of a channel's printer, probe = tcp | pjl | off in
# channels.conf (written only when not tcp), set with opt-channel set and
# shown by list; and a site's probe_interval and printer_down_critical,
# durations in site.conf and defaults.conf.
. "$(dirname "$0")/lib.sh"

CS=$MAST_CONFIG_DIR/nautilus/channels.conf S=$MAST_CONFIG_DIR/nautilus/site.conf
DF=$MAST_CONFIG_DIR/defaults.conf
# probes: "ID:PROBE" of each channel of nautilus, from list -H.
probes() { opt-channel list -H nautilus | cut -f2,8 | tr '\t\n' ': ' | sed 's/ $//'; }
show() { opt-site show -H nautilus | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }

opt-site add -q nautilus 203.0.113.10
opt-channel add -q nautilus 192.168.1.20 --listen 9100 >/dev/null
opt-channel add -q nautilus 192.168.1.21 --listen 9101 >/dev/null
is "$(probes)" "1:tcp 2:tcp" "a new channel probes by tcp"
is "$(grep -c probe "$CS")" 0 "channels.conf of tcp channels has no probe"
cp "$CS" "$T/before"

run opt-channel set -v nautilus 2 probe=pjl
is "$rc:$out" "0:nautilus: channel 2: probe = pjl" "set probe=pjl, -v says it"
is "$(probes)" "1:tcp 2:pjl" "list -H: probe is the eighth field"
grep -q '^    probe = "pjl"; description = ""; }' "$CS"
ok $? "channels.conf: probe = \"pjl\" on channel 2's second line"
run opt-channel list nautilus --json
like "$out" '"id":2,.*"mode":"direct","probe":"pjl"}' "list --json: \"probe\""
run opt-channel list nautilus
like "$(echo "$out" | sed -n 3p)" '^nautilus +2 +9101 +192\.168\.1\.21 +9100 +- +direct +pjl$' \
	"the table: PROBE pjl"
succeeds "set probe=off" -- opt-channel set nautilus 1 probe=off
is "$(probes)" "1:off 2:pjl" "off is kept"
succeeds "set probe=tcp back" -- opt-channel set nautilus 1 probe=tcp
opt-channel set nautilus 2 probe=tcp
cmp -s "$CS" "$T/before"
ok $? "back to tcp: channels.conf is byte for byte as before"

refused 65 "^opt-channel: nautilus: probe 'snmp' is not one of tcp, pjl, off$" \
	"set probe=snmp is refused" -- opt-channel set nautilus 1 probe=snmp
sed -i '0,/printer_port = 9100;/s//printer_port = 9100; probe = "PJL";/' "$CS"
broken "$CS" "a hand-edited probe = \"PJL\"" -- opt-channel list nautilus
cp "$T/before" "$CS"

# probe_interval and printer_down_critical
is "$(show probe_interval):$(show printer_down_critical)" "0s:15m" \
	"a new site probes on request only, CRITICAL after 15 minutes offline"
succeeds "set probe_interval=300 printer_down_critical=2h" -- \
	opt-site set nautilus probe_interval=300 printer_down_critical=2h
is "$(grep -E '^(probe_interval|printer_down_critical)' "$S" | tr '\n' ' ')" \
	'probe_interval = "5m"; printer_down_critical = "2h"; ' "site.conf: shortest forms"
is "$(show probe_interval):$(show printer_down_critical)" "5m:2h" "show reads them back"
refused 65 "^opt-site: nautilus: probe_interval '2d' is out of range \(0s to 1d\)$" \
	"probe_interval over a day is refused" -- opt-site set nautilus probe_interval=2d
refused 65 "^opt-site: nautilus: printer_down_critical '0' is out of range \(1s to 7d\)$" \
	"printer_down_critical 0 is refused" -- opt-site set nautilus printer_down_critical=0
refused 65 "^opt-site: nautilus: probe_interval 'soon' is not a duration" \
	"probe_interval not a duration" -- opt-site set nautilus probe_interval=soon
sed -i '/^probe_interval/d;/^printer_down_critical/d' "$S"
printf 'probe_interval = 60;\nprinter_down_critical = "1m";\n' >"$DF"
chmod 640 "$DF"
is "$(show probe_interval):$(show printer_down_critical)" "1m:1m" \
	"a site.conf without them takes defaults.conf's"
printf 'probe_interval = "1w";\n' >"$DF"
broken "$DF" "defaults.conf probe_interval \"1w\"" -- opt-site show nautilus
done_testing
