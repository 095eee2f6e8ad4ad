#!/bin/bash
# commit_doubt.sh — an enrolment whose COMMIT is cut off by a PostgreSQL
# crash (issue 9, item 8).  Its bundle is on disk and nobody can tell yet
# whether its row committed: the bundle is kept while PostgreSQL is down
# and settled, by the running swarmctl (no restart), as soon as
# PostgreSQL answers again: removed if the row never committed (else it
# would be a CA-signed key that nothing records or can revoke), kept if
# it did.
#
# The COMMIT is made to wait from outside: a deferred constraint trigger
# (it runs inside COMMIT, before the commit record) waits for an advisory
# lock a psql session holds; or, for a COMMIT that does land, a
# synchronous standby that does not exist (the commit record is written
# and flushed, then COMMIT waits).  With the COMMIT waiting, PostgreSQL
# is stopped in immediate mode (a crash: no shutdown checkpoint, crash
# recovery at the next start).
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die
pid=$SWARMCTL_PID

HOLD_LOCK="4242, 4242"

# A backend of the service role waits in COMMIT: on the advisory lock
# (trigger), or for the synchronous standby.
commit_waits_on_lock()
{
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	    AND classid = 4242 AND objid = 4242 AND NOT granted")" -ge 1 ]
}
commit_waits_on_standby()
{
	[ "$(sql "SELECT count(*) FROM pg_stat_activity
	    WHERE usename = '$SWARMCTL_DB_SERVICE' AND wait_event = 'SyncRep'")" -ge 1 ]
}
pg_crash()
{
	_pg_stop_dir "$T/pg/data" immediate
}
bundle_gone()
{
	[ ! -e "$T/ca/workers/$1" ]
}

# ---- a COMMIT cut off before its commit record: the row never lands.
sql "CREATE FUNCTION test_hold_commit() RETURNS trigger LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM pg_advisory_xact_lock($HOLD_LOCK); RETURN NULL; END \$\$;
    CREATE CONSTRAINT TRIGGER test_hold_commit AFTER INSERT ON swarm_hosts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.name = 'doubt-lost') EXECUTE FUNCTION test_hold_commit()" >/dev/null
PGAPPNAME=hold PGUSER=$PG_SUPERUSER psql -X -q \
    -c "SELECT pg_advisory_lock($HOLD_LOCK)" -c "SELECT pg_sleep(600)" \
    </dev/null >/dev/null 2>&1 &
_track other $!
# The enrolment must find the lock taken: under a sanitizer build psql
# can be slower to take it than the enrolment is to reach its COMMIT.
lock_held()
{
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	    AND classid = 4242 AND objid = 4242 AND granted")" -ge 1 ]
}
wait_for 30 lock_held || bail "the psql session never took the advisory lock"

enroll_bg lost '{"name":"doubt-lost","address":"192.0.2.70"}'
lost_pid=$BG_PID
ok "the enrolment of 'doubt-lost' waits inside its COMMIT" wait_for 30 commit_waits_on_lock
fp=$(cert_fingerprint "$T/ca/workers/doubt-lost/worker.crt" 2>/dev/null)
like "$fp" '^[0-9a-f]{64}$' "... with its bundle written"
pg_crash
wait "$lost_pid" 2>/dev/null
is "$(cat "$T/lost.status")" 503 "PostgreSQL crashes during that COMMIT: 503"
ok "... and while it is down the bundle is kept (the row may have committed)" \
    [ -e "$T/ca/workers/doubt-lost" ]

pg_start || bail "PostgreSQL did not come back"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'doubt-lost'")" 0 \
    "after crash recovery there is no row for 'doubt-lost'"
is "$(sql "SELECT count(*) FROM certificates WHERE fingerprint = '$fp'")" 0 \
    "... nor any record of its certificate"
ok "its bundle is removed once PostgreSQL answers, without restarting swarmctl" \
    wait_for 30 bundle_gone doubt-lost
is "$SWARMCTL_PID" "$pid" "... by the same swarmctl process"
ok "... which is still running" pid_alive "$pid"
ok "... and says so in its log" \
    grep -q 'bundle doubt-lost settled: no host has certificate' "$T/swarmctl.log"

sql "DROP TRIGGER test_hold_commit ON swarm_hosts;
    DROP FUNCTION test_hold_commit()" >/dev/null
enroll '{"name":"doubt-lost","address":"192.0.2.71"}'
is "$STATUS" 201 "the name can be enrolled again" || diag "$BODY"
is "$(cert_fingerprint "$T/ca/workers/doubt-lost/worker.crt" 2>/dev/null)" \
    "$(json .fingerprint)" "... with its own bundle"

# ---- a COMMIT cut off after its commit record: the row is there after
# recovery, and so must the bundle stay.
# (ALTER SYSTEM cannot share a transaction: one statement a call.)
sql "ALTER ROLE $PG_SUPERUSER SET synchronous_commit = local" >/dev/null
sql "ALTER SYSTEM SET synchronous_standby_names = 'nonexistent'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
enroll_bg kept '{"name":"doubt-kept","address":"192.0.2.70"}'
kept_pid=$BG_PID
ok "the enrolment of 'doubt-kept' waits for a standby after its commit record" \
    wait_for 30 commit_waits_on_standby
pg_crash
wait "$kept_pid" 2>/dev/null
is "$(cat "$T/kept.status")" 503 "PostgreSQL crashes while it waits: 503"
fp=$(cert_fingerprint "$T/ca/workers/doubt-kept/worker.crt" 2>/dev/null)
like "$fp" '^[0-9a-f]{64}$' "... and the bundle is kept"
pg_start || bail "PostgreSQL did not come back (second time)"
sql "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
is "$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = 'doubt-kept'")" \
    "$fp" "after crash recovery the row is there, with the bundle's certificate"
settled_kept()
{
	grep -q 'bundle doubt-kept kept' "$T/swarmctl.log"
}
ok "swarmctl settles the claim once PostgreSQL answers" wait_for 30 settled_kept
is "$(cert_fingerprint "$T/ca/workers/doubt-kept/worker.crt" 2>/dev/null)" "$fp" \
    "... and keeps the bundle of the committed row"
is "$SWARMCTL_PID" "$pid" "the same swarmctl process served throughout"

done_testing
