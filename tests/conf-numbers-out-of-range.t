#!/bin/bash
# A whole number that libconfig would not hold exactly is refused (78),
# naming the file, the line and the setting, in every integer of every
# config file: past 32 bits (libconfig 1.5 wraps port = 4294967318 to
# 22), a hex number past 0x7fffffff (it becomes negative), past 64 bits
# with L, and a leading zero (octal to libconfig 1.7, decimal to 1.5).
# A number held exactly, with L, is checked against the setting's own
# range.  The reading tools, the writing tools and opt-tunnel start all
# refuse, and every file is left byte for byte as it was.
. "$(dirname "$0")/lib.sh"

C=$MAST_CONFIG_DIR
opt-site add -q s 127.0.0.1 --port 9
opt-throttle set -q s --up 50
cat >"$C/s/channels.conf" <<'EOF'
next_id = 2;
channels = (
  { id = 1;
    listen = 9100;
    printer = "192.0.2.9";
    printer_port = 9100;
    max_jobs = 4; }
);
EOF
cat >"$C/defaults.conf" <<'EOF'
local_user = "root";
port = 22;
keepalive_interval = 5;
keepalive_count = 3;
max_jobs = 256;
up = 100;
down = 10000;
port_range = [ 9100,
  9999 ];
spool_max_mb = 100;
spool_keep = 24;
spool_max_age = 604800;
spool_warn_age = 900;
EOF
chmod 640 "$C/s/channels.conf" "$C/defaults.conf"
FILES='s/site.conf s/channels.conf s/throttle.conf defaults.conf'
for f in $FILES; do
	cp "$C/$f" "$T/${f//\//_}.good"
done
restore() { for f in $FILES; do cp "$T/${f//\//_}.good" "$C/$f"; done; }
succeeds "the files as written are read" -- opt-site show s
is "$(grep -n '^port = \|^keepalive_\|^max_jobs\|^spool_max_mb\|^spool_keep' "$C/s/site.conf" | tr '\n' ' ')" \
	"3:port = 9; 8:keepalive_interval = 5; 9:keepalive_count = 3; 12:max_jobs = 256; 13:spool_max_mb = 0; 14:spool_keep = 0; " \
	"site.conf has its whole numbers on lines 3, 8, 9, 12, 13 and 14"
is "$(grep -n '^up\|^down' "$C/s/throttle.conf" | tr '\n' ' ')" "4:up = 50; 5:down = 10000; " \
	"throttle.conf has up on line 4, down on line 5"

# The forms of V that libconfig 1.5 reads as V (or as a negative number,
# or saturated), one a line.
wrapped() {
	local v=$1
	echo $((v + (1 << 32)))
	echo $((v - (1 << 32)))
	printf '0x%x\n' $((v + (1 << 32)))
	printf '0x%x\n' $((v + (1 << 31)))
	perl -Mbigint -e 'print 2**64 + shift, "L\n"' "$v"
	printf '0x1%016xL\n' "$v"
}

# check FILE LINE FIELD V NEW CMD...: FILE (under $C) with the V of
# FIELD on LINE made NEW is refused by CMD with the message WANT ($want).
check() {
	local file=$1 line=$2 field=$3 v=$4 new=$5
	shift 5
	restore
	sed -i "${line}s/\\b$v\\b/$new/" "$C/$file"
	broken_at "$C/$file" ":$line: $field: $want" \
		"$1 ${2:-}: ${file#s/} $field = $new" -- "$@"
}

# every FILE LINE FIELD V CMD...|CMD...: each wrapped form of V, and V
# with a leading zero, refused in FIELD, by each command in turn.
every() {
	local file=$1 line=$2 field=$3 v=$4 new i=0 cmds
	shift 4
	IFS='|' read -ra cmds <<<"$*"
	for new in $(wrapped "$v") "0$v"; do
		read -ra cmd <<<"${cmds[i++ % ${#cmds[@]}]}"
		if [ "$new" = "0$v" ]; then
			want="$(re "$new") has a leading zero \\(octal to libconfig 1.7, decimal to 1.5\\)$"
		else
			want="$(re "$new") is out of range$"
		fi
		check "$file" "$line" "$field" "$v" "$new" "${cmd[@]}"
	done
	# Held exactly (with L), out of the setting's own range; not in an
	# array, whose elements are of one type (9100 and 9999L are refused).
	[ "$field" != port_range ] || return 0
	new="$((v + (1 << 32)))L"
	want=".*\\b${new%L}\\b.*(out of range|not a).*"
	read -ra cmd <<<"${cmds[0]}"
	check "$file" "$line" "$field" "$v" "$new" "${cmd[@]}"
}

# The commands that refuse each file: they read it, write it, or start.
SITE='opt-site show s|opt-site set s description=x|opt-tunnel start s'
CH='opt-channel list s|opt-channel add s 192.0.2.10|opt-tunnel start s|opt-channel set s 1 description=x'
TH='opt-throttle show s|opt-throttle set s --up 60|opt-tunnel start s|opt-throttle off s'
DF='opt-site show s|opt-channel add s 192.0.2.10|opt-site add n 192.0.2.2|opt-throttle set s --up 60|opt-tunnel start s'
while read -r file line field v cmds; do
	every "$file" "$line" "$field" "$v" "${!cmds}" </dev/null
done <<EOF
s/site.conf 3 port 9 SITE
s/site.conf 8 keepalive_interval 5 SITE
s/site.conf 9 keepalive_count 3 SITE
s/site.conf 12 max_jobs 256 SITE
s/site.conf 13 spool_max_mb 0 SITE
s/site.conf 14 spool_keep 0 SITE
s/channels.conf 1 next_id 2 CH
s/channels.conf 3 id 1 CH
s/channels.conf 4 listen 9100 CH
s/channels.conf 6 printer_port 9100 CH
s/channels.conf 7 max_jobs 4 CH
s/throttle.conf 4 up 50 TH
s/throttle.conf 5 down 10000 TH
defaults.conf 2 port 22 DF
defaults.conf 3 keepalive_interval 5 DF
defaults.conf 4 keepalive_count 3 DF
defaults.conf 5 max_jobs 256 DF
defaults.conf 6 up 100 DF
defaults.conf 7 down 10000 DF
defaults.conf 8 port_range 9100 DF
defaults.conf 9 port_range 9999 DF
defaults.conf 10 spool_max_mb 100 DF
defaults.conf 11 spool_keep 24 DF
defaults.conf 12 spool_max_age 604800 DF
defaults.conf 13 spool_warn_age 900 DF
EOF

# What is not a whole number to libconfig is left alone.
restore
cat >>"$C/s/site.conf" <<'EOF'
# port = 4294967318;
/* keepalive_count = 0x80000016;
   max_jobs = 022; */
EOF
sed -i 's/^description = .*/description = "port = 4294967318; 0x80000016 022";/' "$C/s/site.conf"
run opt-site show s
is "$rc" 0 "numbers in comments and strings are not read"
like "$out" "port = 4294967318; 0x80000016 022" "the string is kept whole"
cp "$T/s_site.conf.good" "$C/s/site.conf"
sed -i 's/^port = 9;/port = 0x16;/' "$C/s/site.conf"
run opt-site show s --json
is "$rc" 0 "a hex number within 32 bits is read"
like "$out" '"port": ?22\b' "0x16 is port 22"
sed -i 's/^port = 0x16;/port = 0x0000000000000016;/' "$C/s/site.conf"
run opt-site show s --json
like "$rc:$out" '^0:.*"port": ?22\b' "leading zeros in a hex number are read as hex"
sed -i 's/^port = .*/port = 22L;/' "$C/s/site.conf"
run opt-site show s --json
like "$rc:$out" '^0:.*"port": ?22\b' "22L is port 22"
done_testing
