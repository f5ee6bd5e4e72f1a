#!/bin/bash
# opt-status shows the spools of spool-mode channels, read from the disk
# (built by tests/spool-put, as a tunnel stores jobs): the mode, the jobs
# queued, their bytes, the oldest one's age and the jobs failed, in the
# table, -H, --json and --prometheus.  --check warns of a job queued
# longer than spool_warn_age and is CRITICAL for a failed one.  A direct
# channel has no figures, whatever lies in its directory, and a spool
# that cannot be read is said to be, never shown as empty.
. "$(dirname "$0")/lib.sh"

put="$top/tests/spool-put"
S=$MAST_SPOOL_DIR

opt-site add -q nautilus 127.0.0.1 >/dev/null
p1=$(opt-channel add -q nautilus 127.0.0.1:9100)
p2=$(opt-channel add -q nautilus 127.0.0.1:9101)

# The site's tunnel, as opt-status sees one: a process that holds the
# pidfile locked, writes the state file every second (channel 1 in
# spool mode, 2 in direct mode) and answers the probe round that
# --check asks for (SIGUSR1).  Spool mode needs no session: opt-status
# only reads the spool.
mkdir -p "$MAST_RUN_DIR"
(
	probes=0
	state() {
		local f=$MAST_RUN_DIR/nautilus.state now
		now=$(date +%s)
		printf '%s\n' site=nautilus "pid=$BASHPID" state=up \
			"since=$now" "updated=$now" "probes=$probes" interval=2 \
			channels=2 "channel.1.listen=$p1" \
			channel.1.printer=127.0.0.1:9100 channel.1.probe=ok \
			channel.1.mode=spool "channel.2.listen=$p2" \
			channel.2.printer=127.0.0.1:9101 channel.2.probe=ok \
			channel.2.mode=direct >"$f.tmp" && mv "$f.tmp" "$f"
	}
	trap 'probes=$((probes + 1)); state' USR1
	exec 9>"$MAST_RUN_DIR/nautilus.pid"
	flock 9
	echo "$BASHPID" >&9
	while :; do
		state
		sleep 1 9>&- &
		wait $!
	done
) &
tunnel=$!
cleanup "kill $tunnel 2>/dev/null; wait $tunnel 2>/dev/null"
wait_for 10 test -s "$MAST_RUN_DIR/nautilus.state"

# is_aged GOT WANT NAME: is, but an age NmSSs in WANT may be a second
# older in GOT (the clock ticks between the job and the look).
is_aged() { like "$1" "^$(re "$2" | sed 's/m00s/m0[01]s/g')\$" "$3"; }

# fields ID LIST: the fields LIST (cut -f) of channel ID's line in $out,
# from opt-status --channels -H: 12 is the mode, 13-16 the spool's.
fields() { printf '%s\n' "$out" | grep "^channel	nautilus	$1	" | cut -f"$2"; }

# accepted JOB SECONDS: JOB (of either channel, queued or failed) was
# accepted SECONDS ago.
accepted() {
	local f
	f=$(find "$S/nautilus" -name "$1.job")
	sed -i "s/^accepted=.*/accepted=$(($(date +%s) - $2))/" "$f"
}

head -c 300000 /dev/urandom >"$T/job1"
j1=$("$put" put "$S" nautilus 1 <"$T/job1")
j2=$(printf 'second' | "$put" put "$S" nautilus 1)
# The direct channel's directory holds an old job and a failed one (as
# if it had been a spool channel): they are not its queue.
j3=$(printf 'third' | "$put" put "$S" nautilus 2)
j4=$(printf 'fourth' | "$put" put "$S" nautilus 2)
"$put" fail "$S" nautilus "$j4" "printer said no"
accepted "$j1" 300
accepted "$j3" 86400

run opt-status --channels -H
is "$rc:$err" "0:" "--channels -H with a spool: exit 0, nothing on stderr"
like "$(fields 1 1-)" \
	"^channel	nautilus	1	$p1	127\\.0\\.0\\.1:9100	0	0	0	0	ok		spool	2	300006	30[01]	0$" \
	"-H: channel 1 is spool: 2 jobs queued, 300006 bytes, the oldest 300 s, none failed"
is "$(fields 2 12-)" \
	"$(printf 'direct\t\t\t\t')" "-H: channel 2 is direct: no figures"

run opt-status --channels
like "$out" "SITE +CH +LISTEN +PRINTER +ACTIVE +JOBS +SENT +RECEIVED +PROBE +LAST ERROR +MODE +QUEUED +BYTES +OLDEST +FAILED$" \
	"the table's header"
like "$out" "nautilus +1 +$p1 +127\\.0\\.0\\.1:9100 .* ok +- +spool +2 +293\\.0K +5m0[01]s +0$" \
	"the table: channel 1 with human bytes and age"
like "$out" "nautilus +2 +$p2 +127\\.0\\.0\\.1:9101 .* ok +- +direct +- +- +- +-$" \
	"the table: - for the direct channel"

run opt-status --json
is "$(printf '%s' "$out" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["channels"]
print(" ".join("%s:%s:%s:%s:%s:%r" % (x["mode"], x["queued"],
    x["queued_bytes"], x["oldest"] in (300, 301) if x["oldest"] else x["oldest"],
    x["failed"], x["spool_error"]) for x in c))')" \
	"spool:2:300006:True:0:'' direct:None:None:None:None:''" \
	"--json: the figures of the spool channel, null for the direct one"

run opt-status --prometheus
is "$(printf '%s\n' "$out" | grep '_spool_' | sed 's/seconds{\(.*\)} 30[01]$/seconds{\1} 300/')" \
	'# HELP opt_tunnel_channel_spool_jobs Jobs in the spool of a spool-mode channel: queued (sending included) or failed.
# TYPE opt_tunnel_channel_spool_jobs gauge
opt_tunnel_channel_spool_jobs{site="nautilus",channel="1",state="queued"} 2
opt_tunnel_channel_spool_jobs{site="nautilus",channel="1",state="failed"} 0
# HELP opt_tunnel_channel_spool_bytes Bytes of the jobs queued in the spool of a spool-mode channel.
# TYPE opt_tunnel_channel_spool_bytes gauge
opt_tunnel_channel_spool_bytes{site="nautilus",channel="1"} 300006
# HELP opt_tunnel_channel_spool_oldest_seconds How long the oldest queued job of a spool-mode channel has waited, 0 when none waits.
# TYPE opt_tunnel_channel_spool_oldest_seconds gauge
opt_tunnel_channel_spool_oldest_seconds{site="nautilus",channel="1"} 300' \
	"--prometheus: the spool channel's series, none for the direct one"
like "$out" 'opt_tunnel_state\{site="nautilus",state="up"\} 1' \
	"--prometheus: the other series are as before"

run opt-status --check
is "$rc:$out" "0:OPT OK - 1 site up, 2 printers reachable | sites=1 up=1 printers=2 offline=0 warning=0 queued=2 rate_up=0 rate_down=0" \
	"--check: jobs queued for less than spool_warn_age (15 min) are OK, the direct channel's are not looked at"

# ---- Waiting too long ------------------------------------------------
accepted "$j1" 1200
run opt-status --check
is_aged "$rc:$out" "1:OPT WARNING - nautilus channel 1: 1 job waiting longer than 15m00s (the oldest for 20m00s) | sites=1 up=1 printers=2 offline=0 warning=0 queued=2 rate_up=0 rate_down=0" \
	"--check: a job queued longer than spool_warn_age is WARNING, with site, channel, count and age"
run opt-status --prometheus
like "$out" 'opt_tunnel_channel_spool_oldest_seconds\{site="nautilus",channel="1"\} 120[01]' \
	"--prometheus: the oldest job's age"

conf=$MAST_CONFIG_DIR/nautilus/site.conf
cp -p "$conf" "$T/site.conf"
sed -i '/^spool_warn_age/d' "$conf"
echo 'spool_warn_age = 60;' >>"$conf"
if opt-site show nautilus >/dev/null 2>&1; then
	accepted "$j2" 120
	run opt-status --check
	is_aged "$rc:$out" "1:OPT WARNING - nautilus channel 1: 2 jobs waiting longer than 1m00s (the oldest for 20m00s) | sites=1 up=1 printers=2 offline=0 warning=0 queued=2 rate_up=0 rate_down=0" \
		"--check: the site's spool_warn_age, 60 s"
	accepted "$j2" 0
else
	skip "spool_warn_age in site.conf: not read by this build"
fi
cp -p "$T/site.conf" "$conf"

# ---- A failed job ----------------------------------------------------
j5=$(printf 'fifth' | "$put" put "$S" nautilus 1)
"$put" fail "$S" nautilus "$j5" "too old"
accepted "$j5" 7200
run opt-status --check
is_aged "$rc:$out" "2:OPT CRITICAL - nautilus channel 1: 1 job failed (the oldest accepted 2h00m ago); nautilus channel 1: 1 job waiting longer than 15m00s (the oldest for 20m00s) | sites=1 up=1 printers=2 offline=0 warning=0 queued=2 rate_up=0 rate_down=0" \
	"--check: a failed job is CRITICAL"
run opt-status --channels -H
is "$(fields 1 12,13,14,16)" \
	"$(printf 'spool\t2\t300006\t1')" "-H: 1 failed, not counted as queued"
run opt-status --prometheus
like "$out" 'opt_tunnel_channel_spool_jobs\{site="nautilus",channel="1",state="failed"\} 1' \
	"--prometheus: the failed job"

# ---- Being sent: still queued ----------------------------------------
spool_hold nautilus "$j2"
run opt-status --channels -H
is "$(fields 1 13,14)" "$(printf '2\t300006')" "a job being sent counts as queued"
spool_release

# ---- A spool that cannot be read --------------------------------------
mv "$S/nautilus/1" "$T/spool1"
echo planted >"$S/nautilus/1"
run opt-status --channels -H
is "$rc" 77 "a file where channel 1's directory goes: exit 77"
is "$err" "opt-status: nautilus: $S/nautilus/1: not a directory (a symbolic link?), refusing it" \
	"...and one line on stderr naming the path"
is "$(fields 1 12-)" \
	"$(printf 'spool\t?\t?\t?\t?')" "...the figures are ?, not 0"
run opt-status --json
is "$rc:$(printf '%s' "$out" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["channels"][0]
print(c["queued"], c["failed"], c["spool_error"])')" \
	"77:None None $S/nautilus/1: not a directory (a symbolic link?), refusing it" \
	"--json: null figures and the spool_error"
run opt-status --prometheus
is "$rc:$(printf '%s\n' "$out" | grep -c '^opt_tunnel_channel_spool')" "77:0" \
	"--prometheus: no sample of what cannot be read"
run opt-status --check
is "$rc:$out" "3:OPT UNKNOWN - nautilus channel 1: $S/nautilus/1: not a directory (a symbolic link?), refusing it | sites=1 up=1 printers=2 offline=0 warning=0 queued=0 rate_up=0 rate_down=0" \
	"--check: UNKNOWN, naming the path"
rm "$S/nautilus/1"
mv "$T/spool1" "$S/nautilus/1"

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	# Another user (run as nobody) may read the configuration and the
	# state, but not the channel's directory.
	chmod 755 "$T" "$MAST_RUN_DIR" "$S" "$S/nautilus"
	chmod -R o+rX "$MAST_CONFIG_DIR"
	chmod 000 "$S/nautilus/1"
	run as nobody opt-status --channels -H
	is "$rc:$err" "77:opt-status: nautilus: cannot open $S/nautilus/1: Permission denied" \
		"unreadable for its user (mode 000): exit 77, one line naming the path"
	is "$(fields 1 12-)" \
		"$(printf 'spool\t?\t?\t?\t?')" "...and ?, not 0"
	chmod 750 "$S/nautilus/1"
else
	skip "a spool unreadable for its user needs root and the user nobody"
fi

# ---- Stopped: the jobs wait all the same ---------------------------------
kill $tunnel
wait $tunnel 2>/dev/null
rm "$MAST_RUN_DIR/nautilus.pid" "$MAST_RUN_DIR/nautilus.state" # as it ends
run opt-status --channels -H
is "$(printf '%s\n' "$out" | grep -c "^channel	nautilus	[12]	.*	direct	")" 2 \
	"stopped: the channels of channels.conf, with their mode"
if opt-channel set -q nautilus 1 mode=spool 2>/dev/null; then
	run opt-status --channels -H
	like "$(fields 1 12-)" \
		"^spool	2	300006	120[01]	1$" "stopped: a spool channel still shows its spool"
	run opt-status --check
	is_aged "$rc:$out" "2:OPT CRITICAL - nautilus stopped; nautilus channel 1: 1 job failed (the oldest accepted 2h00m ago); nautilus channel 1: 1 job waiting longer than 15m00s (the oldest for 20m00s) | sites=1 up=0 printers=0 offline=0 warning=0 queued=2 rate_up=0 rate_down=0" \
		"--check: a stopped site's spool is checked too"
else
	skip "mode = \"spool\" in channels.conf: not read by this build"
fi
done_testing
