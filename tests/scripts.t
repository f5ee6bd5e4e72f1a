#!/bin/bash
# The scripts of scripts/ that compose the tools: the mast init script
# (its output line by line: mast-compat.t),
# opt-backup and opt-restore, opt-watchdog and opt-install-key, with
# their help, their refusals and, against a real sshd, their work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

S=$top/scripts
export OPT_BIN
PORT_LO=$((22000 + RANDOM % 9000)) PORT_HI=$((PORT_LO + 20))
cleanup stop_tunnels

# --- help, usage errors, shellcheck -------------------------------------
for s in mast opt-backup opt-restore opt-watchdog opt-install-key; do
	succeeds "$s --help" -- "$S/$s" --help
	like "$out" "^usage: $s " "$s --help starts with its usage"
	refused 64 "^$s: unknown option '--bogus' \(see $s --help\)$" \
		"$s: an unknown option is a usage error" -- "$S/$s" --bogus
done
refused 64 "^mast: missing command" "mast without a command" -- "$S/mast"
refused 64 "^mast: unknown command 'reboot'" "mast with an unknown command" -- "$S/mast" reboot
refused 64 "^opt-install-key: missing SITE" "opt-install-key without a site" -- "$S/opt-install-key"
refused 64 "not an absolute path" "a relative -C is a usage error" -- "$S/opt-backup" -C etc "$T/x.tgz"
refused 64 "not a number" "opt-watchdog --wait needs seconds" -- "$S/opt-watchdog" --wait soon
if command -v shellcheck >/dev/null; then
	run shellcheck "$S/mast" "$S/opt-backup" "$S/opt-restore" "$S/opt-watchdog" "$S/opt-install-key"
	is "$rc:$out" "0:" "shellcheck finds nothing"
else
	skip "shellcheck is not installed"
fi

# --- mast status with nothing running ------------------------------------
# mast's line (mast-compat.t has them all); mast exited 0 whatever the
# state of the tunnels, and so does this script.
fb() { printf '\t%-48s%s\t%s\n' "$@"; }
mkdir -p "$MAST_CONFIG_DIR"
run "$S/mast" status
is "$rc:$out:$err" "0::" "mast status without any site: 0, nothing"
opt-site add -q stopped1 127.0.0.1
run "$S/mast" status
is "$rc:$out" "0:$(fb stopped1 off 'service has not been started yet')" \
	"mast status of a stopped site: 0, and mast's off line"
refused 66 "^opt-status: nowhere: no such site$" "mast status of no such site: 66" \
	-- "$S/mast" status nowhere
opt-site remove -q stopped1

# --- opt-backup and opt-restore -------------------------------------------
opt-site add -q nautilus 203.0.113.10 --description 'Nautilus HQ'
opt-site add -q ship 198.51.100.7 --port 2222
opt-channel add -q nautilus 192.168.1.20 --listen 9100 >/dev/null
opt-channel add -q ship 10.1.1.5:9101 --listen 9150 >/dev/null
opt-throttle set -q ship --up 200
printf '[198.51.100.7]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpt\n' >"$MAST_CONFIG_DIR/ship/known_hosts"
chmod 600 "$MAST_CONFIG_DIR/ship/known_hosts"
mkdir "$MAST_CONFIG_DIR/.mast-legacy"
echo 'RemoteHost="203.0.113.10"' >"$MAST_CONFIG_DIR/.mast-legacy/nautilus"
if [ "$(id -u)" = 0 ]; then
	chown 1:2 "$MAST_CONFIG_DIR/ship/throttle.conf"
fi

# tree_owners DIR: paths, types, modes and owners.
tree_owners() { (cd "$1" && find . ! -name .lock -printf '%p %y %m %U:%G\n' | sort); }
sum_of() { MAST_CONFIG_DIR=$1 tree_sum; }
orig_sum=$(tree_sum)
orig_owners=$(tree_owners "$MAST_CONFIG_DIR")

succeeds "opt-backup FILE" -- "$S/opt-backup" "$T/backup.tgz"
is "$out" "" "opt-backup is silent"
is "$(stat -c %a "$T/backup.tgz")" 600 "the archive is mode 0600"
ls -A "$T" | grep -q '^\.opt-backup\.'
ok $((!$?)) "no temporary file is left"
run tar -tzf "$T/backup.tgz"
is "$rc:$(printf '%s\n' "$out" | grep -c '\.lock$')" "0:0" "a tar.gz, without the lock file"

succeeds "opt-restore into a new directory" -- "$S/opt-restore" -C "$T/etc2" "$T/backup.tgz"
is "$out" "$T/etc2: restored from $T/backup.tgz" "opt-restore says so"
is "$(sum_of "$T/etc2")" "$orig_sum" "the same tree: paths, modes, contents"
is "$(tree_owners "$T/etc2")" "$orig_owners" "the same owners and modes"
run env MAST_CONFIG_DIR="$T/etc2" opt-channel list -H
is "$out" "$(opt-channel list -H)" "the tools read the restored tree"

"$S/opt-backup" | "$S/opt-restore" -q -C "$T/etc3"
ok $? "opt-backup | opt-restore, through a pipe"
is "$(sum_of "$T/etc3")" "$orig_sum" "the same tree through the pipe"

refused 73 "^opt-restore: $MAST_CONFIG_DIR: not empty; give --force to replace it$" \
	"opt-restore refuses a directory that is not empty" -- "$S/opt-restore" "$T/backup.tgz"
opt-site add -q extra 192.0.2.1
opt-channel remove -q nautilus 1
rm "$MAST_CONFIG_DIR/ship/known_hosts"
changed=$(tree_sum)
refused 73 "not empty" "still, after changes" -- "$S/opt-restore" "$T/backup.tgz"
succeeds "opt-restore --force" -- "$S/opt-restore" --force "$T/backup.tgz"
is "$(tree_sum)" "$orig_sum" "--force puts back the tree as it was saved"
is "$(tree_owners "$MAST_CONFIG_DIR")" "$orig_owners" "with its owners and modes"
[ "$changed" != "$orig_sum" ]
ok $? "(the tree had changed)"
ls -A "$T" | grep -q 'restore'
ok $((!$?)) "no temporary directory is left beside it"

# Archives that would write outside the directory, or links.
python3 - "$T" <<-'EOF'
	import io, sys, tarfile
	def make(name, members):
	    with tarfile.open(sys.argv[1] + "/" + name, "w:gz") as t:
	        d = tarfile.TarInfo("./"); d.type = tarfile.DIRTYPE; d.mode = 0o750
	        t.addfile(d)
	        for path, kind, target in members:
	            m = tarfile.TarInfo(path)
	            if kind == "setuid":
	                m.mode = 0o4755
	                kind = "file"
	            if kind == "file":
	                m.size = 6
	                t.addfile(m, io.BytesIO(b"owned\n"))
	                continue
	            m.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
	            m.linkname = target
	            t.addfile(m)
	make("dotdot.tgz", [("./site/site.conf", "file", ""), ("./site/../../evil-dotdot", "file", "")])
	make("absolute.tgz", [("./site/site.conf", "file", ""), (sys.argv[1] + "/evil-absolute", "file", "")])
	make("parent.tgz", [("../evil-parent", "file", "")])
	make("symlink.tgz", [("./lnk", "symlink", sys.argv[1]), ("./lnk/evil-symlink", "file", "")])
	make("hardlink.tgz", [("./hard", "hardlink", "/etc/passwd")])
	make("setuid.tgz", [("./site/site.conf", "file", ""), ("./evil-setuid", "setuid", "")])
EOF
for a in dotdot absolute parent symlink hardlink setuid; do
	case $a in
	symlink | hardlink) re="refused: '\./(lnk|hard)' is neither a file nor a directory" ;;
	setuid) re="refused: '\./evil-setuid' has a setuid, setgid or sticky bit" ;;
	*) re="refused: '[^']*evil-$a' is outside the configuration directory" ;;
	esac
	refused 65 "^opt-restore: $T/$a.tgz: $re$" "opt-restore refuses an archive with a $a member" \
		-- "$S/opt-restore" -C "$T/new-$a" "$T/$a.tgz"
	[ ! -e "$T/new-$a" ] && ! ls -A "$T" | grep -q -e '^evil' -e 'restore'
	ok $? "$a: nothing is written, neither inside nor outside"
	refused 65 "refused" "$a: with --force over the existing tree too, which stays" \
		-- "$S/opt-restore" --force "$T/$a.tgz"
done
echo 'not an archive' >"$T/junk.tgz"
refused 65 "^opt-restore: $T/junk.tgz: not a tar.gz archive$" "opt-restore refuses junk" \
	-- "$S/opt-restore" --force "$T/junk.tgz"
refused 66 "^opt-restore: $T/none.tgz: no such file$" "opt-restore of no such file" \
	-- "$S/opt-restore" --force "$T/none.tgz"
refused 66 "^opt-backup: $T/nowhere: no such directory$" "opt-backup of no such directory" \
	-- "$S/opt-backup" -C "$T/nowhere" "$T/x.tgz"
refused 73 "^opt-backup: $T/no/dir/x.tgz: no such directory" "opt-backup into no such directory" \
	-- "$S/opt-backup" "$T/no/dir/x.tgz"
refused 64 "^opt-backup: $MAST_CONFIG_DIR/b.tgz: inside the configuration directory" \
	"opt-backup will not write into the directory it saves" -- "$S/opt-backup" "$MAST_CONFIG_DIR/b.tgz"
(
	exec 9>>"$MAST_CONFIG_DIR/.lock"
	flock 9
	MAST_LOCK_TIMEOUT=0 "$S/opt-backup" "$T/busy.tgz" 2>"$T/busy.err"
	echo "$?" >"$T/busy.rc"
)
is "$(cat "$T/busy.rc"):$(cat "$T/busy.err")" \
	"75:opt-backup: $MAST_CONFIG_DIR: the configuration lock is busy; try again" \
	"opt-backup waits for the lock, then gives up with 75"

# A lock file the user may not open: one line, the script's status.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" "$@"; }
chmod 755 "$T"
mkdir -p -m 755 "$T/locked" "$T/rparent"
echo 'port_range = [9100, 9999];' >"$T/locked/defaults.conf"
chmod 644 "$T/locked/defaults.conf"
install -m 0600 /dev/null "$T/locked/.lock"
refused 66 "^opt-backup: $T/locked/.lock: cannot open$" \
	"opt-backup of a lock file it cannot open: 66, one line" -- \
	as_nobody "$S/opt-backup" -C "$T/locked"
"$S/opt-backup" -C "$T/locked" "$T/locked.tgz" && chmod 644 "$T/locked.tgz"
cp -a "$T/locked" "$T/rparent/conf"
chown nobody "$T/rparent" "$T/rparent/conf"
refused 73 "^opt-restore: $T/rparent/conf/.lock: cannot open$" \
	"opt-restore over a lock file it cannot open: 73, one line" -- \
	as_nobody "$S/opt-restore" -q --force -C "$T/rparent/conf" "$T/locked.tgz"

# --- opt-install-key: refusals --------------------------------------------
refused 66 "^opt-site: nowhere: no such site$" "opt-install-key of no such site: 66" \
	-- "$S/opt-install-key" nowhere
refused 66 "^opt-install-key: $T/none.pub: no such key file$" "opt-install-key without the key file: 66" \
	-- "$S/opt-install-key" --key "$T/none.pub" nautilus
if [ -e /var/lib/mast/.ssh/id_ed25519.pub ]; then
	skip "the default key: /var/lib/mast/.ssh/id_ed25519.pub exists here"
else
	refused 66 "^opt-install-key: /var/lib/mast/.ssh/id_ed25519.pub: no such key file$" \
		"the default key is the mast user's" -- "$S/opt-install-key" nautilus
fi
# An RSA key: refused where the tunnel's libssh2 (1.10) cannot sign with
# it; where it can (1.11), installed on the sshd below.
ssh-keygen -q -t rsa -b 3072 -N '' -f "$T/id_rsa" -C rsa
if ! rsa_signs; then
	refused 65 "^opt-install-key: $T/id_rsa.pub: an RSA key, which the tunnel cannot use" \
		"opt-install-key refuses an RSA key (libssh2 $(libssh2_built))" \
		-- "$S/opt-install-key" --key "$T/id_rsa.pub" nautilus
fi
ssh-keygen -q -t ed25519 -N '' -f "$T/mast_key" -C 'mast@dc "test"'
refused 65 "^opt-install-key: $T/mast_key: not a public key file" \
	"opt-install-key refuses a private key" -- "$S/opt-install-key" --key "$T/mast_key" nautilus
opt-site set nautilus host_key_check=strict
refused 69 "^opt-install-key: nautilus: no host key is pinned and host_key_check is strict" \
	"a strict site without a pinned key: 69, before any connection" \
	-- "$S/opt-install-key" --key "$T/mast_key.pub" nautilus

# --- against a real sshd: mast, opt-watchdog, opt-restore reload ----------
rm -rf "$MAST_CONFIG_DIR"
need_sshd
start_printer lp
add_test_site site1
port=$(opt-channel add -q site1 "127.0.0.1:$PRINTER_PORT")

run "$S/mast" status site1
is "$rc:$out" "0:$(fb site1 off 'service has not been started yet')" "mast status of a stopped site: off"
run "$S/mast" start site1
pid=$(cat "$MAST_RUN_DIR/site1.pid")
is "$rc:$out:$err" "0:$(printf 'Starting mast site1\n'; fb latency waiting 'wait a maximum of 10s before failing'; fb 'starting tunnel' done "pid $pid"):" \
	"mast start: mast's three lines, the tunnel's pid"
run "$S/mast" status site1
is "$rc" 0 "mast status of a running site: 0"
like "$out" "^$(printf '\t')site1:autossh +on$(printf '\t')pid: $pid, uptime: [0-9][0-9]:[0-9][0-9]" "and shows it on"
run "$S/mast" status
is "$rc" 0 "mast status of every site: 0"
echo 'one job' >"$T/job1"
send-job "$port" "$T/job1" >/dev/null
wait_for 10 test -f "$T/lp/job-1"
is "$(sha "$T/lp/job-1")" "$(sha "$T/job1")" "a job goes through the tunnel mast started"
run "$S/mast" stop site1
is "$rc:$out" "0:$(printf 'Stopping mast site1\n'; fb 'stopping tunnel' done "pid $pid")" "mast stop: mast's lines"
run "$S/mast" status site1
is "$rc:$out" "0:$(fb site1 off 'service has not been started yet')" "mast status after stop: off"
"$S/mast" start site1 >/dev/null
pid=$(cat "$MAST_RUN_DIR/site1.pid")
kill -KILL "$pid"
wait_for 5 sh -c "! kill -0 $pid 2>/dev/null"
run "$S/mast" status site1
is "$rc:$out" "0:$(fb site1 off 'the tunnel was killed, leaving its pidfile')" \
	"mast status of a killed tunnel (stale pidfile): off"

# opt-watchdog starts the stale site, says so, then has nothing to do.
run "$S/opt-watchdog"
is "$rc:$out:$err" "0:site1: was stale, started:" "opt-watchdog starts a stale site and says so"
run opt-status -H site1
like "$out" $'^site1\tup\t' "the site is up again"
run "$S/opt-watchdog"
is "$rc:$out:$err" "0::" "opt-watchdog is quiet when every site runs"
opt-tunnel stop -q site1
run "$S/opt-watchdog"
is "$rc:$out:$err" "0:site1: was stopped, started:" "opt-watchdog starts a stopped site"
opt-tunnel stop -q site1
touch "$MAST_CONFIG_DIR/site1/disabled"
run "$S/opt-watchdog"
is "$rc:$out:$err" "0::" "opt-watchdog leaves a site with a 'disabled' file alone, quietly"
run opt-status -H site1
like "$out" $'^site1\tstopped\t' "it stays stopped"
rm "$MAST_CONFIG_DIR/site1/disabled"

# A site that cannot come up: the watchdog starts it, fails, and says so.
dead=$(free_port)
opt-site add -q dead 127.0.0.1 --port "$dead" --user "$(id -un)" --identity "$T/id_ed25519"
run "$S/opt-watchdog" --wait 2
is "$rc" 69 "opt-watchdog exits with opt-tunnel's status when a start fails"
like "$err" "^opt-tunnel: dead: not up" "opt-tunnel's message says which and why"
like "$out" "site1: was stopped, started" "the other site was started all the same"
opt-tunnel stop -q dead
opt-site remove -q dead

# opt-restore reloads the running tunnels.
"$S/opt-backup" "$T/live.tgz"
grep -c 'event=reloaded' "$MAST_LOG_DIR/site1.log" >"$T/reloads-before"
run "$S/opt-restore" --force "$T/live.tgz"
is "$rc:$err" "0:" "opt-restore with a tunnel running"
like "$out" "running tunnels reloaded" "says it reloaded them"
wait_for 5 sh -c "[ \$(grep -c 'event=reloaded' '$MAST_LOG_DIR/site1.log') -gt $(cat "$T/reloads-before") ]"
ok $? "the tunnel re-read its files"
run opt-status -H site1
like "$out" $'^site1\tup\t' "and is still up"

# --- opt-install-key against the sshd -------------------------------------
# ssh logs in with the test key through an agent (no password to type),
# and the sshd gives the account a home in $T instead of the real one.
if ! command -v ssh-agent >/dev/null; then
	skip "opt-install-key copy: no ssh-agent"
else
	mkdir -p "$T/home"
	sed -i "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $T/sshd/authorized_keys $T/home/.ssh/authorized_keys|" \
		"$T/sshd/config"
	echo "SetEnv HOME=$T/home" >>"$T/sshd/config"
	kill -HUP "$SSHD_PID"
	sleep 0.5
	wait_for 10 port_open "$SSHD_PORT"
	eval "$(ssh-agent -s)" >/dev/null
	cleanup "kill $SSH_AGENT_PID 2>/dev/null"
	ssh-add -q "$T/id_ed25519" 2>/dev/null
	fp=$(ssh-keygen -l -f "$T/mast_key.pub" | awk '{ print $2 }')
	rm -f "$MAST_CONFIG_DIR/site1/known_hosts"

	run "$S/opt-install-key" --key "$T/mast_key.pub" site1 </dev/null
	is "$rc" 0 "opt-install-key installs the key"
	like "$out" "^site1: pinned in $MAST_CONFIG_DIR/site1/known_hosts" "accept-new: it pinned the host key first (opt-site trust)"
	like "$out" "site1: installing key ${fp//+/\\+} for $(id -un)@127.0.0.1 port $SSHD_PORT" "it says which key goes where"
	like "$out" "site1: key installed in ~$(id -un)/.ssh/authorized_keys" "and that it is installed"
	like "$out" "site1: note: the tunnel logs in with $T/id_ed25519; to use this key: opt-site set site1 identity=$T/mast_key" \
		"and how to make the tunnel use it"
	is "$(cat "$T/home/.ssh/authorized_keys")" \
		"restrict,port-forwarding,command=\"/bin/false\" $(cat "$T/mast_key.pub")" \
		"authorized_keys has the key with its options"
	is "$(stat -c %a "$T/home/.ssh"):$(stat -c %a "$T/home/.ssh/authorized_keys")" "700:600" \
		"~/.ssh is 0700, authorized_keys 0600"
	run "$S/opt-install-key" -q --key "$T/mast_key.pub" site1 </dev/null
	is "$rc:$out:$err" "0::" "again, with -q: nothing to say"
	is "$(grep -c . "$T/home/.ssh/authorized_keys")" 1 "the key is not added twice"
	run "$S/opt-install-key" --key "$T/mast_key.pub" site1 </dev/null
	like "$out" "site1: key already in ~$(id -un)/.ssh/authorized_keys; nothing changed" "and says so without -q"
	if rsa_signs; then
		run "$S/opt-install-key" --key "$T/id_rsa.pub" site1 </dev/null
		is "$rc" 0 "opt-install-key installs an RSA key (libssh2 $(libssh2_built))"
		like "$out" "site1: installing key $(ssh-keygen -l -f "$T/id_rsa.pub" | awk '{ print $2 }' | sed 's/+/\\+/g') " \
			"it names the RSA key"
		is "$(tail -n 1 "$T/home/.ssh/authorized_keys")" \
			"restrict,port-forwarding,command=\"/bin/false\" $(cat "$T/id_rsa.pub")" \
			"authorized_keys has the RSA key with its options"
	fi
	kill "$SSH_AGENT_PID"
	unset SSH_AUTH_SOCK

	# The tunnel with the installed key: up, jobs pass, and its idle
	# session channel is not refused; the key runs no command.
	opt-site set site1 "identity=$T/mast_key"
	sed -i "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $T/home/.ssh/authorized_keys|" "$T/sshd/config"
	kill -HUP "$SSHD_PID"
	sleep 0.5
	wait_for 10 port_open "$SSHD_PORT"
	: >"$MAST_LOG_DIR/site1.log"
	run opt-tunnel restart site1
	is "$rc" 0 "the tunnel restarts with the installed key and its options"
	like "$out" "^site1: up" "and is up"
	head -c 300000 /dev/urandom >"$T/job2"
	n=$(($(ls "$T/lp" | wc -l) + 1))
	send-job "$port" "$T/job2" >/dev/null
	wait_for 10 test -f "$T/lp/job-$n"
	is "$(sha "$T/lp/job-$n")" "$(sha "$T/job2")" "a job goes through, byte for byte"
	grep -q 'event=no-idle-channel' "$MAST_LOG_DIR/site1.log"
	ok $((!$?)) "the site did not refuse the tunnel's idle session channel"
	run ssh -T -i "$T/mast_key" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-p "$SSHD_PORT" "$(id -un)@127.0.0.1" 'echo ran'
	is "$rc:$out" "1:" "but the key runs no command on the site (command=/bin/false)"
fi

done_testing
