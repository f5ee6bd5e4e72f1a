#!/bin/bash
# 500 configured sites are listed by opt-status in well under a second.
. "$(dirname "$0")/lib.sh"

mkdir -p "$MAST_CONFIG_DIR"
# Written directly: 500 runs of opt-site add would only test opt-site.
for i in $(seq 1 500); do
	d=$MAST_CONFIG_DIR/site$i
	mkdir -m 750 "$d"
	printf 'host = "10.%d.%d.1";\n' $((i / 256)) $((i % 256)) >"$d/site.conf"
	printf 'channels = ( { id = 1; listen = %d; printer = "p"; } );\n' $((10000 + i)) >"$d/channels.conf"
	chmod 640 "$d/site.conf" "$d/channels.conf"
done
start=$(date +%s%N)
run opt-status -H
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc:$(printf '%s\n' "$out" | wc -l)" "0:500" "500 sites are listed"
[ "$ms" -lt 1000 ]
ok $? "in well under a second ($ms ms)"
start=$(date +%s%N)
run opt-status --json
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 0 ] && [ "$ms" -lt 1000 ]
ok $? "--json too ($ms ms)"
done_testing
