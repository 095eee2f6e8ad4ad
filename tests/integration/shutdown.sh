#!/bin/bash
# shutdown.sh — graceful stop: SIGTERM to an idle swarmctl ends it within
# 10 s with status 0; SIGTERM while enrolments are in flight lets them
# finish (201, row and bundle consistent) before exiting 0; SIGINT stops
# it the same way.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

# ---- idle SIGTERM
kill -TERM "$SWARMCTL_PID"
if wait_exit "$SWARMCTL_PID" 10; then
	pass "SIGTERM stops an idle swarmctl within 10 s"
	is "$EXIT_STATUS" 0 "... with exit status 0"
else
	not_ok "SIGTERM stops an idle swarmctl within 10 s"
	swarmctl_stop KILL
fi
_untrack "$SWARMCTL_PID"
SWARMCTL_PID=

# ---- SIGTERM with enrolments in flight
# in_flight SOCKET — some connection to SOCKET is established, i.e. nginx
# has handed a request to swarmctl.
in_flight()
{
	[ "$(ss -Hx state established 2>/dev/null | grep -cF " $1 ")" -gt 0 ]
}

drained=0
for attempt in 1 2 3; do
	swarmctl_start --workers 4 --key-type rsa-4096 || bail "swarmctl did not start"
	pids=()
	for i in 1 2 3; do
		auth_args
	curl -sS --http1.1 --cacert "$CACERT" "${AUTH[@]}" --max-time 120 -H 'Expect:' \
		    -H 'Content-Type: application/json' \
		    --data-binary "{\"name\":\"drain-$attempt-$i\",\"address\":\"192.0.2.$((100 + i))\"}" \
		    -o "$T/drain$i.body" -w '%{http_code}' "$BASE/swarm/enroll" \
		    >"$T/drain$i.status" 2>"$T/drain$i.err" </dev/null &
		pids+=("$!")
	done
	# Wait until swarmctl holds the requests, then give its workers a
	# moment to accept them before signalling.
	wait_for 10 in_flight "$SOCK" || diag "no connection to the socket seen"
	sleep 0.2
	running=0
	for p in "${pids[@]}"; do
		pid_alive "$p" && running=$((running + 1))
	done
	kill -TERM "$SWARMCTL_PID"
	for p in "${pids[@]}"; do
		wait "$p"
	done
	if wait_exit "$SWARMCTL_PID" 60; then
		status=$EXIT_STATUS
	else
		status=timeout
		swarmctl_stop KILL
	fi
	_untrack "$SWARMCTL_PID"
	SWARMCTL_PID=
	if [ "$running" -eq 0 ]; then
		diag "attempt $attempt: the enrolments finished before SIGTERM; trying again"
		continue
	fi
	drained=1
	diag "attempt $attempt: $running of 3 enrolments in flight at SIGTERM"
	is "$(for i in 1 2 3; do printf '%s ' "$(cat "$T/drain$i.status")"; done)" "201 201 201 " \
	    "enrolments in flight at SIGTERM complete with 201"
	is "$status" 0 "... and swarmctl then exits with status 0"
	good=0
	for i in 1 2 3; do
		name=drain-$attempt-$i
		fp=$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = '$name'")
		[ -n "$fp" ] &&
		    [ "$(jq -r .fingerprint "$T/drain$i.body" 2>/dev/null)" = "$fp" ] &&
		    [ "$(cert_fingerprint "$T/ca/workers/$name/worker.crt" 2>/dev/null)" = "$fp" ] &&
		    good=$((good + 1))
	done
	is "$good" 3 "... each has its row and a bundle matching the row and the response"
	is "$(find "$T/ca" -name '.tmp*' | wc -l)" 0 "... and no temporary files are left"
	break
done
ok "SIGTERM arrived while enrolments were in flight (drain exercised)" [ "$drained" -eq 1 ]

# ---- SIGINT
swarmctl_start || bail "swarmctl did not start"
api GET /swarm/hosts
is "$STATUS" 200 "swarmctl serves again after the restarts"
kill -INT "$SWARMCTL_PID"
if wait_exit "$SWARMCTL_PID" 10; then
	pass "SIGINT stops swarmctl within 10 s"
	is "$EXIT_STATUS" 0 "... with exit status 0"
else
	not_ok "SIGINT stops swarmctl within 10 s"
	swarmctl_stop KILL
fi
_untrack "$SWARMCTL_PID"
SWARMCTL_PID=

done_testing
