#!/bin/bash
# Real parts at both ends of a direct channel: CUPS's socket backend,
# run as cupsd runs it, sends 10 jobs (PCL and PCL XL pages from
# ghostscript, and random bytes) through the tunnel to p910nd, a raw
# printer daemon: each run exits 0, p910nd prints each job in a
# connection of its own, byte for byte and in order.  Then, the site
# down, a direct channel no longer listens: the backend's connection is
# refused and it tries again by itself 5 s later, and nothing is
# printed.  (The spool tests, tests/spool-*.t, stand on these parts.)
. "$(dirname "$0")/spool.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

N=10
need_printing
need_sshd
MODE=direct need_p910nd_site bind=127.0.0.1
start_up

files=() failed=0 times=
for ((n = 1; n <= N; n++)); do
	f=$T/job$n
	if [ $((n % 3)) -eq 0 ]; then
		head -c $((n * 50000 + n)) /dev/urandom >"$f"
	else
		print_data "$f" "$n"
	fi
	files+=("$f")
	cups_print "$port" "$f" "$n"
	times="$times $ms"
	[ "$rc" -eq 0 ] || { failed=$((failed + 1)); diag "job $n: exit $rc: $(tail -3 "$T/cups-$n.err")"; }
done
is "$failed" 0 "the socket backend exits 0 for each of the $N jobs (ms:$times)"
want=$(total "${files[@]}")
wait_for 20 stream_has "$T/lp" "$want"
wait_for 10 printer_idle "$T/lp"
is "$(printed "$T/lp" "${files[@]}")" \
	"whole=$N missing=0 fragments=0 fragment_bytes=0 duplicates=0 trailing=0 pieces=$N again=" \
	"p910nd printed each, byte for byte, in order, one open of its device each ($want bytes)"
like "$(cat "$T/cups-1.err")" "^DEBUG: Connected to 127\\.0\\.0\\.1:$port" \
	"the backend says where it sent the job"

stop_sshd
wait_for 10 not_up
ok $? "the site goes down ($(st state))"
wait_for 10 eval '! listening "$port"'
ok $? "the direct channel no longer listens"
LIMIT=7 cups_print "$port" "$T/job1" 99
is "$rc" 124 "the backend, refused, is still trying after 7 s (ended by timeout)"
# (CUPS 2.4 reports a refused connection as "Host is down".)
is "$(grep -c '^DEBUG: Connection error: ' "$T/cups-99.err")" 2 \
	"it tried twice, 5 s apart"
is "$(stream_size "$T/lp")" "$want" "nothing more was printed"
done_testing
