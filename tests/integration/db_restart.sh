#!/bin/bash
# db_restart.sh — PostgreSQL going away and coming back under a running
# swarmctl: while it is down, every route that needs it answers 503 with
# a detail naming the database (no crash, no hang, no half-done
# enrolment or decommission: no row, no bundle), /health stays 200; once
# it is back, the same process (same PID, no restart) serves the data
# again and enrols.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die
pid=$SWARMCTL_PID

enroll '{"name":"before","address":"192.0.2.90"}'
is "$STATUS" 201 "enrol a host while the database is up" || diag "$BODY"
uuid=$(json .host_uuid)
api GET /swarm/hosts
is "$STATUS" 200 "list works while the database is up"
tree_snapshot "$T/ca" >"$T/ca.before"

# is_503_db DESC — 503 with a JSON detail that mentions the database.
is_503_db()
{
	if [ "$STATUS" = 503 ] && [[ $(json '.detail | ascii_downcase') == *database* ]] &&
	    [[ $(header Content-Type) =~ ^application/json ]]; then
		pass "$1"
	else
		not_ok "$1" "want 503 with a detail about the database, got $STATUS: $BODY"
	fi
}

pg_stop
fails "PostgreSQL is down" psql -X -c 'SELECT 1'

api GET /swarm/hosts
is_503_db "GET /swarm/hosts with the database down is 503"
api GET "/swarm/hosts/$uuid"
is_503_db "GET /swarm/hosts/{uuid} with the database down is 503"
enroll '{"name":"during","address":"192.0.2.91"}'
is_503_db "POST /swarm/enroll with the database down is 503"
api DELETE "/swarm/hosts/$uuid"
is_503_db "DELETE /swarm/hosts/{uuid} with the database down is 503"
api GET /health
is "$STATUS" 200 "/health is 200 with the database down"
api GET /swarm/health
is "$STATUS" 200 "/swarm/health is 200 with the database down"
ok "swarmctl is still running" pid_alive "$pid"
ok "the failed enrolment left no bundle directory" [ ! -e "$T/ca/workers/during" ]
tree_snapshot "$T/ca" >"$T/ca.during"
ok "nothing under CA_DIR changed (no temporary files, the existing bundle kept)" \
    cmp -s "$T/ca.before" "$T/ca.during"

# A second round of failures while down: the service does not wedge.
for i in 1 2 3; do
	api GET /swarm/hosts
done
is "$STATUS" 503 "repeated requests while down stay 503"

pg_start || bail "PostgreSQL did not come back"
recovered()
{
	api GET /swarm/hosts
	[ "$STATUS" = 200 ]
}
ok "after PostgreSQL is back, the list answers 200 again" wait_for 30 recovered
is "$(json -c 'map(.name)')" '["before"]' "... with the host enrolled before the outage"
is "$(json -r '.[0].uuid')" "$uuid" "... under the same uuid"
api GET "/swarm/hosts/$uuid"
is "$STATUS" 200 "GET /swarm/hosts/{uuid} works again"
enroll '{"name":"during","address":"192.0.2.91"}'
is "$STATUS" 201 "the enrolment refused during the outage now succeeds" || diag "$BODY"
is "$(cert_fingerprint "$T/ca/workers/during/worker.crt" 2>/dev/null)" "$(json .fingerprint)" \
    "... with its bundle on disk"
is "$SWARMCTL_PID" "$pid" "the same swarmctl process served throughout"
ok "... and it is still running" pid_alive "$pid"

# Once more, with the outage hitting an established connection pool hard.
pg_stop
api GET /swarm/hosts
is_503_db "a second outage is 503 again"
pg_start || bail "PostgreSQL did not come back (second time)"
ok "... and recovers again" wait_for 30 recovered
is "$(json 'length')" 2 "... with both hosts"

done_testing
