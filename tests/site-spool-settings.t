#!/bin/bash
# The settings of a site's spool: spool_max_mb (MiB, 0 no limit),
# spool_keep (hours, 0 removed at once), spool_max_age and spool_warn_age
# (durations: whole seconds, or a number with s, m, h or d).  Set with
# opt-site set, shown by show, written into site.conf after max_jobs,
# durations in their shortest exact form; a site.conf without them
# takes defaults.conf's, then the built-in ones.  Refusals are in
# site-bad-input.t.
. "$(dirname "$0")/lib.sh"

S=$MAST_CONFIG_DIR/nautilus/site.conf DF=$MAST_CONFIG_DIR/defaults.conf
# spool SITE: the four settings as show -H has them, "KEY=VALUE ...".
spool() {
	opt-site show -H "$1" | awk -F'\t' '$1 ~ /^spool_/ { printf "%s%s=%s", s, $1, $2; s = " " }'
}

opt-site add -q nautilus 203.0.113.10
is "$(spool nautilus)" "spool_max_mb=0 spool_keep=0 spool_max_age=7d spool_warn_age=15m" \
	"a new site: no size limit, delivered jobs removed, 7 days to fail, warned at 15 minutes"
run opt-site show -H nautilus
is "$(printf '%s\n' "$out" | grep -A7 '^max_jobs' | cut -f1 | tr '\n' ' ')" \
	"max_jobs spool_max_mb spool_keep spool_max_age spool_warn_age probe_interval printer_down_critical throttle_enabled " \
	"show -H: the spool's settings after max_jobs"
is "$(sed -n 12,19p "$S")" "$(printf '%s\n' 'max_jobs = 256;' 'spool_max_mb = 0;' \
	'spool_keep = 0;' 'spool_max_age = "7d";' 'spool_warn_age = "15m";' \
	'probe_interval = "0s";' 'printer_down_critical = "15m";' 'description = "";')" \
	"site.conf: lines 13 to 18, before the description"
run opt-site show --json nautilus
like "$out" '"max_jobs":256,"spool_max_mb":0,"spool_keep":0,"spool_max_age":"7d","spool_warn_age":"15m",' \
	"show --json: numbers, and durations as site.conf has them"

# Durations come back in their shortest exact form.
while read -r given shown; do
	succeeds "set spool_max_age=$given" -- opt-site set nautilus "spool_max_age=$given"
	is "$(grep '^spool_max_age' "$S")" "spool_max_age = \"$shown\";" \
		"spool_max_age=$given is written \"$shown\""
done <<'EOF'
168h 7d
3600 1h
90 90s
5400 90m
86400s 1d
2D 2d
1440m 1d
60 1m
31536000 365d
EOF
while read -r given shown; do
	succeeds "set spool_warn_age=$given" -- opt-site set nautilus "spool_warn_age=$given"
	is "$(grep '^spool_warn_age' "$S")" "spool_warn_age = \"$shown\";" \
		"spool_warn_age=$given is written \"$shown\""
done <<'EOF'
1 1s
1s 1s
61 61s
007m 7m
365d 365d
EOF
run opt-site set -v nautilus spool_max_mb=16777216 spool_keep=8760 spool_max_age=1m
is "$rc:$out" "0:$(printf 'nautilus: spool_max_mb = 16777216\nnautilus: spool_keep = 8760\nnautilus: spool_max_age = 1m')" \
	"set -v says what it wrote"
is "$(spool nautilus)" "spool_max_mb=16777216 spool_keep=8760 spool_max_age=1m spool_warn_age=365d" \
	"the largest sizes and keep, the shortest max_age, the longest warn_age"
succeeds "another setting keeps them" -- opt-site set nautilus port=2222
is "$(spool nautilus)" "spool_max_mb=16777216 spool_keep=8760 spool_max_age=1m spool_warn_age=365d" \
	"...as they were"
refused 65 "^opt-site: nautilus: spool_max_mb '63' is below 64: the spool keeps 16 MiB free for the job that comes \(0: no limit\)$" \
	"a limit below 64 MiB is refused" -- opt-site set nautilus spool_max_mb=63
succeeds "64 MiB is the least" -- opt-site set nautilus spool_max_mb=64
succeeds "back to the defaults" -- opt-site set nautilus spool_max_mb=0 spool_keep=0 \
	spool_max_age=7d spool_warn_age=15m
is "$(spool nautilus)" "spool_max_mb=0 spool_keep=0 spool_max_age=7d spool_warn_age=15m" \
	"0 and 0 are accepted"

# A hand edit: durations as whole seconds too, 32 or 64 bits.
sed -i 's/^spool_max_age = .*/spool_max_age = 604800;/; s/^spool_warn_age = .*/spool_warn_age = 600L;/' "$S"
is "$(spool nautilus)" "spool_max_mb=0 spool_keep=0 spool_max_age=7d spool_warn_age=10m" \
	"site.conf with spool_max_age = 604800 and spool_warn_age = 600L: 7d and 10m"
succeeds "rewrite it" -- opt-site set nautilus port=22
is "$(grep '^spool_.*_age' "$S" | tr '\n' ' ')" 'spool_max_age = "7d"; spool_warn_age = "10m"; ' \
	"...written as the tools do"

# Without them, a site.conf takes defaults.conf's, then the built-in ones.
opt-site add -q b 10.1.1.1
sed -i '/^spool_/d' "$MAST_CONFIG_DIR/b/site.conf"
is "$(spool b)" "spool_max_mb=0 spool_keep=0 spool_max_age=7d spool_warn_age=15m" \
	"a site.conf from before the spool: the built-in values"
printf '%s\n' 'spool_max_mb = 2048;' 'spool_keep = 24;' 'spool_max_age = "3d";' \
	'spool_warn_age = 300;' >"$DF"
chmod 640 "$DF"
is "$(spool b)" "spool_max_mb=2048 spool_keep=24 spool_max_age=3d spool_warn_age=5m" \
	"...or defaults.conf's"
is "$(spool nautilus)" "spool_max_mb=0 spool_keep=0 spool_max_age=7d spool_warn_age=10m" \
	"a site's own settings win over defaults.conf"
opt-site add -q c 10.1.1.2
is "$(grep '^spool_' "$MAST_CONFIG_DIR/c/site.conf" | tr '\n' ' ')" \
	'spool_max_mb = 2048; spool_keep = 24; spool_max_age = "3d"; spool_warn_age = "5m"; ' \
	"add writes defaults.conf's into the new site.conf"

# The shipped defaults.conf holds the built-in values.
cp "$top/etc/defaults.conf" "$DF"
chmod 640 "$DF"
is "$(spool b)" "spool_max_mb=0 spool_keep=0 spool_max_age=7d spool_warn_age=15m" \
	"etc/defaults.conf has the built-in values"
rm "$DF"

done_testing
