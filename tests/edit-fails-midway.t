#!/bin/bash
# An edit that fails midway (disk full, read-only file system, no
# permission) says so in one line, exits with its code, and leaves the
# previous files intact, with no temp file behind.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "mounting a small tmpfs needs root"
	done_testing
	exit
fi

mkdir -p "$MAST_CONFIG_DIR"
mount -t tmpfs -o size=256k,mode=0750 opt-test "$MAST_CONFIG_DIR" || exit 1
cleanup "umount '$MAST_CONFIG_DIR' 2>/dev/null"

opt-site add -q nautilus 203.0.113.10 --description "before"
opt-channel add -q nautilus 192.168.1.20 >/dev/null
before=$(tree_sum)

# Fill the file system up to the last block.
dd if=/dev/zero of="$MAST_CONFIG_DIR/.fill" bs=4k 2>/dev/null
sync
rm_fill() { rm -f "$MAST_CONFIG_DIR/.fill"; }
[ "$(df --output=avail "$MAST_CONFIG_DIR" | tail -1)" -eq 0 ]
ok $? "the config file system is full"

# tree_sum ignores nothing but .lock, so the filler must not count.
sum_without_fill() {
	(cd "$MAST_CONFIG_DIR" && find . -path ./.lock -prune -o -path ./.fill -prune -o -printf '%p %m\n' | sort &&
		find . -type f ! -name .lock ! -name .fill -print0 | sort -z | xargs -0r sha256sum) | sha256sum | cut -d' ' -f1
}
before=$(sum_without_fill)

run opt-channel add nautilus 192.168.1.21 --description "$(printf 'x%.0s' $(seq 80))"
is "$rc" 73 "channel add on a full disk: exit 73"
like "$err" "^opt-channel: nautilus: cannot write .*/nautilus/channels.conf: No space left on device$" \
	"...saying which file and why"
run opt-site set nautilus description=after
is "$rc" 73 "site set on a full disk: exit 73"
like "$err" "No space left on device" "...no space"
run opt-site add other 198.51.100.7
is "$rc" 73 "site add on a full disk: exit 73"
is "$(printf '%s\n' "$err" | wc -l)" 1 "...in one line"
is "$(sum_without_fill)" "$before" "the old files are intact"
is "$(ls -A "$MAST_CONFIG_DIR" | tr '\n' ' ')" ".fill .lock nautilus " "no temp file or half site is left"
rm_fill

run opt-site show nautilus -H
is "$(printf '%s\n' "$out" | sed -n 's/^description\t//p')" before "the site still reads as before"
succeeds "with space again, the edit passes" -- opt-site set nautilus description=after

# Read-only file system.
mount -o remount,ro "$MAST_CONFIG_DIR"
before=$(tree_sum)
refused 73 "Read-only file system" "channel add on a read-only config dir" -- \
	opt-channel add nautilus 192.168.1.22
refused 73 "Read-only file system" "site remove on a read-only config dir" -- \
	opt-site remove nautilus
mount -o remount,rw "$MAST_CONFIG_DIR"

# No permission: a user who may read the config dir but not write it.
chmod 755 "$MAST_CONFIG_DIR" "$MAST_CONFIG_DIR/nautilus" "$T"
chmod 644 "$MAST_CONFIG_DIR"/nautilus/*.conf "$MAST_CONFIG_DIR/.lock"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" "$@"; }
refused 77 "Permission denied" "channel add without write permission" -- \
	as_nobody opt-channel add nautilus 192.168.1.23
refused 77 "Permission denied" "site add without write permission" -- \
	as_nobody opt-site add third 192.0.2.1
run as_nobody opt-channel list -H
is "$rc:$(printf '%s' "$out" | cut -f1-3)" "0:$(printf 'nautilus\t1\t9100')" "reading needs no write permission"

done_testing
