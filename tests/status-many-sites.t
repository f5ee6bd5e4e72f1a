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

# The same 500 running: one process holds every pidfile locked, as 500
# tunnels would (its pid in each file).
mkdir -p "$MAST_RUN_DIR"
python3 -c '
import fcntl, os, sys, time
fs = []
for i in range(1, 501):
    f = open("%s/site%d.pid" % (sys.argv[1], i), "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    f.write(str(os.getpid())); f.flush()
    fs.append(f)
open(sys.argv[1] + "/ready", "w").close()
time.sleep(60)' "$MAST_RUN_DIR" &
locker=$!
cleanup "kill $locker 2>/dev/null"
wait_for 10 test -e "$MAST_RUN_DIR/ready"
start=$(date +%s%N)
run opt-status -H
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$rc:$(printf '%s\n' "$out" | awk -F'\t' -v p="$locker" '$2 == "connecting" && $3 == p' | wc -l)" "0:500" \
	"500 running sites: each connecting, with the pid of its pidfile"
[ "$ms" -lt 1000 ]
ok $? "in well under a second ($ms ms)"
done_testing
