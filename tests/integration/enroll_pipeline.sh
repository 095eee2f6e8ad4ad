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

# ---- the certificate is signed and the bundle written (under a
# temporary name) while the first round trip is out: an enrollment that
# waits for its name's lock has staged its bundle already, and one that
# then loses (409) removes it, never touching the name's bundle.
# The name's lock (src/db/migrations.h: DB_LOCK_NAMES), from psql.
NAMES_LOCK=1937206893
name_lock()
{
	sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	    AND classid = $NAMES_LOCK AND objsubid = 2
	    AND objid::bigint = (hashtext('pipe-ok')::bigint & 4294967295) AND $1"
}
name_lock_granted()
{
	[ "$(name_lock granted)" -ge 1 ]
}
name_lock_awaited()
{
	[ "$(name_lock 'NOT granted')" -ge 1 ]
}
staged()
{
	local d
	for d in "$T"/ca/workers/.tmp-*; do
		[ -s "$d/worker.crt" ] && return 0
	done
	return 1
}
fp_before=$(cert_fingerprint "$T/ca/workers/pipe-ok/worker.crt")
PGAPPNAME=pipe-hold PGUSER=$PG_SUPERUSER psql -X -q -v ON_ERROR_STOP=1 \
    -c "SELECT pg_advisory_lock($NAMES_LOCK, hashtext('pipe-ok'))" \
    -c "SELECT pg_sleep(600)" </dev/null >/dev/null 2>&1 &
holder=$!
_track other "$holder"
ok "psql holds the name's lock" wait_for 20 name_lock_granted
enroll_bg dup '{"name":"pipe-ok","address":"192.0.2.85"}'
dup=$BG_PID
ok "a second enrollment of the name waits for its lock" wait_for 20 \
    name_lock_awaited
ok "  with its certificate signed and its bundle staged meanwhile" \
    wait_for 20 staged
is "$(cert_fingerprint "$T/ca/workers/pipe-ok/worker.crt")" "$fp_before" \
    "  while the bundle under the name is still the enrolled host's"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'pipe-hold'" >/dev/null
wait_exit "$holder" 20 || true
_untrack "$holder"
wait "$dup"
is "$(cat "$T/dup.status")" 409 "once the lock is free it finds the name enrolled: 409"
is "$(cert_fingerprint "$T/ca/workers/pipe-ok/worker.crt")" "$fp_before" \
    "  and the name's bundle is untouched"
is "$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = 'pipe-ok'")" \
    "$fp_before" "  as is its row"
ok "  and the staged bundle is gone" wait_for 10 sh -c "! ls -d '$T'/ca/workers/.tmp-* >/dev/null 2>&1"

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
