#!/bin/bash
# opt-site add creates a whole site from the defaults; list and show
# report it in all three formats.
. "$(dirname "$0")/lib.sh"

succeeds "add a site" -- opt-site add nautilus 203.0.113.10 \
	--description 'Nautilus HQ' --port 2222 --user print
is "$out" "nautilus: added, print@203.0.113.10 port 2222" "add says what it added"
for f in site.conf channels.conf throttle.conf; do
	is "$(stat -c %a "$MAST_CONFIG_DIR/nautilus/$f")" 640 "$f is mode 0640"
done
is "$(stat -c %a "$MAST_CONFIG_DIR/nautilus")" 750 "site dir is mode 0750"
is "$(ls -A "$MAST_CONFIG_DIR" | grep -v '^\.lock$' | tr '\n' ' ')" "nautilus " \
	"no temp files are left in the config dir"

run opt-site add -q b 10.1.1.1
is "$rc:$out:$err" "0::" "-q add prints nothing"

run opt-site list -H
is "$out" "$(printf 'b\t10.1.1.1\t22\topt\t0\t\nnautilus\t203.0.113.10\t2222\tprint\t0\tNautilus HQ')" \
	"list -H: tab-separated, sorted, no header"

run opt-site list
like "$(echo "$out" | head -1)" '^SITE +HOST +PORT +USER +CHANNELS +DESCRIPTION$' "list has a header"
is "$(echo "$out" | wc -l)" 3 "list: header and two rows"

run opt-site show nautilus --json
like "$out" '"site":"nautilus","host":"203.0.113.10","port":2222,"user":"print"' "show --json"
like "$out" '"compression":true' "show --json has booleans"
like "$out" '"allow":\[\]' "show --json has an empty allow list"

run opt-site show nautilus -H
like "$out" "$(printf 'host\t203.0.113.10')" "show -H: key TAB value"
is "$(printf '%s\n' "$out" | grep -A1 '^allow' | cut -f1 | tr '\n' ' ')" \
	"allow max_jobs " "show -H: max_jobs after allow"
like "$out" "$(printf '\nmax_jobs\t256\n')" "show -H: max_jobs is 256 by default"
is "$(grep -n '^max_jobs' "$MAST_CONFIG_DIR/nautilus/site.conf")" "12:max_jobs = 256;" \
	"add writes max_jobs into site.conf, after allow"

opt-channel add -q nautilus p1 >/dev/null
opt-channel add -q nautilus p2 >/dev/null
run opt-site list -H
is "$(printf '%s\n' "$out" | awk -F'\t' '$1 == "nautilus" { print $5 }')" 2 "list counts the site's channels"
run opt-site show nautilus --json
like "$out" '"channels":2,' "show --json counts them too"

succeeds "set several keys" -- opt-site set nautilus port=22 compression=no \
	allow=10.0.0.0/8,fd00::/8 'description=New "HQ"'
run opt-site show nautilus --json
like "$out" '"port":22' "set port"
like "$out" '"compression":false' "set compression"
like "$out" '"allow":\["10.0.0.0/8","fd00::/8"\]' "set allow"
like "$out" '"description":"New \\"HQ\\""' "set description with quotes"

succeeds "set max_jobs" -- opt-site set nautilus max_jobs=65536
run opt-site show nautilus --json
like "$out" '"allow":\[[^]]*\],"max_jobs":65536,' "set max_jobs, up to 65536"
grep -qx 'max_jobs = 65536;' "$MAST_CONFIG_DIR/nautilus/site.conf"
ok $? "site.conf holds it"
succeeds "max_jobs=1, the smallest" -- opt-site set nautilus max_jobs=1
run opt-site show nautilus -H
like "$out" "$(printf '\nmax_jobs\t1\n')" "show -H reads it back"

# A site.conf without max_jobs takes defaults.conf's, then 256.
sed -i '/^max_jobs/d' "$MAST_CONFIG_DIR/b/site.conf"
run opt-site show b -H
like "$out" "$(printf '\nmax_jobs\t256\n')" "a site.conf without max_jobs: 256"
printf 'max_jobs = 1000;\n' >"$MAST_CONFIG_DIR/defaults.conf"
chmod 640 "$MAST_CONFIG_DIR/defaults.conf"
run opt-site show b -H
like "$out" "$(printf '\nmax_jobs\t1000\n')" "...or the one of defaults.conf"
run opt-site show nautilus -H
like "$out" "$(printf '\nmax_jobs\t1\n')" "a site's own max_jobs wins over defaults.conf"
opt-site add -q c 10.1.1.2
grep -qx 'max_jobs = 1000;' "$MAST_CONFIG_DIR/c/site.conf"
ok $? "add writes the default of defaults.conf into the new site.conf"
rm "$MAST_CONFIG_DIR/defaults.conf"
opt-site remove -q c

run opt-site set nautilus allow=
run opt-site show nautilus --json
like "$out" '"allow":\[\]' "allow= empties the list"

succeeds "remove a site" -- opt-site remove nautilus
is "$out" "nautilus: removed" "remove says so"
[ ! -e "$MAST_CONFIG_DIR/nautilus" ]
ok $? "the site's directory is gone"
run opt-site list -H
is "$out" "$(printf 'b\t10.1.1.1\t22\topt\t0\t')" "the other site remains"

done_testing
