#!/bin/bash
# 30 `opt-channel add` started at once over 3 sites: the config lock
# serializes them, so there are 30 channels on 30 distinct ports, and
# each site's ids are 1..10.
. "$(dirname "$0")/lib.sh"

for s in alpha bravo charlie; do
	opt-site add -q "$s" "$s.example" || exit 1
done

pids=
for i in $(seq 1 30); do
	case $((i % 3)) in
	0) s=alpha ;; 1) s=bravo ;; 2) s=charlie ;;
	esac
	opt-channel add -H "$s" "printer$i" >"$T/add.$i" 2>&1 &
	pids="$pids $!"
done
wait_all $pids
is "$failed" 0 "all 30 adds exit 0"

run opt-channel list -H
is "$(echo "$out" | wc -l)" 30 "30 channels are listed"
is "$(echo "$out" | cut -f3 | sort -u | wc -l)" 30 "on 30 distinct ports"
is "$(echo "$out" | cut -f3 | sort -n | head -1)-$(echo "$out" | cut -f3 | sort -n | tail -1)" \
	"9100-9129" "the 30 lowest ports of port_range"
for s in alpha bravo charlie; do
	is "$(echo "$out" | awk -F'\t' -v s=$s '$1 == s { print $2 }' | sort -n | tr '\n' ' ')" \
		"1 2 3 4 5 6 7 8 9 10 " "$s has ids 1 to 10"
done
is "$(cat "$T"/add.* | cut -f2 | sort -n | tr '\n' ' ')" \
	"$(echo "$out" | cut -f3 | sort -n | tr '\n' ' ')" \
	"each add printed the port it got"
is "$(ls -A "$MAST_CONFIG_DIR"/alpha | tr '\n' ' ')" \
	"channels.conf site.conf throttle.conf " "no temp file is left behind"

done_testing
