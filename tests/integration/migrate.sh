#!/bin/bash
# migrate.sh — `swarmctl migrate`: applies every sql/NNN_*.sql once and
# records it in schema_migrations; the resulting tables match the contract
# (columns, primary keys, unique name, foreign key, defaults, indexes); a
# second run is a no-op; it works from any working directory (the
# migrations are embedded in the binary); and concurrent runs on a fresh
# database (granting the service role too) all succeed and apply each
# migration exactly once.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

pg_start || bail "PostgreSQL did not start"

migrations=()
for f in "$TOP_SRCDIR"/sql/[0-9][0-9][0-9]_*.sql; do
	[ -e "$f" ] && migrations+=("$(basename "$f")")
done
ok "the source tree has migrations in sql/" [ "${#migrations[@]}" -gt 0 ]

# ---- first run applies everything.
if swarmctl_migrate; then pass "migrate exits 0"; else not_ok "migrate exits 0" "$(cat "$T/migrate.out")"; fi
out=$(cat "$T/migrate.out")
for m in "${migrations[@]}"; do
	like "$out" "applied $m" "migrate reports 'applied $m'"
done
is "$(sql 'SELECT count(*) FROM schema_migrations')" "${#migrations[@]}" \
    "schema_migrations has one row per migration"

for t in swarm_hosts decky_shards schema_migrations; do
	is "$(sql "SELECT to_regclass('public.$t') IS NOT NULL")" t "table $t exists"
done

# column TABLE COLUMN — "type|nullable|default" from the catalogue.
column()
{
	sql "SELECT data_type || '|' || is_nullable || '|' || coalesce(column_default, '')
	     FROM information_schema.columns
	     WHERE table_schema = 'public' AND table_name = '$1' AND column_name = '$2'"
}

for c in uuid name address agent_port status last_heartbeat \
    client_cert_fingerprint cert_bundle_path enrolled_at notes; do
	isnt "$(column swarm_hosts "$c")" "" "swarm_hosts has column $c"
done
for c in decky_name host_uuid services state last_error compose_hash updated_at; do
	isnt "$(column decky_shards "$c")" "" "decky_shards has column $c"
done

like "$(column swarm_hosts agent_port)" '\|8765$' "swarm_hosts.agent_port defaults to 8765"
like "$(column swarm_hosts status)" "\|'enrolled'" "swarm_hosts.status defaults to 'enrolled'"
like "$(column swarm_hosts last_heartbeat)" '^timestamp with time zone\|YES\|$' \
    "swarm_hosts.last_heartbeat is a nullable timestamptz without default"
like "$(column swarm_hosts enrolled_at)" '^timestamp with time zone\|' \
    "swarm_hosts.enrolled_at is a timestamptz"
like "$(column swarm_hosts notes)" '\|YES\|' "swarm_hosts.notes is nullable"
like "$(column swarm_hosts name)" '\|NO\|' "swarm_hosts.name is NOT NULL"
like "$(column decky_shards services)" "\|'\[\]'" "decky_shards.services defaults to '[]'"
like "$(column decky_shards state)" "\|'pending'" "decky_shards.state defaults to 'pending'"

# key_cols TABLE TYPE — the columns of each constraint of TYPE (p, u, f),
# one constraint per line, e.g. "uuid" or "host_uuid>swarm_hosts(uuid)".
key_cols()
{
	sql "SELECT string_agg(a.attname, ',' ORDER BY a.attnum)
	        || CASE WHEN c.contype = 'f'
	           THEN '>' || c.confrelid::regclass::text || '(' ||
	                (SELECT string_agg(fa.attname, ',') FROM pg_attribute fa
	                 WHERE fa.attrelid = c.confrelid AND fa.attnum = ANY (c.confkey)) || ')'
	           ELSE '' END
	     FROM pg_constraint c
	     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
	     WHERE c.conrelid = 'public.$1'::regclass AND c.contype = '$2'
	     GROUP BY c.oid, c.contype, c.confrelid"
}

# unique_on TABLE COLUMN — a unique index (or constraint) on exactly COLUMN.
unique_on()
{
	[ "$(sql "SELECT count(*) FROM pg_index i
	     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	     WHERE i.indrelid = 'public.$1'::regclass AND i.indisunique
	       AND i.indnkeyatts = 1 AND a.attname = '$2'")" -ge 1 ]
}

# indexed TABLE COLUMN — some index has COLUMN as its leading column.
indexed()
{
	[ "$(sql "SELECT count(*) FROM pg_index i
	     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
	     WHERE i.indrelid = 'public.$1'::regclass AND a.attname = '$2'")" -ge 1 ]
}

is "$(key_cols swarm_hosts p)" "uuid" "swarm_hosts primary key is uuid"
is "$(key_cols decky_shards p)" "decky_name" "decky_shards primary key is decky_name"
is "$(key_cols decky_shards f)" "host_uuid>swarm_hosts(uuid)" \
    "decky_shards.host_uuid references swarm_hosts(uuid)"
ok "swarm_hosts.name is unique" unique_on swarm_hosts name
ok "swarm_hosts.status is indexed" indexed swarm_hosts status
ok "decky_shards.host_uuid is indexed" indexed decky_shards host_uuid

# The unique name is enforced by the database, not only by the service.
u1=$(uuidgen_lower)
u2=$(uuidgen_lower)
ins="INSERT INTO swarm_hosts (uuid, name, address, client_cert_fingerprint, cert_bundle_path, enrolled_at)"
if sql "$ins VALUES ('$u1', 'dup', '192.0.2.1', 'ab', '/x', now())" >/dev/null 2>"$T/psql.err"; then
	pass "a minimal host row can be inserted"
else
	not_ok "a minimal host row can be inserted" "$(cat "$T/psql.err")"
fi
fails "a second row with the same name is rejected by the database" \
    sql "$ins VALUES ('$u2', 'dup', '192.0.2.2', 'cd', '/y', now())"
is "$(sql "SELECT agent_port || ' ' || status || ' ' || (last_heartbeat IS NULL) || ' ' || (notes IS NULL) FROM swarm_hosts WHERE uuid = '$u1'")" \
    "8765 enrolled true true" "column defaults apply to a new host row"
fails "a shard row for an unknown host is rejected (foreign key)" \
    sql "INSERT INTO decky_shards (decky_name, host_uuid) VALUES ('d1', '$u2')"
sql "DELETE FROM swarm_hosts WHERE uuid = '$u1'" >/dev/null

# ---- second run: nothing to do.
before=$(sql 'SELECT count(*) FROM schema_migrations')
if swarmctl_migrate; then pass "a second migrate exits 0"; else not_ok "a second migrate exits 0" "$(cat "$T/migrate.out")"; fi
out=$(cat "$T/migrate.out")
like "$out" "schema is up to date" "... and says the schema is up to date"
unlike "$out" "applied" "... and applies nothing"
is "$(sql 'SELECT count(*) FROM schema_migrations')" "$before" "... and adds no schema_migrations row"

# ---- from another working directory, into a fresh database, naming the
# database with --db: the migrations travel inside the binary.
sql 'CREATE DATABASE swarm_cwd' >/dev/null
(cd / && "$SWARMCTL_BIN" migrate --db "host=$PGHOST port=$PGPORT user=postgres dbname=swarm_cwd") \
    >"$T/cwd.out" 2>&1
is "$?" 0 "migrate run from / with --db exits 0"
like "$(cat "$T/cwd.out")" "applied ${migrations[0]}" "... and applies the migrations"
is "$(PGDATABASE=swarm_cwd sql 'SELECT count(*) FROM schema_migrations')" "${#migrations[@]}" \
    "... recording each one once"
is "$(PGDATABASE=swarm_cwd sql "SELECT to_regclass('public.swarm_hosts') IS NOT NULL")" t \
    "... creating swarm_hosts in the database named by --db"

# ---- concurrent runs on fresh databases: all succeed, each migration
# is applied once.  Two rounds of three, to give a race a chance to show.
for round in 1 2; do
	db=swarm_race$round
	pg_create_db "$db"
	pids=()
	for i in 1 2 3; do
		# Granting too: two GRANTs on one object at once would fail.
		PGUSER=$SWARMCTL_DB_OWNER PGDATABASE=$db "$SWARMCTL_BIN" migrate \
		    --service-role "$SWARMCTL_DB_SERVICE" >"$T/race$round.$i.out" 2>&1 &
		pids+=("$!")
	done
	failed=0
	for i in 0 1 2; do
		wait "${pids[$i]}" || failed=$((failed + 1))
	done
	is "$failed" 0 "round $round: three concurrent migrates all exit 0" ||
	    diag "$(cat "$T"/race"$round".*.out)"
	is "$(PGDATABASE=$db sql 'SELECT count(*) FROM schema_migrations')" "${#migrations[@]}" \
	    "round $round: one schema_migrations row per migration"
	applied=$(cat "$T"/race"$round".*.out | grep -c "applied ${migrations[0]}")
	is "$applied" 1 "round $round: exactly one run reports applying ${migrations[0]}"
done

done_testing
