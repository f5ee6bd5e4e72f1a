#!/bin/bash
# Channel ids are never reused; a removed channel's port goes to the
# next add; explicit ports and ports held by other processes.
. "$(dirname "$0")/lib.sh"

opt-site add -q nautilus 203.0.113.10
opt-site add -q other 198.51.100.7

run opt-channel add nautilus 192.168.1.20 --description "Accounting HP"
is "$out" "nautilus: channel 1: port 9100 -> 192.168.1.20:9100" "first channel"
run opt-channel add -q nautilus 192.168.1.21:9101
is "$out" 9101 "-q prints only the port"
run opt-channel add -H other '[fd00::7]:515'
is "$out" "$(printf '1\t9102')" "-H prints id and port; ports are shared by all sites"

succeeds "remove channel 1" -- opt-channel remove nautilus 1
is "$out" "nautilus: channel 1 removed, port 9100 is free" "remove says the port is free"
run opt-channel add -H nautilus 192.168.1.22
is "$out" "$(printf '3\t9100')" "the next add gets port 9100 back but id 3, not 1"
succeeds "remove the highest id" -- opt-channel remove nautilus 3
run opt-channel add -H nautilus 192.168.1.23
is "$out" "$(printf '4\t9100')" "ids keep growing even after the highest is removed"

run opt-channel add -H nautilus p --listen 9500
is "$out" "$(printf '5\t9500')" "--listen picks the port"
refused 73 "port 9500 is already channel 5 of site nautilus" \
	"--listen on a taken port" -- opt-channel add nautilus p --listen 9500
refused 73 "port 9102 is already channel 1 of site other" \
	"set listen= on another site's port" -- opt-channel set nautilus 5 listen=9102
succeeds "set a channel's own port again" -- opt-channel set nautilus 5 listen=9500

# A port another process holds on the site's bind address is skipped.
opt-site set nautilus bind=127.0.0.1
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 9103)); s.listen(1)
print("ready", flush=True); time.sleep(60)' >"$T/holder" &
holder=$!
cleanup "kill $holder 2>/dev/null"
wait_for 5 grep -q ready "$T/holder"
run opt-channel add -H nautilus q
is "$out" "$(printf '6\t9104')" "a port held by another process is skipped"
refused 73 "port 9103 is held by another process on 127.0.0.1" \
	"--listen on a held port" -- opt-channel add nautilus q --listen 9103
kill_wait "$holder"

run opt-channel list nautilus --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
print(" ".join("%d:%d" % (c["id"], c["listen"]) for c in json.load(sys.stdin)))')" \
	"2:9101 4:9100 5:9500 6:9104" "list --json: ids and ports"
grep -q "^next_id = 7;" "$MAST_CONFIG_DIR/nautilus/channels.conf"
ok $? "channels.conf records next_id"

# A small port_range runs out.
printf 'port_range = [9100, 9101];\n' >"$MAST_CONFIG_DIR/defaults.conf"
chmod 640 "$MAST_CONFIG_DIR/defaults.conf"
refused 73 "no free port left in port_range 9100-9101" \
	"a full port_range" -- opt-channel add nautilus r

done_testing
