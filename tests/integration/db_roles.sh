#!/bin/bash
# db_roles.sh — the database role `swarmctl serve` runs as cannot erase
# the audit trail, and the service still does everything as that role.
# The role is the one the running responder is connected as (seen in
# pg_stat_activity), not the one the stack means to use: as it, DELETE,
# UPDATE and TRUNCATE of audit_log, disabling, dropping or replacing its
# triggers, dropping or altering tables, creating tables or schemas,
# rewinding the CRL number, granting itself more and becoming the owner
# all fail for want of privilege, and leave the database as it was.
# Enrollment, list, get, decommission, the audit trail, operator
# issue/list/revoke, server-cert and the CRL (CLI, and through nginx) all
# work as that role.  `swarmctl migrate --service-role` narrows what was
# granted by hand on a re-run, refuses a schema holding a table or
# sequence its privilege table does not name, and refuses to grant to an
# owner; `swarmctl serve` refuses to start as the owner or a superuser,
# and tells a role that was never granted anything what to run.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd psql timeout

stack_up_or_die
SUPERUSER=${PG_SUPERUSER:-postgres}

# sc ARGS... — run swarmctl (as the stack's PGUSER) with a time limit;
# sets RC and OUT (stdout and stderr).
sc()
{
	OUT=$(timeout 300 "$SWARMCTL_BIN" "$@" </dev/null 2>&1)
	RC=$?
}

# ---- the service works (nginx, the responder's own connections).
enroll '{"name":"roles-1","address":"192.0.2.41"}'
is "$STATUS" 201 "enroll roles-1: 201" || diag "$BODY"
UUID=$(json .host_uuid)
enroll '{"name":"roles-2","address":"192.0.2.42"}'
is "$STATUS" 201 "enroll roles-2: 201" || diag "$BODY"
api GET /swarm/hosts
is "$(json -c '[.[].name]')" '["roles-1","roles-2"]' "list: both hosts"
api GET "/swarm/hosts/$UUID"
is "$STATUS:$(json .name)" 200:roles-1 "get roles-1: 200"
api DELETE "/swarm/hosts/$UUID"
is "$STATUS" 204 "decommission roles-1: 204"
api GET "/swarm/hosts/$UUID"
is "$STATUS" 404 "... and it is gone"
api GET '/swarm/audit?limit=10'
is "$STATUS" 200 "GET /swarm/audit: 200"
like "$(json -c '[.[] | .action + ":" + .outcome]')" \
    '"decommission:success".*"enroll:success"' "... listing the decommission and the enrollments"

# ---- the trust commands, as the same role the stack gives every swarmctl.
sc operator issue alice --out "$T/alice" --ca-dir "$T/ca"
is "$RC" 0 "operator issue alice" || diag "$OUT"
sc operator list --ca-dir "$T/ca"
like "$OUT" "alice" "operator list shows alice" || diag "$OUT"
API_AS_CRT=$T/alice/alice.crt API_AS_KEY=$T/alice/alice.key api GET /swarm/hosts
is "$STATUS" 200 "alice is an operator"
sc operator revoke alice --ca-dir "$T/ca"
is "$RC" 0 "operator revoke alice" || diag "$OUT"
API_AS_CRT=$T/alice/alice.crt API_AS_KEY=$T/alice/alice.key api GET /swarm/hosts
is "$STATUS" 403 "... and she is refused at once"
sc crl --ca-dir "$T/ca"
is "$RC" 0 "crl publishes a fresh CRL" || diag "$OUT"
sc server-cert --cn localhost --san 127.0.0.1 --out "$T/tls2" --ca-dir "$T/ca"
is "$RC" 0 "server-cert" || diag "$OUT"
API_ANON=1 api GET /swarm/crl.pem
is "$STATUS" 200 "GET /swarm/crl.pem (the worker CA's CRL, through nginx)"
serial=$(openssl x509 -in "$T/alice/alice.crt" -noout -serial | sed 's/^serial=//')
like "$(openssl crl -in "$T/ca/front-crl.pem" -noout -text 2>&1 | tr -d ' ')" \
    "SerialNumber:0*${serial}" "front-crl.pem (what nginx's ssl_crl reads) lists alice's serial"

# ---- who the responder really is.
SERVE_ROLE=$(sql "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
    WHERE application_name = 'swarmctl'")
like "$SERVE_ROLE" '^[a-z_]+$' "the responder is connected to PostgreSQL as one role ($SERVE_ROLE)"
OWNER=$(sql "SELECT relowner::regrole FROM pg_class WHERE oid = 'audit_log'::regclass")
isnt "$SERVE_ROLE" "$OWNER" "... which is not audit_log's owner ($OWNER)"
is "$(sql "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = '$SERVE_ROLE'")" f \
    "... nor a superuser, nor able to create roles"
is "${PGUSER:-}" "$SERVE_ROLE" "the trust commands above ran as the same role (PGUSER)"

# What must not change, whatever the attempts below do.
snapshot()
{
	sql "SELECT count(*) || ' ' || md5(string_agg(a::text, ',' ORDER BY id)) FROM audit_log a"
	sql "SELECT count(*) || ' ' || md5(string_agg(c::text, ',' ORDER BY serial)) FROM certificates c"
	sql "SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger
	    WHERE NOT tgisinternal"
	sql "SELECT string_agg(proname || ':' || md5(prosrc) || ':' || proowner::regrole, ','
	    ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
	sql "SELECT string_agg(relname || ':' || relkind::text || ':' || relowner::regrole || ':' ||
	    relnatts, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
	sql "SELECT last_value FROM crl_number"
	sql "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace"
	sql "SELECT rolname || rolsuper || rolcreaterole FROM pg_roles WHERE rolname = '$SERVE_ROLE'"
	sql "SELECT coalesce(string_agg(array_to_string(setconfig, ','), ';'), '') FROM pg_db_role_setting"
	sql "SELECT relacl FROM pg_class WHERE oid = 'audit_log'::regclass"
}
rebase

# as_serve STATEMENT — STATEMENT as the responder's role, in a transaction
# that is rolled back (so one that wrongly succeeds harms no later one);
# sets RC and MSG.
as_serve()
{
	MSG=$(PGUSER=$SERVE_ROLE psql -X -q -v ON_ERROR_STOP=1 \
	    -c 'BEGIN' -c "$1" -c 'ROLLBACK' 2>&1)
	RC=$?
}

# refused STATEMENT — it fails for want of privilege (not because the
# append-only trigger caught it: that would mean the role had it).
refused()
{
	as_serve "$1"
	if [ "$RC" -ne 0 ] &&
	    [[ $MSG =~ permission\ denied|must\ be\ owner|must\ be\ superuser|must\ be\ a\ member|must\ have\ .*privilege ]]; then
		pass "as $SERVE_ROLE, refused: $1"
	else
		not_ok "as $SERVE_ROLE, refused: $1" "exit $RC: $MSG"
	fi
}

refused "DELETE FROM audit_log"
refused "UPDATE audit_log SET outcome = 'success'"
refused "TRUNCATE audit_log"
refused "ALTER TABLE audit_log DISABLE TRIGGER USER"
refused "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete"
refused "DROP TRIGGER audit_log_no_update_delete ON audit_log"
refused "DROP TRIGGER audit_log_no_truncate ON audit_log"
refused "CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS \$\$ BEGIN RETURN OLD; END \$\$"
refused "DROP FUNCTION audit_log_refuse_change() CASCADE"
refused "ALTER TABLE audit_log RENAME TO audit_log_old"
refused "ALTER TABLE audit_log OWNER TO $SERVE_ROLE"
refused "DROP TABLE audit_log"
refused "DROP TABLE swarm_hosts CASCADE"
refused "ALTER TABLE swarm_hosts ADD COLUMN intruder integer"
refused "ALTER TABLE swarm_hosts DISABLE TRIGGER USER"
refused "UPDATE swarm_hosts SET name = 'renamed'"
refused "TRUNCATE swarm_hosts CASCADE"
refused "DELETE FROM certificates"
refused "TRUNCATE certificates"
refused "DELETE FROM schema_migrations"
refused "INSERT INTO schema_migrations (version, name) VALUES (999, 'x')"
refused "SELECT setval('crl_number', 1)"
refused "ALTER SEQUENCE crl_number RESTART"
refused "CREATE TABLE intruder (x integer)"
refused "CREATE SCHEMA intruder"
refused "CREATE TRIGGER intruder BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()"
refused "ALTER ROLE $SERVE_ROLE SUPERUSER"
refused "CREATE ROLE intruder"
refused "SET ROLE $OWNER"
refused "ALTER DATABASE $PGDATABASE SET search_path TO intruder"
# A GRANT without the grant option only warns: look at what it did.
is "$(PGUSER=$SERVE_ROLE psql -X -q -A -t -c BEGIN \
    -c "GRANT DELETE ON audit_log TO $SERVE_ROLE" \
    -c "SELECT has_table_privilege('audit_log', 'DELETE')" -c ROLLBACK 2>/dev/null)" f \
    "as $SERVE_ROLE, GRANT DELETE ON audit_log to itself grants nothing"
unchanged "after every refused statement"
is "$(sql "SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_log_no_update_delete'")" O \
    "audit_log's append-only trigger is still enabled"

# ---- migrate --service-role: a re-run takes back what was granted by hand.
sql "GRANT DELETE, TRUNCATE ON audit_log TO $SERVE_ROLE;
    GRANT UPDATE ON certificates TO PUBLIC;
    GRANT CREATE ON SCHEMA public TO PUBLIC" >/dev/null
is "$(sql "SELECT has_table_privilege('$SERVE_ROLE', 'audit_log', 'DELETE')")" t \
    "granted by hand: DELETE on audit_log"
if swarmctl_migrate; then pass "migrate --service-role again"; else not_ok "migrate --service-role again" "$(cat "$T/migrate.out")"; fi
is "$(sql "SELECT has_table_privilege('$SERVE_ROLE', 'audit_log', 'DELETE')::text ||
    has_table_privilege('$SERVE_ROLE', 'audit_log', 'TRUNCATE')::text ||
    has_column_privilege('$SERVE_ROLE', 'certificates', 'serial', 'UPDATE')::text ||
    has_schema_privilege('$SERVE_ROLE', 'public', 'CREATE')::text")" falsefalsefalsefalse \
    "... takes them back (DELETE, TRUNCATE, UPDATE by PUBLIC, CREATE in the schema)"
is "$(sql "SELECT has_table_privilege('$SERVE_ROLE', 'audit_log', 'INSERT')::text ||
    has_table_privilege('$SERVE_ROLE', 'audit_log', 'SELECT')::text")" truetrue \
    "... and keeps INSERT and SELECT on audit_log"

# ---- a table or sequence the privilege table does not name stops it.
sql "SET ROLE $OWNER; CREATE TABLE unlisted_table (x integer);
    CREATE SEQUENCE unlisted_seq" >/dev/null
if swarmctl_migrate; then
	not_ok "migrate --service-role refuses a schema with relations it has no row for"
else
	pass "migrate --service-role refuses a schema with relations it has no row for"
fi
like "$(cat "$T/migrate.out")" "unlisted_seq, unlisted_table: not in the service role's privilege table" \
    "... naming them" || diag "$(cat "$T/migrate.out")"
sql "DROP TABLE unlisted_table; DROP SEQUENCE unlisted_seq" >/dev/null
if swarmctl_migrate; then pass "... and succeeds once they are gone"; else not_ok "... and succeeds once they are gone" "$(cat "$T/migrate.out")"; fi

# ---- migrate refuses to grant to an owner; serve refuses to run as one.
PGUSER=$OWNER "$SWARMCTL_BIN" migrate --service-role "$OWNER" >"$T/migrate-owner.out" 2>&1
isnt "$?" 0 "migrate --service-role naming the owner fails"
like "$(cat "$T/migrate-owner.out")" "\"$OWNER\" could erase the audit trail: .*it owns .*audit_log" \
    "... saying that it owns audit_log" || diag "$(cat "$T/migrate-owner.out")"

# serve_as ROLE — start serve as ROLE; it must exit by itself.
serve_as()
{
	PGUSER=$1 timeout 120 "$SWARMCTL_BIN" serve --listen "unix:$T/as-$1.sock" \
	    --ca-dir "$T/ca" --workers 1 </dev/null >"$T/serve-$1.log" 2>&1
	RC=$?
}
for role in "$OWNER" "$SUPERUSER"; do
	serve_as "$role"
	is "$RC" 1 "serve as $role exits 1 at start-up"
	like "$(cat "$T/serve-$role.log")" "refusing to serve: database role \"$role\" could erase the audit trail" \
	    "... refusing to serve, and saying why" || diag "$(cat "$T/serve-$role.log")"
	ok "... without creating its socket" test ! -e "$T/as-$role.sock"
done
like "$(cat "$T/serve-$OWNER.log")" "it owns the database.*audit_log" \
    "... (the owner: it owns the database and audit_log)"
like "$(cat "$T/serve-$SUPERUSER.log")" "it is a superuser" "... (the superuser: it is one)"

# A role that was never granted anything is told how to fix that.
sql "CREATE ROLE ungranted LOGIN" >/dev/null
serve_as ungranted
is "$RC" 1 "serve as a role granted nothing exits 1 at start-up"
like "$(cat "$T/serve-ungranted.log")" "swarmctl migrate --service-role ROLE.*permission denied" \
    "... saying to run swarmctl migrate --service-role" || diag "$(cat "$T/serve-ungranted.log")"

ok "the responder still serves" health_ok
api GET /swarm/hosts
is "$(json -c '[.[].name]')" '["roles-2"]' "... and lists roles-2"

done_testing
