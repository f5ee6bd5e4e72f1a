# The real parts of the spool tests: p910nd, a raw printer daemon, as
# the site's printer (its device is tests/lp-device), and CUPS's
# AppSocket backend as the datacenter's spooler, run as cupsd runs it.
# Sourced first, before lib.sh and sshd.sh: as root the test runs again
# in a network and a mount namespace of its own (unshare -n -m), where
# p910nd may bind port 9100 and lock /var/lock/p910nd/p9100d (a tmpfs
# on /run/lock that only this test sees), and where a test may mount a
# small file system of its own; nothing of it is seen outside.

# OPT_IN_SPOOL_NS names the mount namespace the test was started in:
# the tmpfs goes on /run/lock only in another one, the test's own.
if [ -z "${OPT_IN_SPOOL_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare -n -m true 2>/dev/null; then
	OPT_IN_SPOOL_NS=$(readlink /proc/self/ns/mnt) \
		exec unshare -n -m --propagation private "$0" "$@"
fi
if [ -n "${OPT_IN_SPOOL_NS:-}" ] &&
	[ "$OPT_IN_SPOOL_NS" != "$(readlink /proc/self/ns/mnt)" ]; then
	ip link set lo up
	# (In make check-debian13's tree /run is an empty tmpfs: no /run/lock.)
	mkdir -p "$(readlink -f /var/lock)" &&
		mount -t tmpfs -o mode=0755,size=1m tmpfs "$(readlink -f /var/lock)" &&
		mkdir /var/lock/p910nd
else
	OPT_IN_SPOOL_NS=
fi

# The socket backend as Debian's cups package installs it: enabled in
# backend/ (its debconf default), always in backend-available/.
CUPS_SOCKET=/usr/lib/cups/backend/socket
[ -x "$CUPS_SOCKET" ] || CUPS_SOCKET=/usr/lib/cups/backend-available/socket

# need_printing: the namespace above, p910nd, the backend and gs; a
# visible skip without root, one failed test if a program is missing
# (scripts/install-deps installs them).
need_printing() {
	local missing=
	if [ -z "${OPT_IN_SPOOL_NS:-}" ]; then
		skip "p910nd binds port 9100: it needs a network namespace of the test's own (root, unshare)"
		done_testing
		exit
	fi
	[ -x "$CUPS_SOCKET" ] || missing="$missing CUPS's socket backend (cups)"
	command -v p910nd >/dev/null || missing="$missing p910nd"
	command -v gs >/dev/null || missing="$missing gs (ghostscript)"
	[ -d /var/lock/p910nd ] || missing="$missing a /var/lock/p910nd of the test's own"
	[ -z "$missing" ] && return 0
	ok 1 "installed, as scripts/install-deps does:$missing"
	done_testing
	exit
}

# start_p910nd NAME [lp-device option...]: p910nd on 127.0.0.1:9100
# ($P910ND_PORT), in the foreground, one job at a time; what it prints
# lands in $T/NAME/stream, each job's place in $T/NAME/index.
start_p910nd() {
	local name=$1 dev pid
	shift
	mkdir -p "$T/$name"
	lp-device "$T/$name.fifo" "$T/$name" "$@" 2>>"$T/$name.err" &
	dev=$!
	cleanup "end_procs $dev"
	wait_for 5 test -p "$T/$name.fifo" || return 1
	p910nd -d -i 127.0.0.1 -f "$T/$name.fifo" 0 >>"$T/$name.log" 2>&1 &
	pid=$!
	cleanup "end_procs $pid"
	P910ND_PORT=9100
	wait_for 5 listening "$P910ND_PORT"
}

# p910nd_site [KEY=VALUE ...] [lp-device option...]: printer lp, a
# p910nd, and site nautilus with the settings given, whose one channel
# to lp listens on $port, in mode $MODE (spool unless told); the
# tunnels are stopped at exit.
p910nd_site() {
	local settings=()
	while [ $# -gt 0 ] && [[ $1 == [a-z]*=* ]]; do
		settings+=("$1")
		shift
	done
	start_p910nd lp "$@" || return 1
	add_test_site nautilus "${settings[@]}" || return 1
	cleanup stop_tunnels
	if [ "${MODE:-spool}" = direct ]; then
		port=$(opt-channel add -q nautilus "127.0.0.1:$P910ND_PORT")
	else
		port=$(opt-channel add -q nautilus "127.0.0.1:$P910ND_PORT" \
			--mode "${MODE:-spool}")
	fi
}

# cups_print PORT FILE N: the socket backend sends FILE to PORT as job
# N, as cupsd runs it (DEVICE_URI; job-id user title copies options
# file); its messages in $T/cups-N.err.  Leaves $ms, how long it ran,
# and $rc, its exit status: 0 once it sent the job, shut down its side
# and saw the other end close, or reset (a reset after the job's last
# byte, while it waits for the end, is success to it); 1 when its
# connection fails while it sends ("Unable to write print data"): it
# does not try again, cupsd applies the queue's error policy.  A
# refused connection it tries again by itself, every 5 to 30 s; timeout
# ends it after LIMIT s (20 unless told): 124.
cups_print() {
	local t0
	t0=$(ms_now)
	DEVICE_URI="socket://127.0.0.1:$1" timeout "${LIMIT:-20}" \
		"$CUPS_SOCKET" "$3" "$(id -un)" "job $3" 1 '' "$2" \
		>"$T/cups-$3.out" 2>"$T/cups-$3.err"
	rc=$?
	ms=$(($(ms_now) - t0))
}

# print_all FILE...: cups_print of each to $port, in order, as jobs 1,
# 2, ...; it stops at the first that fails (each of a broken spool's
# would wait LIMIT s).  Leaves $failed, how many were not handed over,
# and $times, each run's ms.
print_all() {
	local n=0 f
	failed=0 times=
	for f; do
		n=$((n + 1))
		cups_print "$port" "$f" "$n"
		times="$times $ms"
		[ "$rc" -eq 0 ] && continue
		failed=$(($# - n + 1))
		diag "job $n: exit $rc, the jobs after it not sent: $(tail -3 "$T/cups-$n.err")"
		break
	done
}

# print_data FILE N: print-like data, different for each N: a PostScript
# invoice of 1 + N % 4 pages of 30 + N lines, rendered by ghostscript
# for a LaserJet (PCL 5, ljet4) for an even N and as PCL XL (pxlmono)
# for an odd one.
print_data() {
	local ps=$1.ps pages=$((1 + $2 % 4)) dev=ljet4 p
	[ $(($2 % 2)) -eq 0 ] || dev=pxlmono
	{
		echo '%!PS'
		echo '/Helvetica findfont 11 scalefont setfont'
		for ((p = 1; p <= pages; p++)); do
			echo "1 1 $((30 + $2)) { /i exch def 60 780 i 12 mul sub moveto"
			echo "(Job $2 page $p line ) show i 4 string cvs show"
			echo "( Nautilus HQ - accounting) show } for"
			echo "newpath 80 60 moveto $((200 + 37 * $2 % 300)) 60 lineto"
			echo "$((200 + 37 * $2 % 300)) 40 lineto closepath fill"
			echo showpage
		done
	} >"$ps"
	gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE="$dev" -r300 \
		-sOutputFile="$1" "$ps" && rm -f "$ps"
}

# printed DIR FILE...: how the stream printer DIR got matches the jobs
# FILE... sent in that order: one line "whole=W missing=M fragments=F
# fragment_bytes=B duplicates=D trailing=X pieces=P again=I,...".  A
# job counts whole where its bytes come next in the stream; before it
# may come a fragment (a first part of it: a cut delivery), after it
# the whole job again, or a fragment and the whole job again (a
# duplicate); a job whose bytes do not come next is missing and the
# stream is matched on with the job after it; trailing is what is left
# after the last job; pieces is how many opens p910nd made; again
# lists (from 1) the jobs printed more than once, whole or in part.
printed() {
	python3 - "$@" <<'PY'
import mmap, os, sys
d, files = sys.argv[1], sys.argv[2:]
path = os.path.join(d, "stream")
size = os.path.getsize(path)
f = open(path, "rb")
s = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
pos = whole = missing = frags = frag_bytes = dups = 0
again = []

def whole_at(p, e):
    return s[p:p + len(e)] == e

def fragment_then_whole(p, e):
    """The next place q > p where e starts whole, s[p:q] being e's start."""
    head = e[:64]
    q = s.find(head, p + 1)
    while q != -1 and q - p < len(e):
        if s[p:q] == e[:q - p] and whole_at(q, e):
            return q
        q = s.find(head, q + 1)
    return -1

for i, name in enumerate(files, 1):
    with open(name, "rb") as g:
        e = g.read()
    if not e:
        continue
    before = frags + dups
    if whole_at(pos, e):
        pos += len(e)
    else:
        q = fragment_then_whole(pos, e)
        if q == -1:
            missing += 1
            continue
        frags += 1
        frag_bytes += q - pos
        pos = q + len(e)
    whole += 1
    while True:
        if whole_at(pos, e):
            dups += 1
            pos += len(e)
            continue
        q = fragment_then_whole(pos, e)
        if q == -1:
            break
        frags += 1
        frag_bytes += q - pos
        pos = q + len(e)
        dups += 1
    if frags + dups > before:
        again.append(str(i))
with open(os.path.join(d, "index")) as g:
    pieces = sum(1 for line in g if line.strip())
print("whole=%d missing=%d fragments=%d fragment_bytes=%d duplicates=%d "
      "trailing=%d pieces=%d again=%s" % (whole, missing, frags, frag_bytes,
                                          dups, size - pos, pieces,
                                          ",".join(again)))
PY
}

# slow_client PORT FILE: a client that sends FILE to PORT in 64 KiB
# every 50 ms (1.3 MB/s), half-closes, and reads to the end; exit 0 on a
# clean end, 3 on a reset or another error.
slow_client() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    with open(sys.argv[2], "rb") as f:
        for b in iter(lambda: f.read(65536), b""):
            s.sendall(b)
            time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
except OSError as e:
    print("slow_client: %s" % e, file=sys.stderr)
    sys.exit(3)
PY
}

# stream_size DIR: the bytes printer DIR printed; stream_has DIR N: N
# bytes or more.
stream_size() { stat -c %s "$1/stream" 2>/dev/null || echo 0; }
stream_has() { [ "$(stream_size "$1")" -ge "$2" ]; }

# printer_idle DIR: no job is being printed: the index accounts for the
# whole stream (its last line ends where the stream does).
printer_idle() {
	local n start bytes
	read -r n start bytes < <(tail -n 1 "$1/index" 2>/dev/null) &&
		[ -n "$n" ] && [ $((start + bytes)) -eq "$(stream_size "$1")" ]
}

# wait_printed SECONDS FILE...: within SECONDS, the log says as many
# jobs delivered as there are FILEs, and printer lp has printed at least
# their bytes and is idle.
wait_printed() {
	local secs=$1
	shift
	wait_for "$secs" logged_n "$#" 'event=job-delivered channel=1 ' &&
		wait_for 10 stream_has "$T/lp" "$(total "$@")" &&
		wait_for 10 printer_idle "$T/lp"
}

# total FILE...: their bytes, added up.
total() { cat "$@" | wc -c; }

# spool_leftovers: the files of the sites' spools that are no whole
# job: what an intake leaves until its commit (.ID.part, .ID.meta, and
# .last_id), a .data without its .job, a .job without its .data.
spool_leftovers() {
	local f
	find "$MAST_SPOOL_DIR" -mindepth 2 -type f 2>/dev/null | sort | while read -r f; do
		case ${f##*/} in
		last_id) ;;
		.*) echo "$f" ;;
		*.data) [ -e "${f%.data}.job" ] || echo "$f" ;;
		*.job) [ -e "${f%.job}.data" ] || echo "$f" ;;
		*) echo "$f" ;;
		esac
	done
}

# queued [SITE]: how many jobs opt-queue lists for SITE (nautilus).
queued() { opt-queue list -H "${1:-nautilus}" 2>/dev/null | grep -c .; }
# count ERE [SITE]: how many lines of the site's log match ERE.
count() { grep -Ec -- "$1" "$MAST_LOG_DIR/${2:-nautilus}.log" 2>/dev/null; }
# logged_n N ERE [SITE]: at least N lines of the log match ERE.
logged_n() { [ "$(count "$2" "${3:-nautilus}")" -ge "$1" ]; }

# need_p910nd_site [ARG...]: p910nd_site, and a test of it; on failure
# the end of the file.
need_p910nd_site() {
	if p910nd_site "$@" 2>"$T/site.err" && [ -n "$port" ]; then
		ok 0 "printer lp (p910nd) and a ${MODE:-spool} channel to it on port $port"
		return 0
	fi
	ok 1 "printer lp (p910nd) and a ${MODE:-spool} channel to it"
	diag "$(cat "$T/site.err")"
	done_testing
	exit
}

# start_up [SITE]: opt-tunnel start, and the tunnel up, and a test of
# it; on failure the end of the file.
start_up() {
	run opt-tunnel start "${1:-nautilus}"
	if wait_for 20 state_is up "${1:-nautilus}"; then
		ok 0 "the tunnel starts and is up"
		return 0
	fi
	ok 1 "the tunnel starts and is up"
	diag "opt-tunnel start: exit $rc: $err" "$(tail -5 "$MAST_LOG_DIR/${1:-nautilus}.log" 2>/dev/null)"
	done_testing
	exit
}

# tunnel_pid [SITE]: the pid its pidfile holds.
tunnel_pid() { cat "$MAST_RUN_DIR/${1:-nautilus}.pid" 2>/dev/null; }
not_up() { ! state_is up; }
