#!/bin/bash
# db_frozen.sh — PostgreSQL frozen (kill -STOP on the postmaster and
# every backend: a server that neither answers nor closes, as a hung host
# or a lost network would be).  With --db-timeout 2: list, get and
# enroll answer 503 naming the database within the deadline, and later
# ones at once; /health, /swarm/ca.pem and /swarm/crl.pem stay 200 and
# quick, even under a burst of database requests; /swarm/ready says the
# database; no half-done enrollment.  After kill -CONT the same process
# serves and enrolls again.  SIGTERM while frozen ends swarmctl within
# the deadline.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

DEADLINE=2
FROZEN=()

# The cluster's processes: the postmaster and its children.
pg_pids()
{
	local pm
	pm=$(head -n 1 "$T/pg/data/postmaster.pid" 2>/dev/null) || return 0
	[ -n "$pm" ] || return 0
	echo "$pm"
	ps -o pid= --ppid "$pm"
}
freeze()
{
	FROZEN=($(pg_pids))
	kill -STOP "${FROZEN[@]}"
}
thaw()
{
	[ "${#FROZEN[@]}" -gt 0 ] && kill -CONT "${FROZEN[@]}" 2>/dev/null
	FROZEN=()
	return 0
}
# Never leave the cluster stopped for the stack's cleanup.
_frozen_exit()
{
	local rc=$?
	thaw
	(exit "$rc")
	_stack_cleanup
}
trap _frozen_exit EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# timed_api METHOD PATH [curl args] — api, at most 20 s; sets MS.
timed_api()
{
	local t0
	t0=$(now_ms)
	api "$@" --max-time 20
	MS=$(( $(now_ms) - t0 ))
}
# is_quick_503_db LIMIT_MS DESC — 503 with a detail naming the database,
# within LIMIT_MS.
is_quick_503_db()
{
	if [ "$STATUS" = 503 ] && [[ $(json '.detail | ascii_downcase') == *database* ]] &&
	    [ "$MS" -le "$1" ]; then
		pass "$2"
	else
		not_ok "$2" "want 503 about the database within ${1}ms, got $STATUS after ${MS}ms: $BODY"
	fi
}
is_quick_200()
{
	if [ "$STATUS" = 200 ] && [ "$MS" -le "$1" ]; then
		pass "$2"
	else
		not_ok "$2" "want 200 within ${1}ms, got $STATUS after ${MS}ms: $BODY"
	fi
}

stack_up_or_die --db-timeout "$DEADLINE"
pid=$SWARMCTL_PID
# What one request may take at most: the deadline for the connection
# and one for the statement, and a second to spare.
LIMIT=$(( (2 * DEADLINE + 1) * 1000 ))

enroll '{"name":"before","address":"192.0.2.80"}'
is "$STATUS" 201 "enrol a host while the database answers" || diag "$BODY"
uuid=$(json .host_uuid)
timed_api GET /swarm/ready
is_quick_200 1000 "/swarm/ready is 200 while everything is up"
tree_snapshot "$T/ca" >"$T/ca.before"

freeze
ok "PostgreSQL is frozen" [ "${#FROZEN[@]}" -ge 2 ]

timed_api GET /swarm/hosts
is_quick_503_db "$LIMIT" "GET /swarm/hosts on a frozen database: 503 within the deadline"
timed_api GET "/swarm/hosts/$uuid"
is_quick_503_db "$LIMIT" "GET /swarm/hosts/{uuid}: 503 within the deadline"
timed_api POST /swarm/enroll -H 'Content-Type: application/json' \
    --data-binary '{"name":"during","address":"192.0.2.81"}'
is_quick_503_db "$LIMIT" "POST /swarm/enroll: 503 within the deadline"
ok "the refused enrollment left no bundle" [ ! -e "$T/ca/workers/during" ]

# Now that the deadline has passed once, a burst of database requests
# must not occupy the workers: the public routes answer at once.
burst=()
for i in $(seq 1 12); do
	curl -sS --cacert "$CACERT" --cert "$OPERATOR_CRT" --key "$OPERATOR_KEY" \
	    --max-time 20 -o /dev/null -w '%{http_code} %{time_total}\n' \
	    "$BASE/swarm/hosts" >"$T/burst.$i" 2>&1 &
	burst+=($!)
done
timed_api GET /health
is_quick_200 1500 "/health answers during a burst of list requests"
timed_api GET /swarm/ca.pem
is_quick_200 1500 "/swarm/ca.pem answers (no database)"
like "$BODY" "BEGIN CERTIFICATE" "... with the CA certificate"
timed_api GET /swarm/crl.pem
is_quick_200 1500 "/swarm/crl.pem answers (no database)"
like "$BODY" "BEGIN X509 CRL" "... with the CRL"
wait "${burst[@]}"
bad=0
for i in $(seq 1 12); do
	read -r code secs <"$T/burst.$i"
	if [ "$code" != 503 ] || ! awk -v s="$secs" -v l="$LIMIT" 'BEGIN { exit !(s * 1000 <= l) }'; then
		bad=$((bad + 1))
		diag "burst $i: $(cat "$T/burst.$i")"
	fi
done
is "$bad" 0 "12 concurrent list requests all got 503 within the deadline"
timed_api GET /swarm/ready
is_quick_503_db 1500 "/swarm/ready: 503 naming the database, at once"
api GET /health
is "$STATUS" 200 "/health is still 200 (liveness)"

thaw
recovered()
{
	api GET /swarm/hosts --max-time 10
	[ "$STATUS" = 200 ]
}
ok "after kill -CONT the list answers 200 again" wait_for 20 recovered
is "$(json -c 'map(.name)')" '["before"]' "... with the host enrolled before"
ready_again()
{
	api GET /swarm/ready --max-time 10
	[ "$STATUS" = 200 ]
}
ok "/swarm/ready is 200 again" wait_for 20 ready_again
api GET "/swarm/hosts/$uuid"
is "$STATUS" 200 "GET /swarm/hosts/{uuid} works again"
enroll '{"name":"during","address":"192.0.2.81"}'
is "$STATUS" 201 "the enrollment refused while frozen now succeeds" || diag "$BODY"
is "$SWARMCTL_PID" "$pid" "the same swarmctl process served throughout"
is "$(host_count)" 2 "two rows: nothing half-done was committed later"

# SIGTERM with a request waiting on a frozen database.
freeze
curl -sS --cacert "$CACERT" --cert "$OPERATOR_CRT" --key "$OPERATOR_KEY" \
    --max-time 20 -o /dev/null -w '%{http_code}\n' \
    "$BASE/swarm/hosts" >"$T/inflight" 2>&1 &
curl_pid=$!
sleep 0.5
t0=$(now_ms)
kill -TERM "$pid"
if wait_exit "$pid" 15; then
	took=$(( $(now_ms) - t0 ))
	ok "SIGTERM ends swarmctl within the deadline while PostgreSQL is frozen (${took}ms)" \
	    [ "$took" -le "$LIMIT" ]
	is "$EXIT_STATUS" 0 "... and it exits 0"
else
	not_ok "SIGTERM ends swarmctl while PostgreSQL is frozen" "still running after 15 s"
fi
_untrack "$pid"
SWARMCTL_PID=
wait "$curl_pid"
like "$(cat "$T/inflight")" '^(503|502)' "the request in flight got an answer (503, or 502 once swarmctl was gone)"
thaw

done_testing
