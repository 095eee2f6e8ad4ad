#!/bin/bash
# signer.sh — key custody (issue 12): `swarmctl serve` runs a CA signer
# process, and only it holds the CA keys.  The private exponents of both
# CA keys (read from ca.key and front-ca.key with openssl) are found in
# the signer's memory -- so the scan can fail -- and in no byte of the
# serve process that parses requests, after enrollments and a CRL
# publication went through it.  The signer runs under a seccomp filter
# (Seccomp: 2), with no descriptor but its channels and /dev/null.
# kill -9 of the signer during a burst of enrollments: every answer is
# 201 or 503 "CA signer unavailable", every 201 has its row and bundle
# and nothing else is left, serve restarts the signer and enrolls again.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

MEMSCAN=$TOP_BUILDDIR/tests/helpers/memscan
require_cmd openssl

stack_up_or_die

# signer_pid — the signer: serve's child running `swarmctl signer`.
signer_pid()
{
	ps -o pid=,args= --ppid "$SWARMCTL_PID" | awk '$3 == "signer" { print $1 }'
}

# exponent_needles KEYFILE — two hex needles: 32 bytes from the middle of
# the RSA private exponent, big-endian (as in the file) and reversed
# (GMP keeps numbers as little-endian limbs).
exponent_needles()
{
	local d mid
	d=$(openssl pkey -in "$1" -noout -text |
	    awk '/^privateExponent:/ { on = 1; next } /^[a-z]/ { on = 0 } on' |
	    tr -d ' :\n')
	d=${d#00}
	mid=$(( ${#d} / 2 / 2 * 2 ))
	d=${d:$mid:64}
	echo "$d"
	echo "$d" | fold -w2 | tac | tr -d '\n'
	echo
}

enroll '{"name":"custody-1","address":"192.0.2.81"}'
is "$STATUS" 201 "an enrollment through the signer" || diag "$BODY"
api DELETE "/swarm/hosts/$(json .host_uuid)"
is "$STATUS" 204 "a decommission (publishes a CRL through the signer)" || diag "$BODY"
wait_for 10 test -n "$(signer_pid)"

sp=$(signer_pid)
is "$(echo "$sp" | wc -w)" 1 "serve has one signer child"
is "$(awk '/^Seccomp:/ { print $2 }' "/proc/$sp/status")" 2 \
    "the signer runs under a seccomp filter (Seccomp: 2)"
is "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$sp/status")" 1 "the signer has no_new_privs"
other=$(for f in /proc/"$sp"/fd/*; do
	n=${f##*/}
	t=$(readlink "$f")
	case $n:$t in
	0:/dev/null|1:/dev/null|2:*|*:socket:*) ;;
	*) echo "$n -> $t" ;;
	esac
done)
is "$other" "" "the signer holds only /dev/null, standard error and sockets"
is "$(ls /proc/"$sp"/fd | wc -l)" $(( 3 + $(ls /proc/"$sp"/task | wc -l) )) \
    "one channel per signer thread, nothing else open"

for key in ca.key front-ca.key; do
	mapfile -t needles < <(exponent_needles "$T/ca/$key")
	like "${needles[0]}" '^[0-9a-f]{64}$' "$key's private exponent read back"
	"$MEMSCAN" "$sp" "${needles[@]}" >/dev/null
	is "$?" 0 "$key's private exponent is in the signer's memory (the scan finds it)"
	"$MEMSCAN" "$SWARMCTL_PID" "${needles[@]}"
	is "$?" 1 "$key's private exponent is nowhere in serve's memory"
done
like "$(cat /proc/"$SWARMCTL_PID"/cmdline | tr '\0' ' ')" 'swarmctl serve' \
    "the process scanned is serve itself"

# ---- kill -9 of the signer during a burst of enrollments
rows_before=$(host_count)
enroll_burst 40 kill9 &
burst=$!
sleep 0.3
kill -9 "$sp"
wait "$burst"
statuses=$(burst_statuses 40 kill9)
diag "answers during the kill: $(echo "$statuses" | tr '\n' ' ')"
is "$(echo "$statuses" | awk '$2 != 201 && $2 != 503' | wc -l)" 0 \
    "every answer is 201 or 503 (no other 5xx, none missing)"
ok201=$(echo "$statuses" | awk '$2 == 201 { print $1 }')
ok201=${ok201:-0}
for i in $(seq 1 40); do
	if [ "$(burst_status kill9 "$i")" = 503 ]; then
		is "$(jq -r .detail "$T/burst/kill9-$i.body")" "CA signer unavailable" \
		    "a 503 says the CA signer is unavailable"
		break
	fi
done
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name LIKE 'kill9-%'")" "$ok201" \
    "one row per 201, none for a 503"
is "$(( $(host_count) - rows_before ))" "$ok201" "no other row appeared"
is "$(ls "$T/ca/workers" | grep -c '^kill9-')" "$ok201" "one bundle per 201"
is "$(ls -A "$T/ca/workers" | grep -c '^\.tmp')" 0 "no temporary bundle left"

wait_for 10 test -n "$(signer_pid)"
sp2=$(signer_pid)
isnt "$sp2" "$sp" "serve started a new signer"
like "$(cat "$T/swarmctl.log")" "CA signer \\(pid $sp\\) killed by signal 9: restarting it" \
    "serve logs the signer's death"
is "$(awk '/^Seccomp:/ { print $2 }' "/proc/$sp2/status")" 2 "the new signer is confined too"
enroll '{"name":"after-kill","address":"192.0.2.82"}'
is "$STATUS" 201 "enrollment works again after the restart" || diag "$BODY"
is "$(openssl verify -CAfile "$T/ca/ca.crt" "$T/ca/workers/after-kill/worker.crt" 2>&1)" \
    "$T/ca/workers/after-kill/worker.crt: OK" "its certificate verifies against the worker CA"

done_testing
