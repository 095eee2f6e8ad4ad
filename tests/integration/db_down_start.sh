#!/bin/bash
# db_down_start.sh — swarmctl started while PostgreSQL is down (a reboot
# during an outage): it starts anyway and listens; /health, /swarm/ca.pem
# and /swarm/crl.pem answer 200, /swarm/ready and the routes that need
# the database answer 503 naming it; once PostgreSQL is started, the same
# process runs its start-up checks by itself and becomes ready (ready
# 200, enroll 201).  A start-up check that fails only then (here: the
# service role owns a table, so it could erase the audit trail) keeps
# the operator routes at 503 with the reason until it is fixed.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

# is_503_about WORD DESC — 503, JSON, a detail that mentions WORD.
is_503_about()
{
	if [ "$STATUS" = 503 ] && [[ $(json '.detail | ascii_downcase') == *$1* ]] &&
	    [[ $(header Content-Type) =~ ^application/json ]]; then
		pass "$2"
	else
		not_ok "$2" "want 503 with a detail about '$1', got $STATUS: $BODY"
	fi
}
ready_200()
{
	api GET /swarm/ready --max-time 10
	[ "$STATUS" = 200 ]
}

# The whole stack once (CAs, operator and nginx certificates need the
# database), then swarmctl again with PostgreSQL down.
stack_up_or_die --db-timeout 2
swarmctl_stop
pg_stop
fails "PostgreSQL is down" psql -X -c 'SELECT 1' 2>/dev/null

ok "swarmctl serve starts while PostgreSQL is down" swarmctl_start --db-timeout 2
pid=$SWARMCTL_PID
ok "... and keeps running" pid_alive "$pid"
api GET /health
is "$STATUS" 200 "/health is 200"
api GET /swarm/ca.pem
is "$STATUS" 200 "/swarm/ca.pem is 200"
like "$BODY" "BEGIN CERTIFICATE" "... the worker CA"
api GET /swarm/crl.pem
is "$STATUS" 200 "/swarm/crl.pem is 200"
api GET /swarm/ready
is_503_about database "/swarm/ready is 503 naming the database"
enroll '{"name":"w1","address":"192.0.2.70"}'
is_503_about database "POST /swarm/enroll is 503 naming the database"
api GET /swarm/hosts
is_503_about database "GET /swarm/hosts is 503 naming the database"
ok "no bundle was written" [ ! -e "$T/ca/workers/w1" ]
grep -q "serving anyway" "$T/swarmctl.log"
is $? 0 "the log says it started without the database"

pg_start || bail "PostgreSQL did not start"
ok "once PostgreSQL is back, /swarm/ready turns 200 by itself" wait_for 20 ready_200
enroll '{"name":"w1","address":"192.0.2.70"}'
is "$STATUS" 201 "POST /swarm/enroll succeeds" || diag "$BODY"
is "$(cert_fingerprint "$T/ca/workers/w1/worker.crt" 2>/dev/null)" "$(json .fingerprint)" \
    "... with its bundle on disk"
api GET /swarm/hosts
is "$STATUS" 200 "GET /swarm/hosts is 200"
is "$SWARMCTL_PID" "$pid" "the same process served throughout"

# A check that fails only once the database answers.
swarmctl_stop
sql "ALTER TABLE audit_log OWNER TO $SWARMCTL_DB_SERVICE" >/dev/null
pg_stop
ok "swarmctl starts again with PostgreSQL down" swarmctl_start --db-timeout 2
pid=$SWARMCTL_PID
pg_start || bail "PostgreSQL did not start"
role_refused()
{
	api GET /swarm/ready --max-time 10
	[ "$STATUS" = 503 ] && grep -q "could erase the audit trail" "$T/swarmctl.log"
}
ok "the role check runs once PostgreSQL answers, and fails" wait_for 20 role_refused
api GET /swarm/ready
like "$(json .detail)" "." "/swarm/ready still 503 with a reason: $(json .detail)"
enroll '{"name":"w2","address":"192.0.2.71"}'
is "$STATUS" 503 "POST /swarm/enroll stays 503 while the role check fails"
api GET /swarm/hosts
is "$STATUS" 503 "GET /swarm/hosts stays 503 too"
api GET /health
is "$STATUS" 200 "/health is 200"
ok "swarmctl keeps running (the public routes stay up)" pid_alive "$pid"
# The fix an operator would make: ownership back, grants again.
sql "ALTER TABLE audit_log OWNER TO $SWARMCTL_DB_OWNER" >/dev/null
ok "swarmctl migrate grants the service role its privileges again" swarmctl_migrate
ok "fixed, it becomes ready without a restart" wait_for 20 ready_200
enroll '{"name":"w2","address":"192.0.2.71"}'
is "$STATUS" 201 "... and enrolls" || diag "$BODY"
is "$SWARMCTL_PID" "$pid" "... in the same process"

done_testing
