#!/bin/bash
# opt-site trust shows the site's host key, pins it, refuses to replace
# a changed key unless --fingerprint names the new one, and a tunnel
# held down by the mismatch comes up once the new key is trusted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

need_sshd
add_test_site nautilus
opt-site set nautilus host_key_check=strict
kh=$MAST_CONFIG_DIR/nautilus/known_hosts
fp=$(ssh-keygen -l -f "$T/sshd/host_ed25519.pub" | cut -d' ' -f2)
cleanup stop_tunnels
# The pinned line holds the host's public key as its .pub file has it,
# where ssh-keygen -F finds it, with opt's fingerprint.
pinned_is() {
	local line
	line=$(ssh-keygen -F "[127.0.0.1]:$SSHD_PORT" -f "$kh" | grep -v '^#')
	is "$(echo "$line" | cut -d' ' -f2-3)" "$(cut -d' ' -f1-2 "$1")" "$2: ssh-keygen -F finds the host's public key"
	is "$(ssh-keygen -l -f "$kh" | cut -d' ' -f2)" "$(ssh-keygen -l -f "$1" | cut -d' ' -f2)" "$2: ssh-keygen -l of known_hosts gives the fingerprint opt showed"
}

run opt-site trust nautilus
is "$rc" 0 "trust exits 0"
has() { case $1 in *"$2"*) ok 0 "$3" ;; *) ok 1 "$3"; diag "got: $1" "want: $2" ;; esac; }
has "$out" "nautilus: 127.0.0.1 port $SSHD_PORT offers ssh-ed25519 $fp" "it shows the key as ssh-keygen -l does"
like "$out" "nautilus: pinned in $kh" "and pins it"
like "$(cat "$kh")" "^\[127.0.0.1\]:$SSHD_PORT ssh-ed25519 " "known_hosts has an OpenSSH line"
ssh-keygen -F "[127.0.0.1]:$SSHD_PORT" -f "$kh" >/dev/null
ok $? "ssh-keygen finds the pinned host"
pinned_is "$T/sshd/host_ed25519.pub" ed25519
run opt-site trust nautilus
like "$out" "already pinned" "trusting again changes nothing"

run opt-tunnel start nautilus
is "$rc" 0 "a strict site with a pinned key comes up"

# The site gets a new host key.
stop_sshd
rm -f "$T/sshd/host_ed25519" "$T/sshd/host_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host_ed25519"
newfp=$(ssh-keygen -l -f "$T/sshd/host_ed25519.pub" | cut -d' ' -f2)
start_sshd
wait_for 20 grep -q '^state=hostkey-mismatch' "$MAST_RUN_DIR/nautilus.state"
ok $? "the tunnel refuses the new key: state hostkey-mismatch" || { diag "$(cat "$MAST_LOG_DIR/nautilus.log")"; diag "$(cat "$MAST_RUN_DIR/nautilus.state")"; }

before=$(sha256sum "$kh")
run opt-site trust nautilus
is "$rc" 65 "trust refuses a changed key without --fingerprint"
has "$err" "the host key changed: pinned $fp, offered $newfp; if the site really has a new key, run 'opt-site trust nautilus --fingerprint $newfp'" "...saying both keys and what to run"
run opt-site trust nautilus --fingerprint SHA256:wrong
is "$rc" 65 "trust refuses a --fingerprint that does not match"
has "$err" "the host key is $newfp, not SHA256:wrong; nothing pinned" "...saying so"
refused 65 "is not SHA256:" "a fingerprint in another form" -- opt-site trust nautilus --fingerprint abc
is "$(sha256sum "$kh")" "$before" "known_hosts is unchanged"

run opt-site trust nautilus --fingerprint "$newfp"
is "$rc" 0 "trust with the new key's fingerprint"
is "$(grep -c "^\[127.0.0.1\]:$SSHD_PORT " "$kh")" 1 "the old key is replaced, not kept beside"
pinned_is "$T/sshd/host_ed25519.pub" "new ed25519"
wait_for 15 grep -q '^state=up' "$MAST_RUN_DIR/nautilus.state"
ok $? "the tunnel comes up with the trusted key at once"

# A key of another type is another key: an ECDSA-only site that starts
# offering ed25519 is refused too, not pinned beside the old key.
stop_tunnels
stop_sshd
ssh-keygen -q -t ecdsa -N '' -f "$T/sshd/host_ecdsa"
sed -i "s|^HostKey .*|HostKey $T/sshd/host_ecdsa|" "$T/sshd/config"
"$SSHD" -D -e -f "$T/sshd/config" 2>>"$T/sshd/log" &
SSHD_PID=$!
cleanup "end_procs $SSHD_PID; sshd_strays"
wait_for 10 port_open "$SSHD_PORT"
ecfp=$(ssh-keygen -l -f "$T/sshd/host_ecdsa.pub" | cut -d' ' -f2)
run opt-site trust nautilus --fingerprint "$ecfp"
is "$rc" 0 "re-trust the site with its ECDSA key"
has "$out" "offers ecdsa-sha2-nistp256 $ecfp" "it shows the ECDSA key as ssh-keygen -l does"
pinned_is "$T/sshd/host_ecdsa.pub" ECDSA
stop_sshd
sed -i "s|^HostKey .*|HostKey $T/sshd/host_ed25519|" "$T/sshd/config"
"$SSHD" -D -e -f "$T/sshd/config" 2>>"$T/sshd/log" &
SSHD_PID=$!
cleanup "end_procs $SSHD_PID; sshd_strays"
wait_for 10 port_open "$SSHD_PORT"
opt-site set nautilus host_key_check=accept-new
run opt-tunnel start nautilus --wait 5
is "$rc" 69 "accept-new does not take an ed25519 key when an ECDSA one is pinned"
like "$err" "hostkey-mismatch" "...it is a host key mismatch"
is "$(grep -c "^\[127.0.0.1\]:$SSHD_PORT " "$kh")" 1 "nothing was pinned beside the ECDSA key"

refused 66 "no such site" "trust of an unknown site" -- opt-site trust nosuch
opt-site add -q dead 127.0.0.1 --port 1
refused 69 "cannot connect to 127.0.0.1 port 1" "trust of an unreachable site" -- opt-site trust dead
done_testing
