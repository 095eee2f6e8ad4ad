#!/bin/bash
# enroll_pipeline.sh — an enrollment's transaction is two round trips
# (libpq pipeline mode): BEGIN, its DNS names (for a uuid chosen before
# the row exists) and the host-name check in one; the host row, complete,
# the certificate, the audit entry and COMMIT in the other.  The COMMIT
# is sent before the record's result is read, so a record whose host row
# was not inserted must fail its statement and make the server skip the
# COMMIT: nothing of the enrollment may remain (no row, no certificate,
# no DNS name, no audit success, no bundle), and the name is free.  A
# BEFORE INSERT trigger that drops the host row makes the record miss.
# Conflicts found in the first round trip still answer 409 with what was
# taken, and a name's row never outlives its host (the reference is
# checked at COMMIT).
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

enroll '{"name":"pipe-ok","address":"192.0.2.81","sans":["pipe-ok.example"]}'
is "$STATUS" 201 "an enrollment through both pipelines answers 201"
is "$(sql "SELECT count(*) FROM swarm_hosts h JOIN certificates c
    ON c.fingerprint = h.client_cert_fingerprint
    WHERE h.name = 'pipe-ok' AND c.host_uuid = h.uuid")" 1 \
    "its row names its certificate, recorded for the same host"
is "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM swarm_host_names
    WHERE host_uuid = (SELECT uuid FROM swarm_hosts WHERE name = 'pipe-ok')")" \
    "pipe-ok,pipe-ok.example" "its DNS names are reserved for its uuid"
uuid=$(printf '%s' "$BODY" | jq -r .host_uuid)
like "$uuid" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
    "the uuid chosen before the row existed is a random (version 4) UUID"
is "$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'pipe-ok'")" "$uuid" \
    "  and the row's"
is "$(sql "SELECT client_cert_fingerprint <> '' AND cert_not_after IS NOT NULL
    FROM swarm_hosts WHERE name = 'pipe-ok'")" t \
    "the row was inserted with its certificate's fingerprint and notAfter"
refused_fk=$(sql "INSERT INTO swarm_host_names (name, host_uuid)
    VALUES ('no-such-host.example', gen_random_uuid())" 2>&1)
like "$refused_fk" "violates foreign key constraint" \
    "a DNS name whose host never appears is refused at COMMIT"
is "$(sql "SELECT count(*) FROM swarm_host_names WHERE name = 'no-such-host.example'")" 0 \
    "  and not kept"

# ---- the record misses its row: the pipelined COMMIT must not run.
sql "CREATE FUNCTION test_drop_row() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN RETURN NULL; END \$\$" >/dev/null
sql "CREATE TRIGGER test_drop_row BEFORE INSERT ON swarm_hosts
    FOR EACH ROW WHEN (NEW.name = 'pipe-miss') EXECUTE FUNCTION test_drop_row()" >/dev/null
audit0=$(sql "SELECT count(*) FROM audit_log")
enroll '{"name":"pipe-miss","address":"192.0.2.82"}'
is "$STATUS" 500 "an enrollment whose host row is not inserted answers 500"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'pipe-miss'")" 0 \
    "no host row committed"
is "$(sql "SELECT count(*) FROM certificates WHERE subject LIKE '%CN=pipe-miss%'")" 0 \
    "no certificate recorded"
is "$(sql "SELECT count(*) FROM swarm_host_names WHERE name = 'pipe-miss'")" 0 \
    "no DNS name reserved"
is "$(sql "SELECT count(*) FROM audit_log WHERE target = 'pipe-miss'
    AND action = 'enroll' AND outcome = 'success'")" 0 "no audit success entry"
ok "the failure is audited" [ "$(sql "SELECT count(*) FROM audit_log")" -gt "$audit0" ]
ok "no bundle left in workers/" wait_for 10 test ! -e "$T/ca/workers/pipe-miss"
ok "the log names the miss" grep -q "enrollment .*: host row not inserted" "$T/swarmctl.log"
sql "DROP TRIGGER test_drop_row ON swarm_hosts" >/dev/null
enroll '{"name":"pipe-miss","address":"192.0.2.82"}'
is "$STATUS" 201 "the name is free: enrolling it again answers 201"
ok "with its bundle" test -s "$T/ca/workers/pipe-miss/worker.crt"

# ---- conflicts from the first round trip.
enroll '{"name":"pipe-ok","address":"192.0.2.83"}'
is "$STATUS" 409 "the same host name again: 409"
like "$BODY" "already enrolled" "  saying the worker is already enrolled"
enroll '{"name":"pipe-other","address":"192.0.2.84","sans":["PIPE-OK"]}'
is "$STATUS" 409 "another host's name as a DNS name (other case): 409"
like "$BODY" "DNS name 'pipe-ok'" "  naming the DNS name taken"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'pipe-other'")" 0 \
    "  and no row for it"

# ---- a session PostgreSQL ended while idle: the first round trip is
# sent again on a new one (nothing had happened in it).
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE usename = '$SWARMCTL_DB_SERVICE'" >/dev/null
fine=0
for i in 1 2 3 4 5 6; do
	enroll "{\"name\":\"pipe-again-$i\",\"address\":\"192.0.2.9$i\"}"
	[ "$STATUS" = 201 ] && fine=$((fine + 1))
done
is "$fine" 6 "after PostgreSQL ended every session, each enrollment answers 201"

done_testing
