#!/bin/bash
# The site is down, and CUPS prints anyway: a spool channel keeps
# listening while the site's sshd is gone, and each of 20 jobs (PCL and
# PCL XL pages from ghostscript, and random bytes, each of its own size)
# that CUPS's socket backend sends to it ends at once, with exit 0,
# only once it is on disk; nothing reaches the printer meanwhile.
# sshd is back 30 s after it went: the tunnel delivers the 20 jobs to
# p910nd, one connection each, byte for byte and in the order they
# were accepted, and the spool is empty afterwards.
. "$(dirname "$0")/spool.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

N=20
HANDOVER_MAX=1000 # ms a backend run may take while the site is down
DOWN=30           # s sshd is down
BACK_MAX=60       # s from sshd back to the last job delivered

need_printing
need_sshd
need_p910nd_site bind=127.0.0.1
start_up

stop_sshd
t_down=$(ms_now)
wait_for 10 not_up
ok $? "the site goes down ($(st state): $(st last_error))"

files=() sizes=() slow=0
for ((n = 1; n <= N; n++)); do
	f=$T/job$n
	if [ $((n % 3)) -eq 0 ]; then
		head -c $((n * n * 9000 + n)) /dev/urandom >"$f"
	else
		print_data "$f" "$n"
	fi
	[ "$n" -ne 10 ] || head -c 4194304 /dev/urandom >>"$f" # one of 4 MiB more
	files+=("$f")
	sizes+=("$(stat -c %s "$f")")
done
is "$(printf '%s\n' "${sizes[@]}" | sort -u | grep -c .)" "$N" \
	"$N jobs of different sizes ($(total "${files[@]}") bytes: ${sizes[*]})"

print_all "${files[@]}"
for ms in $times; do
	[ "$ms" -lt "$HANDOVER_MAX" ] || slow=$((slow + 1))
done
is "$failed" 0 "CUPS's socket backend exits 0 for each of the $N jobs, site down"
is "$slow" 0 "each backend run ends within $HANDOVER_MAX ms (ms:$times)"
state_is up
ok $((!$?)) "the site is still down ($(st state))"
is "$(stream_size "$T/lp")" 0 "nothing reached the printer"
is "$(queued)" "$N" "opt-queue lists the $N jobs"
is "$(opt-queue list -H nautilus | cut -f4 | sort -u)" queued "all queued"
is "$(sed -n 's/.* event=job-stored channel=1 job=[0-9]\{10\} peer=[^ ]* bytes=\([0-9]*\) .*/\1/p' \
	"$MAST_LOG_DIR/nautilus.log" | tr '\n' ' ')" "${sizes[*]} " \
	"the log has event=job-stored for each, with its size, in order"

while [ $(($(ms_now) - t_down)) -lt $((DOWN * 1000)) ]; do sleep 0.2; done
start_sshd
ok $? "sshd is back after $(($(ms_now) - t_down)) ms"
t_back=$(ms_now)
want=$(total "${files[@]}")
wait_printed "$BACK_MAX" "${files[@]}"
took=$(($(ms_now) - t_back))
is "$(printed "$T/lp" "${files[@]}" | sed 's/ pieces=.*//')" \
	"whole=$N missing=0 fragments=0 fragment_bytes=0 duplicates=0 trailing=0" \
	"p910nd printed the $N jobs byte for byte, in order ($want bytes, $took ms after sshd was back)"
diag "$(printed "$T/lp" "${files[@]}"): p910nd's opens of its device"
is "$(sed -n 's/.* event=job-delivered channel=1 job=[0-9]\{10\} attempts=1 bytes_up=\([0-9]*\) .*/\1/p' \
	"$MAST_LOG_DIR/nautilus.log" | tr '\n' ' ')" "${sizes[*]} " \
	"the log has event=job-delivered attempts=1 for each, with its size, in order"
wait_for 10 test "$(queued)" = 0
is "$(queued)" 0 "the queue is empty"
is "$(find "$MAST_SPOOL_DIR/nautilus/1" -maxdepth 1 \( -name '*.data' -o -name '*.job' \) | grep -c .)" 0 \
	"no job file is left in the spool"
done_testing
