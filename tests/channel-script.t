#!/bin/bash
# opt-channel script: its errors, where HOST comes from, the form of each
# format, and the cups script for real: run against a cupsd of the
# test's own (its own port, socket-free, files in $T), it makes a raw
# queue through which `lp` prints a job that reaches the fake printer
# through a real tunnel, byte for byte.  PowerShell and cmd are not on
# Debian: tests/unit/script.c checks their text exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

C=$MAST_CONFIG_DIR
U='\(see opt-channel --help\)$'
export LC_ALL=C.UTF-8

mkdir -p "$C"
printf 'local_user = "root";\nport_range = [21100, 21999];\n' >"$C/defaults.conf"
chmod 640 "$C/defaults.conf"
opt-site add -q nautilus 127.0.0.1
opt-site add -q empty 127.0.0.1
opt-channel add -q nautilus 192.0.2.20 --description 'Accounting HP' >/dev/null
opt-channel add -q nautilus 192.0.2.21 >/dev/null

# ---- Errors ----------------------------------------------------------------

refused 64 "^opt-channel: script needs SITE $U" "script without SITE" -- \
	opt-channel script --format cups
refused 64 "^opt-channel: script needs --format ps1\|bat\|cups $U" \
	"script without --format" -- opt-channel script nautilus
for o in --format --host --driver; do
	refused 64 "^opt-channel: $o is an option of 'script' only $U" \
		"$o given to list" -- opt-channel list "$o" x
done
refused 64 "^opt-channel: --listen is an option of 'add' only $U" \
	"--listen given to script" -- opt-channel script nautilus --format cups --listen 1
refused 64 "^opt-channel: -H and --json are for list and add $U" \
	"--json given to script" -- opt-channel script nautilus --format cups --json
refused 65 "^opt-channel: nautilus: format 'sh' is not one of ps1, bat, cups$" \
	"a bad --format" -- opt-channel script nautilus --format sh
refused_q 65 "^opt-channel: nautilus: format 'ps1\\\\x0a' is not one of ps1, bat, cups$" \
	"a --format with a newline" -- opt-channel script nautilus --format $'ps1\n'
refused 65 "^opt-channel: nautilus: host 'x y' is not a valid host name or address$" \
	"a bad --host" -- opt-channel script nautilus --format cups --host 'x y'
refused_q 65 "^opt-channel: nautilus: host 'h\\\\x0arm' is not a valid host name or address$" \
	"a --host with a newline" -- opt-channel script nautilus --format cups --host $'h\nrm'
refused 65 "^opt-channel: nautilus: driver 'a\"b' is not a driver name \(1 to 255 bytes of UTF-8 text, without control characters or double quotes\)$" \
	"a --driver with a double quote" -- opt-channel script nautilus --format bat --driver 'a"b'
refused_q 65 "^opt-channel: nautilus: driver 'a\\\\x0ab' is not a driver name" \
	"a --driver with a newline" -- opt-channel script nautilus --format cups --driver $'a\nb'
refused 65 "^opt-channel: site 'No' is not a valid site id" "a bad site id" -- \
	opt-channel script No --format cups
refused 65 "^opt-channel: nautilus: channel id '0' is not a number from 1 to 2147483647$" \
	"a bad channel id" -- opt-channel script nautilus 0 --format cups
refused 66 "^opt-channel: ship: no such site$" "a site that does not exist" -- \
	opt-channel script ship --format cups
refused 66 "^opt-channel: nautilus: channel 9: no such channel$" \
	"a channel that does not exist" -- opt-channel script nautilus 1 9 --format ps1
refused 66 "^opt-channel: empty: no channels$" "a site without channels" -- \
	opt-channel script empty --format bat

# A description with a line break, written into channels.conf by hand,
# is refused where the file is read: it never reaches a script.
cp -p "$C/nautilus/channels.conf" "$T/channels.keep"
sed -i 's/description = "Accounting HP"/description = "Accounting\\nRemove-Item C:\\\\"/' \
	"$C/nautilus/channels.conf"
broken "$C/nautilus/channels.conf" "a newline in a description, by hand" -- \
	opt-channel script nautilus --format ps1 --host h
cp -p "$T/channels.keep" "$C/nautilus/channels.conf"

broken_defaults 'public_host = "x y";' "with a bad public_host" \
	opt-channel script nautilus --format cups
broken_defaults 'public_host = 5;' "with a public_host that is no string" \
	opt-channel script nautilus --format cups

# ---- HOST: --host, else public_host, else this host's FQDN -----------------

printf 'local_user = "root";\nport_range = [21100, 21999];\npublic_host = "print.example.com";\n' \
	>"$C/defaults.conf"
run opt-channel script nautilus --format cups
like "$out" "-v 'socket://print\.example\.com:21100' " "HOST is public_host"
run opt-channel script nautilus --format cups --host fd00::1
like "$out" "-v 'socket://\[fd00::1\]:21100' " "--host wins over public_host, an IPv6 one in brackets"
printf 'local_user = "root";\nport_range = [21100, 21999];\npublic_host = "";\n' \
	>"$C/defaults.conf"
# Only where the test has a network of its own: the name is looked up.
if [ "${OPT_ISOLATED:-0}" = 1 ]; then
	fqdn=$(python3 -c 'import socket
n = socket.gethostname()
try:
    print(socket.getaddrinfo(n, None, flags=socket.AI_CANONNAME)[0][3] or n)
except OSError:
    print(n)')
	run opt-channel script nautilus --format cups
	like "$out" "-v 'socket://$(re "$fqdn"):21100' " \
		"without either, HOST is this host's FQDN ($fqdn)"
else
	skip "this host's FQDN is looked up only in a network namespace of the tests"
fi

# ---- The form of each format -----------------------------------------------

run opt-channel script nautilus --format ps1 --host h
is "$rc:$err" "0:" "ps1: exit 0, nothing on stderr"
is "$(head -c 3 "$T/.out" | od -An -tx1 | tr -d ' ')" efbbbf \
	"ps1: UTF-8 with a BOM (Windows PowerShell reads ANSI without one)"
is "$(grep -c $'\r$' "$T/.out")" "$(grep -c '' "$T/.out")" "ps1: every line ends in CRLF"
like "$out" "Add-OptPrinter -Name 'nautilus-Accounting_HP' -Driver \\\$Driver -Port 'h:21100' -Location 'nautilus' -Comment 'Accounting HP'" \
	"ps1: channel 1's printer"
like "$out" "Add-OptPrinter -Name 'nautilus-2' " "ps1: channel 2, without a description, is SITE-ID"
run opt-channel script nautilus 2 --format bat --host h --driver 'HP Universal'
is "$rc:$err" "0:" "bat: exit 0, nothing on stderr"
is "$(grep -c $'\r$' "$T/.out")" "$(grep -c '' "$T/.out")" "bat: every line ends in CRLF"
like "$(head -1 "$T/.out")" "^@echo off"$'\r'"$" "bat: @echo off first"
like "$out" "prnmngr.vbs\" -a -p \"nautilus-2\" -m \"HP Universal\" -r \"h:21101\"" \
	"bat: channel 2 alone, with the driver asked for"
[[ $out != *nautilus-Accounting_HP* ]]
ok $? "bat: ...and not channel 1"
run opt-channel script nautilus --format cups --host h
is "$rc:$err" "0:" "cups: exit 0, nothing on stderr"
! grep -q $'\r' "$T/.out"
ok $? "cups: no CR"
sh -n "$T/.out"
ok $? "cups: sh -n parses it"

# The cups script through a real sh, with an lpadmin that records its
# arguments: hostile descriptions arrive byte for byte.
hostile=$'It\'s "HP" & co; 100% `touch p1` $(touch p2) $HOME \\ ^ | < > ! \xe2\x80\x99 caf\xc3\xa9'
opt-channel set nautilus 1 "description=$hostile"
mkdir -p "$T/fakebin"
cat >"$T/fakebin/lpadmin" <<'SH'
#!/bin/sh
for a; do printf '%s\0' "$a"; done >>"$ARGS"
printf '\n' >>"$ARGS"
SH
chmod +x "$T/fakebin/lpadmin"
opt-channel script nautilus --format cups --host h >"$T/fake.sh"
mkdir -p "$T/cwd"
(cd "$T/cwd" && ARGS=$T/args PATH=$T/fakebin:$PATH sh "$T/fake.sh")
ok $? "the script runs in sh"
first=$(head -1 "$T/args" | tr '\0' '\n')
want=$(printf '%s\n' -p nautilus-It_s_HP_co_100_touch_p1_touch_p2_HOME_cafe -E -v socket://h:21100 \
	-D "$hostile" -L nautilus -o printer-error-policy=retry-job)
is "$first" "$want" "lpadmin got each argument as written, the description byte for byte"
is "$(wc -l <"$T/args")" 2 "...one lpadmin per channel"
[ -z "$(ls -A "$T/cwd")" ]
ok $? "...and nothing of the description ran"

# ---- The cups script against a cupsd of the test's own ---------------------

CUPSD=${CUPSD:-/usr/sbin/cupsd}
if [ ! -x "$CUPSD" ] || [ ! -x /usr/lib/cups/backend/socket ] ||
	! command -v lp >/dev/null; then
	skip "cupsd, its socket backend and lp are needed (the cups package)"
	done_testing
	exit
fi
need_root "a cupsd whose backends run as lp"

# start_cupsd: a cupsd on 127.0.0.1:$CUPS_PORT with every file in
# $T/cups, no domain socket, no browsing, no authentication; clients
# reach it through CUPS_SERVER only, never the host's own.
start_cupsd() {
	local d=$T/cups
	chmod 755 "$T" # the backend, run as lp, opens the job in $d/spool
	mkdir -p "$d/spool" "$d/cache" "$d/state" "$d/log" "$d/tmp"
	CUPS_PORT=$(free_port)
	cat >"$d/cups-files.conf" <<-CONF
	ServerRoot $d
	RequestRoot $d/spool
	CacheDir $d/cache
	StateDir $d/state
	TempDir $d/tmp
	AccessLog $d/log/access_log
	ErrorLog $d/log/error_log
	PageLog $d/log/page_log
	SystemGroup root
	CONF
	cat >"$d/cupsd.conf" <<-CONF
	Listen 127.0.0.1:$CUPS_PORT
	LogLevel debug
	Browsing No
	WebInterface No
	DefaultAuthType None
	<Location />
	  Order allow,deny
	  Allow all
	</Location>
	<Policy default>
	  <Limit All>
	    Order deny,allow
	  </Limit>
	</Policy>
	CONF
	"$CUPSD" -f -c "$d/cupsd.conf" -s "$d/cups-files.conf" 2>"$d/log/stderr" &
	CUPSD_PID=$!
	cleanup "end_procs $CUPSD_PID"
	export CUPS_SERVER=127.0.0.1:$CUPS_PORT
	wait_for 10 port_open "$CUPS_PORT"
}

# A config of its own for the tunnel's site.
export MAST_CONFIG_DIR=$T/etc2
need_sshd
lp_site
opt-channel set nautilus 1 "description=$hostile"
start_cupsd
ok $? "a cupsd of the test's own listens on 127.0.0.1:$CUPS_PORT"
run opt-tunnel start nautilus
is "$rc" 0 "the tunnel is up"

opt-channel script nautilus --format cups --host 127.0.0.1 >"$T/install.sh"
run sh "$T/install.sh"
is "$rc:$out:$err" "0::" "the cups script runs: exit 0, nothing said"
name=nautilus-It_s_HP_co_100_touch_p1_touch_p2_HOME_cafe
run lpstat -v "$name"
is "$out" "device for $name: socket://127.0.0.1:$port" \
	"the queue prints to the channel's port on this host"
run lpstat -l -p "$name"
like "$out" "Description: $(re "$hostile")" "its description is the channel's, byte for byte"
like "$out" "Location: nautilus" "its location is the site"
run lpoptions -p "$name"
like "$out" "printer-make-and-model='Local Raw Printer'" \
	"it is a raw queue: no driver, no filter"

head -c 300000 /dev/urandom >"$T/job"
run lp -d "$name" "$T/job"
like "$out" "^request id is $name-[0-9]+ " "lp takes the job"
wait_for 30 got_job "$T/lp" "$T/job"
st=$?
ok $st "the job reaches the printer through the tunnel, byte for byte"
[ $st -eq 0 ] || diag "$(grep -v '^d' "$T/cups/log/error_log" | tail -30)"
wait_for 5 logged "event=job-done channel=1 .*bytes_up=300000 "
ok $? "...as the tunnel's log says"

run sh "$T/install.sh"
is "$rc:$err" "0:" "the script runs again"
is "$(lpstat -v | grep -c "^device for $name:")" 1 "...and the queue is still one"
head -c 70000 /dev/urandom >"$T/job2"
lp -d "$name" "$T/job2" >/dev/null
wait_for 30 got_job "$T/lp" "$T/job2"
ok $? "...and still prints"

opt-tunnel stop -q nautilus
done_testing
