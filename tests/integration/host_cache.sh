#!/bin/bash
# host_cache.sh — each worker keeps the hosts it recently showed
# (GET /swarm/hosts/{uuid}, --host-cache N).  What a user sees:
#   - repeated GETs of a host do not each cost a database read (counted
#     with pg_stat_statements), and --host-cache 0 turns that off;
#   - a decommission through the API is seen by every worker at once;
#   - a change made elsewhere (psql: another instance, another tool) is
#     seen by the next request, through LISTEN/NOTIFY (sql/004);
#   - after PostgreSQL restarts (notifications may have been lost) nothing
#     kept from before is served;
#   - with the notifying trigger gone, a change still shows within the
#     1 s bound (HOST_CACHE_TTL_MS).
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die
# pg_stat_statements: ships with Debian's postgresql-15.
echo "shared_preload_libraries = 'pg_stat_statements'" >>"$T/pg/data/postgresql.conf"
pg_restart || bail "PostgreSQL restarts with pg_stat_statements"
sql 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null ||
    bail "CREATE EXTENSION pg_stat_statements"

# host_reads — how many times the host lookup statement ran since the
# last reset.
host_reads()
{
	sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
	    WHERE query LIKE 'SELECT uuid, name, address%FROM swarm_hosts WHERE uuid = \$1%'"
}

# get_many N UUID — N GETs of one host in one curl (keep-alive to nginx;
# nginx opens a FastCGI connection per request, and the workers take
# them in turn).  Sets CODES (one status per line) and $T/many (bodies).
get_many()
{
	local n=$1 uuid=$2 urls=() i
	for ((i = 0; i < n; i++)); do
		urls+=("$BASE/swarm/hosts/$uuid" -o - -w '\n%{http_code}\n')
	done
	auth_args
	curl -sS --http1.1 --cacert "$CACERT" "${AUTH[@]}" "${urls[@]}" \
	    >"$T/many" 2>"$T/curl.err" || true
	CODES=$(grep -E '^[0-9]{3}$' "$T/many")
}

# all_are N WHAT — every one of the last get_many's N answers is WHAT.
all_are()
{
	[ "$(grep -c -x "$2" <<<"$CODES")" -eq "$1" ]
}

# notes_all N NOTES — every body of the last get_many carries these notes.
notes_all()
{
	[ "$(grep -c -F "\"notes\":\"$2\"" "$T/many")" -eq "$1" ]
}

enroll '{"name":"cached-1","address":"192.0.2.70","notes":"first"}'
is "$STATUS" 201 "enrol a host" || diag "$BODY"
u1=$(json .host_uuid)

# ---- reads are kept
sql 'SELECT pg_stat_statements_reset()' >/dev/null
t0=$(date +%s%N)
get_many 40 "$u1"
t1=$(date +%s%N)
ok "40 GETs of one host are all 200" all_are 40 200
reads=$(host_reads)
# Each of the 4 workers reads the host once, and again once a second
# (the TTL): never 40 reads unless 40 requests took 9 s.
bound=$((4 * (($(( (t1 - t0) / 1000000000 )) + 2))))
ok "they cost $reads database reads (at most $bound, not one per request)" \
    test "$reads" -le "$bound" -a "$reads" -lt 40

# ---- decommission through the API: every worker, at once
api DELETE "/swarm/hosts/$u1"
is "$STATUS" 204 "decommission the host"
get_many 40 "$u1"
ok "right after the 204, 40 GETs (every worker) are all 404" all_are 40 404

# ---- a change made elsewhere
enroll '{"name":"cached-2","address":"192.0.2.71","notes":"first"}'
is "$STATUS" 201 "enrol another host" || diag "$BODY"
u2=$(json .host_uuid)
get_many 40 "$u2"
ok "its notes read 'first' everywhere" notes_all 40 first
sql "UPDATE swarm_hosts SET notes = 'changed elsewhere' WHERE uuid = '$u2'"
get_many 40 "$u2"
ok "after an UPDATE in psql, the next 40 GETs show the change" \
    notes_all 40 "changed elsewhere"

# ---- PostgreSQL restarts: nothing from before is trusted
get_many 20 "$u2" >/dev/null
pg_restart || bail "PostgreSQL restarts"
sql "UPDATE swarm_hosts SET notes = 'after restart' WHERE uuid = '$u2'"
get_many 40 "$u2"
ok "after a PostgreSQL restart and an UPDATE, 40 GETs are 200" all_are 40 200
ok "... and all show the update" notes_all 40 "after restart"

# ---- deleted elsewhere
sql "DELETE FROM decky_shards WHERE host_uuid = '$u2';
    DELETE FROM swarm_hosts WHERE uuid = '$u2'"
get_many 40 "$u2"
ok "a host deleted in psql is 404 on the next 40 GETs" all_are 40 404

# ---- the time bound, with the notifying trigger gone
enroll '{"name":"cached-3","address":"192.0.2.72","notes":"first"}'
u3=$(json .host_uuid)
sql 'DROP TRIGGER swarm_hosts_notify ON swarm_hosts'
get_many 40 "$u3"
sql "UPDATE swarm_hosts SET notes = 'unannounced' WHERE uuid = '$u3'"
sleep 1.2
get_many 40 "$u3"
ok "without the trigger, a change shows after the 1 s bound" \
    notes_all 40 unannounced
sql 'CREATE TRIGGER swarm_hosts_notify AFTER UPDATE OR DELETE OR TRUNCATE
    ON swarm_hosts FOR EACH STATEMENT EXECUTE FUNCTION swarmctl_hosts_changed()'

# ---- what is announced: an enrollment only updates its own new row,
# which nobody can have kept, so it sends no notice (sql/008: notifying
# transactions commit one at a time); a change to an existing host does.
# hosts_notices CMD... — notices on swarmctl_hosts a listening session
# receives while CMD runs.
listener_waits()
{
	[ "$(sql "SELECT count(*) FROM pg_stat_activity
	    WHERE query = 'SELECT pg_sleep(5)'")" -ge 1 ]
}
hosts_notices()
{
	local lp
	PGUSER=$PG_SUPERUSER psql -X -q -c 'LISTEN swarmctl_hosts' \
	    -c 'SELECT pg_sleep(5)' >"$T/listen.out" 2>&1 </dev/null &
	lp=$!
	wait_for 10 listener_waits || { kill "$lp"; echo "no listener"; return; }
	"$@" >/dev/null
	wait "$lp"
	grep -c 'notification "swarmctl_hosts"' "$T/listen.out"
}
quiet_enroll()
{
	enroll '{"name":"notice-test","address":"192.0.2.90"}'
	echo "$STATUS" >"$T/notice-enroll.status"
}
is "$(hosts_notices quiet_enroll)" 0 "an enrollment sends no notice on swarmctl_hosts"
is "$(cat "$T/notice-enroll.status")" 201 "... and was enrolled"
is "$(hosts_notices sql "UPDATE swarm_hosts SET notes = 'n' WHERE name = 'notice-test'")" 1 \
    "a change to an existing host sends one"

# ---- --host-cache 0: every GET reads the database
swarmctl_stop
swarmctl_start --host-cache 0 || bail "swarmctl --host-cache 0"
sql 'SELECT pg_stat_statements_reset()' >/dev/null
get_many 40 "$u3"
ok "with --host-cache 0, 40 GETs are 200" all_are 40 200
is "$(host_reads)" 40 "... and each reads the database"

done_testing
