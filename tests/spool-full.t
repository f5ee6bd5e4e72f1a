#!/bin/bash
# A spool that cannot take a job whole takes none of it, and a spool
# short of room refuses new clients instead of resetting them after
# their last byte (which CUPS's socket backend takes for printed).  The
# spool is a 160 MiB tmpfs of the test's own (mount namespace),
# spool_max_mb = 64, the site is down; the spool stops listening when
# it has less than 16 MiB of room and listens again at 32 MiB.
#  1. A and B (16 MiB each) are queued; a client that resets after
#     1 MiB leaves nothing (event=job-refused).
#  2. Job C, 40 MiB, would go over spool_max_mb: the backend's
#     connection is reset while it sends (exit 1, "Unable to write
#     print data": cupsd retries or holds the job, as its error policy
#     says), nothing of C is left; D (8 MiB) fits and is queued.
#  3. E (10 MiB) leaves 14 MiB of room: event=spool-full, the channel
#     refuses connections; a small job F from CUPS's backend is refused
#     and the backend tries again by itself.
#  4. sshd back: the deliveries free room (event=spool-room), the
#     backend's next try stores F; A, B, D, E and F are printed whole,
#     in order, and nothing else.
#  5. The file system: with 20 MiB free a 30 MiB job is reset while it
#     sends, nothing left; with 40 MiB free a small job fits; 10 MiB
#     free refuses clients, and freeing the disk lets them in again.
. "$(dirname "$0")/spool.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

MiB=$((1024 * 1024))
need_printing
mkdir -p "$MAST_SPOOL_DIR"
mount -t tmpfs -o size=160m,mode=0750 tmpfs "$MAST_SPOOL_DIR"
ok $? "the spool is a tmpfs of 160 MiB"
cleanup "umount -l '$MAST_SPOOL_DIR'"
need_sshd
need_p910nd_site bind=127.0.0.1 spool_max_mb=64
start_up
stop_sshd
wait_for 10 not_up
ok $? "the site goes down ($(st state))"

# refused_job NAME FILE: the backend's run for NAME is reset mid-job,
# the log says so, and nothing of it is left.
refused_job() {
	local n=$1 before
	before=$(count 'event=job-refused')
	LIMIT=30 cups_print "$port" "$2" "$n"
	is "$rc" 1 "job $n: the backend fails (exit 1), $ms ms"
	like "$(cat "$T/cups-$n.err")" "ERROR: ?Unable to write print data: (Connection reset by peer|Broken pipe)" \
		"job $n: its connection was reset while it sent"
	wait_for 5 test "$(count 'event=job-refused')" -gt "$before"
	ok $? "job $n: event=job-refused is logged: $(grep 'event=job-refused' "$MAST_LOG_DIR/nautilus.log" | tail -1 | sed 's/.* event=job-refused //')"
	wait_for 5 eval '[ -z "$(spool_leftovers)" ]'
	is "$(spool_leftovers | tr '\n' ' ')" "" "job $n: nothing of it is left in the spool"
}

# 1.
for n in A B; do
	head -c $((16 * MiB)) /dev/urandom >"$T/$n"
	cups_print "$port" "$T/$n" "$n"
	is "$rc" 0 "job $n is queued ($ms ms)"
done
before=$(count 'event=job-refused')
python3 - "$port" <<'PY'
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x1bE" + b"x" * (1024 * 1024))
time.sleep(0.5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
wait_for 5 test "$(count 'event=job-refused')" -gt "$before"
ok $? "a client's reset after 1 MiB: event=job-refused: $(grep 'event=job-refused' "$MAST_LOG_DIR/nautilus.log" | tail -1 | sed 's/.* event=job-refused //')"
is "$(spool_leftovers | tr '\n' ' '):$(queued)" ":2" "nothing of it is left, A and B are queued"

# 2.
head -c $((40 * MiB)) /dev/urandom >"$T/C"
refused_job C "$T/C"
like "$(grep 'event=job-refused' "$MAST_LOG_DIR/nautilus.log" | tail -1)" "spool full \(64 MiB\)" \
	"job C: the error names the limit"
head -c $((8 * MiB)) /dev/urandom >"$T/D"
cups_print "$port" "$T/D" D
is "$rc" 0 "job D, which fits, is queued ($ms ms)"
listening "$port"
ok $? "with 24 MiB of room the channel still listens"

# 3.
head -c $((10 * MiB)) /dev/urandom >"$T/E"
cups_print "$port" "$T/E" E
is "$rc" 0 "job E is queued ($ms ms)"
wait_for 5 logged "event=spool-full room_mb=14"
ok $? "14 MiB of room left: event=spool-full"
wait_for 5 eval '! listening "$port"'
ok $? "...and the channel no longer listens"
head -c 300000 /dev/urandom >"$T/F"
run send-job "$port" "$T/F"
is "$rc" 2 "a client is refused, not reset ($err)"
LIMIT=120 cups_print "$port" "$T/F" F &
backend=$!
cleanup "kill $backend 2>/dev/null"
wait_for 20 grep -q "unavailable at this time" "$T/cups-F.err"
ok $? "CUPS's backend cannot connect and will try again: $(grep -h '^WARNING' "$T/cups-F.err" | head -1)"
is "$(queued)" 4 "A, B, D and E are queued, F is not"
like "$(opt-status --channels -H nautilus | awk -F'\t' '$1 == "channel" && $3 == 1')" "spool full: new jobs are refused" \
	"opt-status shows why the channel refuses jobs"

# 4.
start_sshd
wait_for 60 logged "event=spool-room"
ok $? "the deliveries free room: $(grep -o 'event=spool-room.*' "$MAST_LOG_DIR/nautilus.log" | head -1)"
wait "$backend"
is "$?" 0 "CUPS's backend's next try hands F over (exit 0)"
wait_printed 90 "$T/A" "$T/B" "$T/D" "$T/E" "$T/F"
ok $? "A, B, D, E and F are delivered"
is "$(printed "$T/lp" "$T/A" "$T/B" "$T/D" "$T/E" "$T/F" | sed 's/ pieces=.*//')" \
	"whole=5 missing=0 fragments=0 fragment_bytes=0 duplicates=0 trailing=0" \
	"A, B, D, E and F are printed byte for byte, in order, and nothing else"
wait_for 10 test "$(queued)" = 0
is "$(queued)" 0 "the queue is empty"

# 5.
fill() { # fill MIB: a file leaves MIB MiB free on the spool
	rm -f "$MAST_SPOOL_DIR/filler"
	fallocate -l $(($(df -B1 --output=avail "$MAST_SPOOL_DIR" | tail -1) - $1 * MiB)) \
		"$MAST_SPOOL_DIR/filler"
}
fill 20
ok $? "a file leaves 20 MiB free ($(df -h --output=avail "$MAST_SPOOL_DIR" | tail -1 | tr -d ' '))"
head -c $((30 * MiB)) /dev/urandom >"$T/G"
refused_job G "$T/G"
like "$(grep 'event=job-refused' "$MAST_LOG_DIR/nautilus.log" | tail -1)" "[Nn]o space" \
	"job G: the error says the disk is full"
# G filled the disk while it came: the channel may have stopped
# listening then, and listens again at 32 MiB of room.
fill 40
wait_for 5 listening "$port"
ok $? "40 MiB free: the channel listens"
head -c 500000 /dev/urandom >"$T/H"
run send-job "$port" "$T/H"
is "$rc" 0 "a small job fits"
fill 10
wait_for 5 eval '! listening "$port"'
ok $? "10 MiB free: the channel no longer listens"
run send-job "$port" "$T/H"
is "$rc" 2 "...a client is refused"
rm -f "$MAST_SPOOL_DIR/filler"
wait_for 5 listening "$port"
ok $? "the disk freed, it listens again"
head -c 700000 /dev/urandom >"$T/I"
run send-job "$port" "$T/I"
is "$rc" 0 "...and takes a job"
wait_printed 30 "$T/A" "$T/B" "$T/D" "$T/E" "$T/F" "$T/H" "$T/I"
ok $? "H and I are delivered"
is "$(printed "$T/lp" "$T/A" "$T/B" "$T/D" "$T/E" "$T/F" "$T/H" "$T/I" | sed 's/ pieces=.*//')" \
	"whole=7 missing=0 fragments=0 fragment_bytes=0 duplicates=0 trailing=0" \
	"...byte for byte, after the others, and nothing of G"
is "$(spool_leftovers | tr '\n' ' ')" "" "nothing partial is left in the spool"
done_testing
