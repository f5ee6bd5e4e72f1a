#!/bin/bash
# make install puts everything where DESTDIR, prefix and sysconfdir say:
# programs, scripts, man pages, /etc/mast/defaults.conf (never over an
# existing one), the systemd units, tmpfiles.d, logrotate and the bash
# completion, with the installed paths filled in; the units pass
# systemd-analyze verify, tmpfiles.d makes the run directory and the
# spool (and leaves an existing spool alone), the completion completes.
. "$(dirname "$0")/lib.sh"

root=$T/root
unitdir=$root/usr/lib/systemd/system
compdir=$root/usr/share/bash-completion/completions

# Install what is built, as it is built: the build's SANITIZE, so that
# install never rebuilds the tree with other flags.
flags=$(cat "$top/.build-flags" 2>/dev/null)
san=
[[ $flags == *-fsanitize=* ]] && san=SANITIZE=1
install_tree() {
	run make -C "$top" "$@" DESTDIR="$root" prefix=/usr sysconfdir=/etc $san
}

install_tree install
is "$rc" 0 "make install DESTDIR=... prefix=/usr sysconfdir=/etc"
[ "$rc" = 0 ] || diag "$err"
if [ -n "$flags" ]; then
	is "$(cat "$top/.build-flags")" "$flags" "install kept the build's flags"
fi

mode() { stat -c %a "$1" 2>/dev/null; }

for t in opt-site opt-channel opt-throttle opt-tunnel opt-status opt-queue; do
	is "$(mode "$root/usr/bin/$t")" 755 "/usr/bin/$t is installed, mode 0755"
done
run "$root/usr/bin/opt-status" --version
like "$out" '^opt-status \(opt\) [0-9]' "the installed opt-status runs"

for s in "$top"/scripts/opt-* "$top"/scripts/mast*; do
	[ -e "$s" ] && [[ $s != *~ ]] || continue
	s=${s##*/}
	is "$(mode "$root/usr/sbin/$s")" 755 "/usr/sbin/$s is installed, mode 0755"
done
if [ -e "$top/etc/mast-utils.mk" ]; then
	cmp -s "$top/etc/mast-utils.mk" "$root/usr/sbin/mast-utils"
	ok $? "etc/mast-utils.mk is /usr/sbin/mast-utils"
	is "$(mode "$root/usr/sbin/mast-utils")" 755 "mast-utils is mode 0755"
else
	skip "etc/mast-utils.mk does not exist yet"
fi

pages=0
for page in "$top"/man/*.[1-8]; do
	[ -e "$page" ] || continue
	name=${page##*/}
	is "$(mode "$root/usr/share/man/man${name##*.}/$name")" 644 \
		"man page $name is in man${name##*.}"
	pages=$((pages + 1))
done
[ "$pages" -gt 0 ]
ok $? "there are man pages to install"
for s in 1 5 7; do
	for page in "$top"/man/*."$s"; do
		[ -e "$page" ] || continue
		[ -n "$(ls "$root/usr/share/man/man$s")" ]
		ok $? "man$s has pages"
		break
	done
done

is "$(mode "$root/etc/mast")" 750 "/etc/mast is mode 0750"
is "$(mode "$root/etc/mast/defaults.conf")" 640 "/etc/mast/defaults.conf is mode 0640"
cmp -s "$top/etc/defaults.conf" "$root/etc/mast/defaults.conf"
ok $? "defaults.conf is etc/defaults.conf"

for f in "$unitdir/opt-tunnels.service" "$unitdir/opt-tunnel@.service" \
	"$root/usr/lib/tmpfiles.d/open-printing-tunnel.conf" \
	"$root/etc/logrotate.d/open-printing-tunnel" "$compdir/opt-site"; do
	is "$(mode "$f")" 644 "${f#"$root"} is installed, mode 0644"
done

etc_files=("$unitdir"/* "$root"/usr/lib/tmpfiles.d/* "$root"/etc/logrotate.d/*)
is "$(grep -l '@[a-z][a-z]*@' "${etc_files[@]}")" "" "no @placeholder@ is left"
is "$(grep -lF "$root" "${etc_files[@]}")" "" "no file names DESTDIR"
is "$(grep '^ExecStart=' "$unitdir/opt-tunnels.service")" \
	"ExecStart=-/usr/bin/opt-tunnel start" "opt-tunnels starts every site"
is "$(grep '^SuccessExitStatus=' "$unitdir/opt-tunnels.service")" \
	"SuccessExitStatus=69" "a site not up yet is no failure"
is "$(grep '^WantedBy=' "$unitdir/opt-tunnels.service")" \
	"WantedBy=multi-user.target" "opt-tunnels is wanted at boot"
is "$(grep -E '^(ExecStart|Restart)=' "$unitdir/opt-tunnel@.service")" \
	"$(printf 'ExecStart=/usr/bin/opt-tunnel run %%i\nRestart=on-failure')" \
	"opt-tunnel@ runs one site in the foreground, restarted on failure"
tmpfiles=$root/usr/lib/tmpfiles.d/open-printing-tunnel.conf
is "$(grep -v '^#' "$tmpfiles")" \
	"$(printf '%s\n' 'd /run/mast 0755 mast mast -' \
		'd /var/spool/mast :0750 :mast :mast -')" \
	"tmpfiles.d makes /run/mast and /var/spool/mast"
is "$(grep -v '^#' "$root/etc/logrotate.d/open-printing-tunnel" | head -1)" \
	'/var/log/mast/*.log {' "logrotate rotates /var/log/mast/*.log"
like "$(grep -A1 postrotate "$root/etc/logrotate.d/open-printing-tunnel")" \
	'/usr/bin/opt-tunnel reload -q' "logrotate has the tunnels reopen their logs"

# systemd-tmpfiles in a tree of its own, whose passwd has the user mast:
# the spool is made mast's, mode 0750, never cleaned, and an existing
# spool (given to another local_user) keeps its owner and mode.
if ! command -v systemd-tmpfiles >/dev/null; then
	skip "systemd-tmpfiles is not installed: tmpfiles.d is not applied"
elif [ "$(id -u)" -ne 0 ]; then
	skip "applying tmpfiles.d (chown to mast) needs root"
else
	tree=$T/tmpfiles-root
	mkdir -p "$tree/etc"
	echo 'mast:x:4242:4243::/var/lib/mast:/usr/sbin/nologin' >"$tree/etc/passwd"
	echo 'mast:x:4243:' >"$tree/etc/group"
	owner() { stat -c '%a %u:%g' "$1" 2>/dev/null; }
	run systemd-tmpfiles --create --root="$tree" "$tmpfiles"
	is "$rc:$err" "0:" "systemd-tmpfiles --create applies the file"
	is "$(owner "$tree/var/spool/mast")" "750 4242:4243" \
		"/var/spool/mast is made mast's, mode 0750"
	is "$(owner "$tree/run/mast")" "755 4242:4243" \
		"/run/mast is made mast's, mode 0755"
	echo queued >"$tree/var/spool/mast/job"
	chown 4244:4244 "$tree/var/spool/mast"
	chmod 0700 "$tree/var/spool/mast"
	run systemd-tmpfiles --create --clean --root="$tree" "$tmpfiles"
	is "$rc:$(owner "$tree/var/spool/mast")" "0:700 4244:4244" \
		"an existing spool keeps its owner and mode"
	is "$(cat "$tree/var/spool/mast/job" 2>/dev/null)" queued \
		"and what it holds (--clean too)"
fi

if command -v systemd-analyze >/dev/null; then
	# verify wants the programs the units run where they name them:
	# in copies, /usr/bin is the DESTDIR's.
	mkdir "$T/units"
	for u in "$unitdir"/*.service; do
		sed "s|/usr/bin/|$root/usr/bin/|g" "$u" >"$T/units/${u##*/}"
	done
	man=--man=yes
	command -v man >/dev/null || man=--man=no
	run env MANPATH="$root/usr/share/man" systemd-analyze verify $man \
		"$T/units/opt-tunnels.service" "$T/units/opt-tunnel@.service"
	is "$rc:$out$err" "0:" "systemd-analyze verify accepts the units ($man)"
else
	skip "systemd-analyze is not installed: the units are not verified"
fi

# The completion: one file, linked under every tool's name.
bash -n "$compdir/opt-site"
ok $? "bash -n accepts the completion"
for t in opt-channel opt-throttle opt-tunnel opt-status opt-queue; do
	is "$(readlink "$compdir/$t")" opt-site "completion $t links to opt-site"
done

opt-site add -q nautilus 192.0.2.1
opt-site add -q tokyo 192.0.2.2
opt-channel add -q nautilus p1 >/dev/null
opt-channel add -q nautilus p2 >/dev/null
opt-site -C "$T/other" add -q zeta 192.0.2.3
opt-channel -C "$T/other" add -q zeta p9 >/dev/null
opt-channel -C "$T/other" add -q zeta p8 >/dev/null
opt-channel -C "$T/other" add -q zeta p7 >/dev/null

# complete WORD...: what TAB offers after the words, the last being the
# word under the cursor; one line each, sorted.  With $bc set, through
# bash-completion's _init_completion.
complete_line() {
	bash -c '
		[ -n "$1" ] && . "$1"
		. "$2"
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_opt_complete "$1" "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort
	' complete "$bc" "$compdir/opt-site" "$@" 2>&1 | paste -sd' '
}

bc_file=/usr/share/bash-completion/bash_completion
for bc in "" "$bc_file"; do
	how="without bash-completion"
	if [ -n "$bc" ]; then
		how="with bash-completion"
		if [ ! -r "$bc" ]; then
			skip "bash-completion is not installed"
			continue
		fi
	fi
	is "$(complete_line opt-site '')" "add import list remove set show trust" \
		"opt-site commands ($how)"
	is "$(complete_line opt-tunnel start '')" "nautilus tokyo" \
		"site ids ($how)"
	is "$(complete_line opt-tunnel -q restart --wait 5 tokyo '')" "nautilus" \
		"sites already named are not offered again ($how)"
	is "$(complete_line opt-throttle -C "$T/other" set '')" "zeta" \
		"site ids from the -C DIR given before ($how)"
	is "$(complete_line opt-tunnel --config-dir="$T/other" stop '')" "zeta" \
		"site ids from --config-dir=DIR ($how)"
	is "$(complete_line opt-status -qC "$T/other" '')" "zeta" \
		"site ids from -qC DIR ($how)"
	is "$(complete_line opt-channel remove nautilus '')" "1 2" \
		"channel ids ($how)"
	is "$(complete_line opt-channel --config-dir "$T/other" set zeta '')" \
		"1 2 3" "channel ids from --config-dir DIR ($how)"
	is "$(complete_line opt-site set nautilus ho)" "host= host_key_check=" \
		"opt-site set keys ($how)"
	is "$(complete_line opt-channel set nautilus 1 ma)" "max_jobs=" \
		"opt-channel set keys ($how)"
	is "$(complete_line opt-site add x y --host-key-check '')" \
		"accept-new off strict" "--host-key-check values ($how)"
	is "$(complete_line opt-channel add nautilus p --m)" "--mode" \
		"opt-channel add --mode ($how)"
	is "$(complete_line opt-channel add nautilus p --mode '')" \
		"direct spool" "--mode values ($how)"
	is "$(complete_line opt-channel set nautilus 1 mo)" "mode=" \
		"opt-channel set mode= ($how)"
	is "$(complete_line opt-channel set nautilus 1 mode=s)" "spool" \
		"mode= values, as one word ($how)"
	is "$(complete_line opt-channel set nautilus 1 mode = d)" "direct" \
		"mode= values, as bash splits them ($how)"
	is "$(complete_line opt-channel set nautilus 1 mode =)" "direct spool" \
		"mode= values, the cursor after the = ($how)"
	is "$(complete_line opt-site set nautilus spool_m)" \
		"spool_max_age= spool_max_mb=" "opt-site set spool keys ($how)"
	is "$(complete_line opt-channel script nautilus --format '')" \
		"bat cups ps1" "opt-channel script --format values ($how)"
	is "$(complete_line opt-channel script nautilus --f)" "--format" \
		"opt-channel script options ($how)"
	is "$(complete_line opt-channel set nautilus 1 probe=)" "off pjl tcp" \
		"probe= values ($how)"
	is "$(complete_line opt-site set nautilus probe)" "probe_interval=" \
		"opt-site set probe_interval ($how)"
	is "$(complete_line opt-queue '')" "list remove retry show" \
		"opt-queue commands ($how)"
	is "$(complete_line opt-queue retry '')" "nautilus tokyo" \
		"opt-queue completes sites ($how)"
	is "$(complete_line opt-status --ch)" "--channels --check" \
		"opt-status options ($how)"
	is "$(complete_line opt-status tokyo '')" "nautilus" \
		"opt-status completes the sites not yet named ($how)"
done

# A second install keeps an edited defaults.conf.
echo 'port_range = [9200, 9299];' >>"$root/etc/mast/defaults.conf"
sum=$(sha256sum <"$root/etc/mast/defaults.conf")
install_tree install
is "$rc" 0 "make install again"
is "$(sha256sum <"$root/etc/mast/defaults.conf")" "$sum" \
	"make install keeps an existing defaults.conf"
like "$out" "keeping $root/etc/mast/defaults.conf" "and says so"

install_tree uninstall
is "$rc" 0 "make uninstall"
is "$(cd "$root" && find . ! -type d | sort)" \
	"./etc/mast/defaults.conf" "uninstall leaves only defaults.conf"

done_testing
