#!/bin/bash
# The tunnel's private key never leaves its file.  A real tunnel carries
# a job; every listing and status format is captured; the key is made
# unusable in every way the tunnel must refuse (readable or writable by
# group or others, at start and while the tunnel runs, a key the site
# does not accept), a tunnel runs in the foreground with its log on
# stderr, config files writable by group or others are refused at start
# and at reload.  (There is no log level to raise: every event is always
# logged, see opt-tunnel(1) LOG.)  Then no file under the test's tree
# but the key itself holds any line of its base64 body, its secret seed
# (raw, hex or base64 at any alignment), a copy of it, or an OpenSSH
# private key header; the process's command line and environment do not
# either; and the files the tunnel and the tools write are writable by
# their owner only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

PORT_LO=$((29000 + RANDOM % 3000)) PORT_HI=$((PORT_LO + 40))
K=$T/id_ed25519
OUT=$T/out # every stdout and stderr of the tools, kept for the scan
mkdir -p "$OUT"
# save NAME: the output of the last `run` (or `refused`), kept as NAME.
save() { printf '%s' "$out" >"$OUT/$1.out" && printf '%s' "$err" >"$OUT/$1.err"; }
# keep NAME CMD...: runs CMD, and keeps its output as NAME.
keep() {
	local name=$1
	shift
	run "$@"
	save "$name"
}
# job FILE: FILE goes through channel $port and reaches the printer.
job() {
	send-job "$port" "$1" >/dev/null 2>>"$OUT/send-job.err" &&
		wait_for 10 got_job "$T/lp" "$1"
}

need_sshd
lp_site bind=127.0.0.1
key_sha=$(sha "$K")

# ---- A tunnel at work, and everything it shows ------------------------------

keep start opt-tunnel start nautilus
is "$rc" 0 "the tunnel starts"
head -c 1048576 /dev/urandom >"$T/job1"
job "$T/job1"
ok $? "a 1 MiB job reaches the printer byte for byte"
kill -USR1 "$(cat "$MAST_RUN_DIR/nautilus.pid")" # a probe round, logged
wait_for 5 logged "event=probed "
for f in "" --channels -H "-H --channels" --json --prometheus; do
	keep "status$f" opt-status $f
done
keep check opt-status --check
for f in "" -H --json; do
	keep "show$f" opt-site show nautilus $f
	keep "list$f" opt-site list $f
	keep "channels$f" opt-channel list $f
	keep "throttle$f" opt-throttle show $f
done
keep reload opt-tunnel -v reload nautilus
is "$rc" 0 "a verbose reload"
like "$(cat "$OUT/show-H.out")" "$(re "$K")" "opt-site show names the identity by its path"

# ---- The key refused: mode, at start ---------------------------------------

keep stop opt-tunnel stop nautilus
for m in 644 640 604 620 602 660 610 601; do
	chmod "$m" "$K"
	refused 77 "^opt-tunnel: nautilus: identity $(re "$K") is .*\(mode 0$m\)" \
		"start refuses an identity of mode 0$m, naming the file and the mode (77)" -- \
		opt-tunnel start nautilus
	save "start-$m"
done
chmod 600 "$K"
[ ! -e "$MAST_RUN_DIR/nautilus.pid" ] || flock -n "$MAST_RUN_DIR/nautilus.pid" true
ok $? "no tunnel was started with the refused identity"

# ---- The key refused while the tunnel runs ---------------------------------

keep start2 opt-tunnel start nautilus
is "$rc" 0 "with mode 0600 the tunnel starts again"
chmod 640 "$K"
stop_sshd # the site goes down: the next attempts check the identity again
start_sshd
wait_for 15 logged "event=identity-refused "
ok $? "the running tunnel refuses the identity at its next attempt"
like "$(log | grep 'event=identity-refused ' | head -1)" \
	"level=(warn|error) .*$(re "$K").*mode 0640" "...and logs the file and the mode"
wait_for 5 eval 'st last_error | grep -q "mode 0640"'
like "$(st last_error)" "$(re "$K").*mode 0640" "...and the state file's last_error names them"
keep status-refused opt-status -H
chmod 600 "$K"
opt-tunnel reload -q nautilus # no need to wait for the next attempt
wait_for 15 state_is up
ok $? "with mode 0600 again the tunnel comes back up"

# A key the site does not take.
ssh-keygen -q -t ed25519 -N '' -f "$T/other_key" -C other
keep set-other opt-site set nautilus identity="$T/other_key"
wait_for 15 logged "event=auth-failed "
ok $? "a key the site does not accept: event=auth-failed"
keep status-authfail opt-status --channels
keep set-back opt-site set nautilus identity="$K"
opt-tunnel reload -q nautilus
wait_for 15 state_is up
ok $? "the right key again: up"
head -c 300000 /dev/urandom >"$T/job2"
job "$T/job2"
ok $? "...and a job goes through"

# ---- Config files writable by group or others --------------------------------

C=$MAST_CONFIG_DIR/nautilus
pid=$(cat "$MAST_RUN_DIR/nautilus.pid") reconnects=$(st reconnects)
for f in "$C/site.conf g+w" "$C/channels.conf o+w" "$C/throttle.conf g+w" \
	"$MAST_CONFIG_DIR/defaults.conf o+w"; do
	set -- $f
	chmod "$2" "$1"
	n=$(log | grep -c 'event=reload-failed ')
	refused 78 "^opt-tunnel: nautilus: the tunnel refused the files and keeps its old settings: $(re "$1"): .*writable by group or others" \
		"reload refuses ${1##*/} with $2, in one line naming it (78)" -- \
		opt-tunnel reload nautilus
	save "reload-$2"
	wait_for 5 eval '[ "$(log | grep -c "event=reload-failed ")" -gt "$n" ]'
	ok $? "...the tunnel logs event=reload-failed and keeps running"
	chmod "${2/+/-}" "$1"
done
is "$(cat "$MAST_RUN_DIR/nautilus.pid"):$(st state):$(st reconnects)" "$pid:up:$reconnects" \
	"the same tunnel, still up, never reconnected for them"
opt-tunnel stop -q nautilus
chmod g+w "$C/channels.conf"
refused 78 "^opt-tunnel: (nautilus: )?$(re "$C/channels.conf"): .*writable by group or others" \
	"start refuses a channels.conf writable by group (78)" -- opt-tunnel start nautilus
save start-gw
chmod g-w "$C/channels.conf"

# ---- In the foreground, the log on stderr -----------------------------------

opt-tunnel run nautilus >"$OUT/run.out" 2>"$OUT/run.err" &
runpid=$!
cleanup "kill $runpid 2>/dev/null"
wait_for 15 grep -q "event=up " "$OUT/run.err"
ok $? "opt-tunnel run comes up, logging to stderr"
head -c 200000 /dev/urandom >"$T/job3"
job "$T/job3"
ok $? "...and carries a job"
tr '\0' '\n' <"/proc/$runpid/cmdline" >"$OUT/run.cmdline"
tr '\0' '\n' <"/proc/$runpid/environ" >"$OUT/run.environ"
kill -TERM "$runpid"
wait "$runpid"
is "$?" 0 "...and exits 0 on SIGTERM"

# ---- Where the key is not -----------------------------------------------------

# Each line of the key's base64 body that is its own (not in another
# ed25519 key: the first lines of the format are the same in all); the
# 32-byte secret seed of the key, decoded from it, as raw bytes, hex and
# base64 at the three alignments (cut to whole characters).
body=$(sed '1d;$d' "$K" | grep -vxFf "$T/other_key")
python3 - "$K" >"$T/.seed" <<'PY'
import base64, struct, sys
text = open(sys.argv[1]).read().split("\n")
blob = base64.b64decode("".join(l for l in text if l and not l.startswith("-----")))
def take(b, i):
    n = struct.unpack(">I", b[i:i + 4])[0]
    return b[i + 4:i + 4 + n], i + 4 + n
i = len(b"openssh-key-v1\0")
for _ in range(3):  # ciphername, kdfname, kdfoptions
    _, i = take(blob, i)
i += 4  # number of keys
_, i = take(blob, i)  # public key
priv, _ = take(blob, i)
j = 8  # two check ints
_, j = take(priv, j)  # key type
_, j = take(priv, j)  # public part
secret, _ = take(priv, j)  # seed (32) + public (32)
seed = secret[:32]
print(seed.hex())
for k in range(3):
    b = base64.b64encode(b"\0" * k + seed).decode()
    print(b[4 if k else 0:-4])
PY
[ "$(wc -l <"$T/.seed")" = 4 ] && [ "$(head -1 "$T/.seed" | wc -c)" = 65 ]
ok $? "the key's secret seed is decoded from its file (32 bytes)"
seed_hex=$(head -1 "$T/.seed")

# Every file under $T but the key itself (the sshd's own host key and the
# other client key are other keys: they are scanned too).
files=$(find "$T" -type f ! -path "$K" ! -path "$T/.seed" | sort)
nfiles=$(printf '%s\n' "$files" | grep -c '')
is "$(stat -c %a "$K"):$(sha "$K")" "600:$key_sha" "the key file itself is unchanged"
hits=
while IFS= read -r line; do
	[ ${#line} -ge 16 ] || continue
	hits+=$(printf '%s\n' "$files" | xargs -d '\n' grep -lF -- "$line" | sed 's/$/ /')
done <<<"$body"
is "$hits" "" "no line of the key's base64 body ($(printf '%s\n' "$body" | grep -c .) lines its own) is in any of the $nfiles other files"
hits=
for s in $(sed 1d "$T/.seed"); do
	hits+=$(printf '%s\n' "$files" | xargs -d '\n' grep -lF -- "$s" | sed 's/$/ /')
done
hits+=$(printf '%s\n' "$files" | xargs -d '\n' grep -liF -- "$seed_hex")
is "$hits" "" "the secret seed is in no other file, in base64 (3 alignments) or hex"
hits=$(printf '%s\n' "$files" | python3 -c '
import sys
seed = bytes.fromhex(sys.argv[1])
for f in sys.stdin.read().split("\n"):
    if f and seed[:16] in open(f, "rb").read():
        print(f)' "$seed_hex")
is "$hits" "" "...nor as raw bytes (its first 16)"
hits=$(printf '%s\n' "$files" | xargs -d '\n' sha256sum | grep -F "$key_sha" | cut -c67-)
is "$hits" "" "no other file is a copy of the key"
hits=$(printf '%s\n' "$files" | grep -v "^$T/sshd/\|^$T/other_key$" |
	xargs -d '\n' grep -l 'PRIVATE KEY')
is "$hits" "" "no file written by opt or kept from its output has a private key header"
[ -s "$OUT/run.err" ] && [ -s "$OUT/status--json.out" ] && [ -s "$MAST_LOG_DIR/nautilus.log" ] &&
	[ "$(log | grep -c 'event=identity-refused ')" -ge 1 ]
ok $? "...among them the log, the foreground log, the JSON status and the refusals"

# ---- Who may write what the tunnel and the tools wrote ------------------------

opt-tunnel start -q nautilus
wait_for 5 test -f "$MAST_RUN_DIR/nautilus.state"
ww=$(find "$MAST_CONFIG_DIR" "$MAST_RUN_DIR" "$MAST_LOG_DIR" -perm /022 \
	! -type l -printf '%m %p\n')
is "$ww" "" "nothing in the config, run and log trees is writable by group or others"
is "$(stat -c %a "$MAST_RUN_DIR/nautilus.pid")" 644 "the pidfile is mode 0644"
is "$(stat -c %a "$MAST_CONFIG_DIR/nautilus/known_hosts")" 640 \
	"known_hosts, pinned by the tunnel, is mode 0640"
is "$(find "$MAST_CONFIG_DIR" -mindepth 1 -type d ! -perm 750 -printf '%m %p\n')" "" \
	"the site's config dir is mode 0750"
is "$(find "$MAST_CONFIG_DIR" -type f -name '*.conf' ! -perm 640 -printf '%m %p\n')" "" \
	"the config files are mode 0640"
opt-tunnel stop -q nautilus
done_testing
