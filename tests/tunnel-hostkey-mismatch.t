#!/bin/bash
# A changed host key is refused and reported, never silently accepted:
# after a first connection pinned the site's key (accept-new), sshd comes
# back with another key; the tunnel goes to state hostkey-mismatch, logs
# both fingerprints, keeps its channel ports closed and lets no job
# through.  host_key_check = strict with nothing pinned does not come up
# (start exits 69 and says why); host_key_check = off connects.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((25000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))

mismatches() { [ "$(log nautilus | grep -c 'event=hostkey-mismatch')" -ge "$1" ]; }
attempts() { [ "$(log "$1" | grep -c 'event=connect ')" -ge "$2" ]; }
fp_of() { ssh-keygen -lf "$1" | cut -d' ' -f2; }
kh=$MAST_CONFIG_DIR/nautilus/known_hosts

need_sshd
lp_site bind=127.0.0.1

run opt-tunnel start nautilus
is "$rc" 0 "start exits 0 (accept-new)"
old_fp=$(fp_of "$T/sshd/host_ed25519.pub")
like "$(log nautilus)" "event=hostkey-pinned type=ssh-ed25519 fingerprint=$(re "$old_fp")" "the first key was pinned"
like "$(cat "$kh" 2>/dev/null)" "^\[127.0.0.1\]:$SSHD_PORT ssh-ed25519 " "known_hosts holds it"
kh_before=$(sha "$kh")
head -c 100000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
wait_for 10 test -f "$T/lp/job-1"
is "$rc:$(sha "$T/lp/job-1" 2>/dev/null)" "0:$(sha "$T/job")" "a job passes with the pinned key"

# The site's box is reinstalled: same address and port, a new host key.
crash_sshd
rm -f "$T/sshd/host_ed25519" "$T/sshd/host_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_ed25519"
new_fp=$(fp_of "$T/sshd/host_ed25519.pub")
[ "$new_fp" != "$old_fp" ]
ok $? "sshd has a new host key"
start_sshd
ok $? "sshd restarts on port $SSHD_PORT"
jobs_before=$(njobs "$T/lp")

wait_for 20 state_is hostkey-mismatch
ok $? "state becomes hostkey-mismatch"
line=$(log nautilus | grep 'event=hostkey-mismatch' | head -1)
like "$line" "level=error " "the mismatch is logged as an error"
like "$line" " fingerprint=$(re "$new_fp")( |$)" "the log line has the new key's fingerprint"
like "$line" " pinned=$(re "$old_fp")( |$)" "...and the pinned one"
like "$(st last_error)" "$(re "$new_fp")" "last_error names the new fingerprint"

run send-job "$port" "$T/job"
is "$rc" 2 "the channel port refuses connections (send-job exit 2)"

# It keeps trying, and keeps refusing the key.
n=$(log nautilus | grep -c 'event=connect ')
wait_for 15 attempts nautilus $((n + 1))
ok $? "it tries again"
wait_for 10 mismatches 2
ok $? "the next attempt is refused as well"
state_is hostkey-mismatch
ok $? "the state stays hostkey-mismatch"
is "$(log nautilus | grep -c 'event=up ')" 1 "the tunnel never came up with the new key"
is "$(sha "$kh")" "$kh_before" "known_hosts is unchanged"
run send-job "$port" "$T/job"
is "$rc" 2 "the port still refuses"
sleep 0.5
is "$(njobs "$T/lp")" "$jobs_before" "the printer received no job"

run opt-tunnel stop nautilus
is "$rc:$out" "0:nautilus: stopped" "a tunnel in hostkey-mismatch stops"

# strict, nothing pinned: it does not come up.
opt-site add -q strict1 127.0.0.1 --port "$SSHD_PORT" --user "$(id -un)" \
	--identity "$T/id_ed25519" --host-key-check strict
opt-site set -q strict1 bind=127.0.0.1
sport=$(opt-channel add -q strict1 "127.0.0.1:$PRINTER_PORT")
[ ! -e "$MAST_CONFIG_DIR/strict1/known_hosts" ]
ok $? "strict1 has no known_hosts"
run opt-tunnel start --wait 8 strict1
is "$rc" 69 "start of a strict site with nothing pinned exits 69"
is "$(printf '%s' "$err" | grep -c '')" 1 "...with one line on stderr"
like "$err" "^opt-tunnel: strict1: .*not pinned.*" "...that says the key is not pinned: $err"
like "$err" "$(re "$new_fp")" "...and shows its fingerprint"
[ ! -e "$MAST_CONFIG_DIR/strict1/known_hosts" ]
ok $? "nothing was pinned"
like "$(log strict1)" "event=hostkey-unknown type=ssh-ed25519 fingerprint=$(re "$new_fp")" "the log has the unknown key"
run send-job "$sport" "$T/job"
is "$rc" 2 "its channel port refuses"
opt-tunnel stop -q strict1

# off: no check, it connects.
opt-site add -q off1 127.0.0.1 --port "$SSHD_PORT" --user "$(id -un)" \
	--identity "$T/id_ed25519" --host-key-check off
opt-site set -q off1 bind=127.0.0.1
oport=$(opt-channel add -q off1 "127.0.0.1:$PRINTER_PORT")
run opt-tunnel start off1
is "$rc" 0 "start of a site with host_key_check=off exits 0"
like "$out" "^off1: up \(pid [0-9]+, " "...and says it is up"
like "$(log off1)" "level=warn site=off1 event=hostkey-unchecked type=ssh-ed25519 fingerprint=$(re "$new_fp")" "the log warns that the key went unchecked"
head -c 50000 /dev/urandom >"$T/job2"
run send-job "$oport" "$T/job2"
is "$rc" 0 "a job through it ends cleanly"
wait_for 10 got_job "$T/lp" "$T/job2"
ok $? "...and the printer got it byte for byte"
run opt-tunnel stop off1
is "$rc:$out" "0:off1: stopped" "stop"
done_testing
