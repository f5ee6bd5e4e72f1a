#!/bin/bash
# An RSA identity (ssh-keygen -t rsa -b 3072), in PEM form and in
# OpenSSH form.  With libssh2 1.11 and later, which signs it with
# rsa-sha2, it logs in to the real sshd and a job arrives byte for byte;
# with libssh2 1.10 start and run refuse it with 65 and the line that
# says why and what to make instead.  Which case this is comes from the
# build (LIBSSH2_VERSION in config.mk), and the tools' --version must
# say the same.  The sshd takes no ssh-rsa (SHA-1) signature (OpenSSH
# 8.8 and later), so a login is an rsa-sha2 one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 40))

built=$(libssh2_built)
like "$built" '^1\.[0-9]+\.[0-9]+' "config.mk names the libssh2 built with: ${built:-none}"
if rsa_signs; then
	rsa=yes
	want="libssh2 $built, RSA user keys: yes (rsa-sha2-256/512)"
else
	rsa=no
	want="libssh2 $built, RSA user keys: no (no rsa-sha2 signatures)"
fi
run opt-tunnel --version
is "$rc:$(printf '%s\n' "$out" | sed -n 2p)" "0:$want" "opt-tunnel --version: $want"

need_sshd
start_printer lp
cleanup stop_tunnels

# rsa_site SITE FORM: an RSA key $T/id_SITE in FORM (PEM or RFC4716,
# which is ssh-keygen's name for the OpenSSH form of a private key),
# authorized on the sshd, and SITE using it, with one channel to lp on
# $port.
rsa_site() {
	ssh-keygen -q -t rsa -b 3072 -N '' -m "$2" -C "$1" -f "$T/id_$1"
	cat "$T/id_$1.pub" >>"$T/sshd/authorized_keys"
	add_test_site "$1" bind=127.0.0.1 identity="$T/id_$1"
	port=$(opt-channel add -q "$1" "127.0.0.1:$PRINTER_PORT")
}

jobs=0
for form in pem openssh; do
	case $form in
	pem) rsa_site pem PEM && header='BEGIN RSA PRIVATE KEY' ;;
	openssh) rsa_site openssh RFC4716 && header='BEGIN OPENSSH PRIVATE KEY' ;;
	esac
	grep -q -- "-----$header-----" "$T/id_$form"
	ok $? "$form: the key is an RSA key in that form ($header)"
	key_fp=$(ssh-keygen -l -f "$T/id_$form.pub" | awk '{ print $2 }')
	if [ "$rsa" = yes ]; then
		run opt-tunnel start "$form"
		is "$rc" 0 "$form: start exits 0 (libssh2 $built)"
		like "$out" "^$form: up \(pid [0-9]+" "$form: it says the tunnel is up"
		[ "$rc" = 0 ] || diag "$err" "$(tail -n 5 "$T/sshd/log")"
		head -c 3000000 /dev/urandom >"$T/job-$form"
		run send-job "$port" "$T/job-$form"
		is "$rc" 0 "$form: a 3 MB job ends cleanly"
		jobs=$((jobs + 1))
		wait_for 10 test -f "$T/lp/job-$jobs"
		is "$(sha "$T/lp/job-$jobs" 2>/dev/null)" "$(sha "$T/job-$form")" \
			"$form: the printer got the job byte for byte"
		grep -Eq "Accepted publickey for $(id -un) .*RSA $(re "$key_fp")" "$T/sshd/log"
		ok $? "$form: sshd let the RSA key in ($key_fp)"
		run opt-tunnel stop "$form"
		is "$rc:$out" "0:$form: stopped" "$form: stop"
	else
		msg="identity $T/id_$form is an RSA key, which this libssh2 cannot use with OpenSSH 8.8 or later (no rsa-sha2 signatures); make an ed25519 key: ssh-keygen -t ed25519 -N '' -f FILE"
		refused 65 "^opt-tunnel: $form: $(re "$msg")$" \
			"$form: start refuses the RSA key (exit 65, libssh2 $built)" -- \
			opt-tunnel start "$form"
		refused 65 "^opt-tunnel: $form: $(re "$msg")$" \
			"$form: run refuses it too (exit 65)" -- \
			timeout 20 opt-tunnel run "$form"
		[ ! -e "$MAST_RUN_DIR/$form.pid" ] || ! held "$MAST_RUN_DIR/$form.pid"
		ok $? "$form: no tunnel is left running"
		! grep -q "RSA $(re "$key_fp")" "$T/sshd/log"
		ok $? "$form: the key never reached sshd"
	fi
done

# A PEM RSA key with a passphrase: a tunnel has nobody to type it; with
# libssh2 1.10 it is refused as RSA first.
ssh-keygen -q -t rsa -b 3072 -N 'secret phrase' -m PEM -f "$T/id_pw"
add_test_site pw bind=127.0.0.1 identity="$T/id_pw"
if [ "$rsa" = yes ]; then
	why='passphrase'
else
	why='RSA key.*ed25519'
fi
refused 65 "^opt-tunnel: pw: identity $(re "$T/id_pw") .*$why" \
	"a PEM RSA key with a passphrase is refused (exit 65, says $why)" -- \
	opt-tunnel start pw
done_testing
