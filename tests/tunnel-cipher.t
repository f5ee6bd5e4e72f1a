#!/bin/bash
# The cipher and MAC a tunnel negotiates are its own preferences
# (bench/LIMITS.md says why): chacha20-poly1305 with libssh2 1.11 and
# later, aes128-ctr with hmac-sha2-256 with 1.10.  A site that offers only an older cipher still
# connects, with that one.  Which case this is comes from the build
# (LIBSSH2_VERSION in config.mk); the sshd's DEBUG1 "kex:" line says
# what was negotiated.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))
SSHD_LOGLEVEL=DEBUG1

built=$(libssh2_built)
like "$built" '^1\.[0-9]+\.[0-9]+' "config.mk names the libssh2 built with: ${built:-none}"
if rsa_signs; then # 1.11.0 and later
	want_cipher=chacha20-poly1305@openssh.com want_mac='<implicit>'
else
	want_cipher=aes128-ctr want_mac=hmac-sha2-256
fi

# kex_is CIPHER MAC NAME: the sshd's last session ran CIPHER and MAC
# from client to server and back.
kex_is() {
	local got
	got=$(sed -n 's/.*kex: \(client->server\|server->client\) cipher: \([^ ]*\) MAC: \([^ ]*\) .*/\2 \3/p' \
		"$T/sshd/log" | tail -n 2 | sort -u)
	is "$got" "$1 $2" "$3"
}

need_sshd
lp_site
run opt-tunnel start nautilus
is "$rc" 0 "start exits 0 (libssh2 $built)"
[ "$rc" = 0 ] || diag "$err" "$(tail -n 5 "$T/sshd/log")"
kex_is "$want_cipher" "$want_mac" "libssh2 $built: $want_cipher, MAC $want_mac, both ways"
head -c 2000000 /dev/urandom >"$T/job"
run send-job "$port" "$T/job"
is "$rc" 0 "a 2 MB job ends cleanly"
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job")" "the printer has it byte for byte"
opt-tunnel stop -q nautilus

# A site that offers only aes256-ctr and hmac-sha2-512: the lists'
# fallbacks.
stop_sshd
SSHD_CONFIG=$'Ciphers aes256-ctr\nMACs hmac-sha2-512' start_sshd
ok $? "sshd offering only aes256-ctr and hmac-sha2-512 starts"
run opt-tunnel start nautilus
is "$rc" 0 "start exits 0 against a site with older ciphers only"
[ "$rc" = 0 ] || diag "$err" "$(tail -n 5 "$T/sshd/log")"
kex_is aes256-ctr hmac-sha2-512 "that site: aes256-ctr and hmac-sha2-512"
run send-job "$port" "$T/job"
is "$rc" 0 "a 2 MB job through it ends cleanly"
wait_for 10 test -f "$T/lp/job-2"
is "$(sha "$T/lp/job-2")" "$(sha "$T/job")" "the printer has it byte for byte"
! logged 'event=cipher-prefs'
ok $? "no cipher-prefs warning in the log"

done_testing
