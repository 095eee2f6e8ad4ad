#!/bin/bash
# race.sh — enrolling and decommissioning one name at once never leaves a
# row without its bundle, nor a bundle without its row (issue 9, item 2).
#
# First a forced interleaving.  Deferred constraint triggers (they run
# inside COMMIT) wait for advisory locks psql sessions hold, so each side
# can be held at a known point: the decommission inside its COMMIT, while
# the new enrolment's INSERT of the same name waits for it; then the
# enrolment, once it has written its bundle, inside its own COMMIT.  The
# decommission is let go in between: before the fix it removed the bundle
# by name -- the new one -- as soon as it got past its CRL publication,
# which a third psql session holds up until the new bundle is written.
# Then a randomised stress test: 30 rounds of a decommission and two
# enrolments of one name fired a few milliseconds apart, each followed by
# the check that the row (if any) and the bundle (if any) carry the same
# certificate.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die --key-pool 16

# The advisory lock crl_publish takes (src/db/migrations.h: DB_LOCK_CLASS,
# DB_LOCK_CRL).
CRL_LOCK="1937206627 3"

# bundle_fp NAME — fingerprint of NAME's bundle certificate; "none" when
# there is no bundle directory.
bundle_fp()
{
	if [ -e "$T/ca/workers/$1" ]; then
		cert_fingerprint "$T/ca/workers/$1/worker.crt" 2>/dev/null ||
		    echo unreadable
	else
		echo none
	fi
}

# row_fp NAME — the fingerprint in NAME's row; "none" when there is none.
row_fp()
{
	local fp
	fp=$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = '$1'")
	printf '%s\n' "${fp:-none}"
}

# rowless_bundles — bundle directories no row names, one a line.
rowless_bundles()
{
	local d n
	for d in "$T"/ca/workers/*; do
		[ -e "$d" ] || continue
		n=${d##*/}
		if [ -z "$(sql "SELECT 1 FROM swarm_hosts WHERE name = '$n'")" ]; then
			printf '%s\n' "$n"
		fi
	done
}

# fire_enroll TAG NAME — enroll NAME in the background (api_bg).
fire_enroll()
{
	enroll_bg "$1" "{\"name\":\"$2\",\"address\":\"192.0.2.40\"}"
}

# Advisory locks held from a psql session of its own (application_name
# tells it apart): hold_lock APP K1 K2 (sets HOLDER_PID), release_lock APP
# HOLDER_PID.
advisory_count()
{
	sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	    AND classid = $1 AND objid = $2 AND objsubid = 2 AND $3"
}
lock_held()
{
	[ "$(advisory_count "$1" "$2" granted)" -ge 1 ]
}
lock_awaited()
{
	[ "$(advisory_count "$1" "$2" 'NOT granted')" -ge 1 ]
}
hold_lock()
{
	PGAPPNAME=$1 PGUSER=$PG_SUPERUSER psql -X -q -v ON_ERROR_STOP=1 \
	    -c "SELECT pg_advisory_lock($2, $3)" -c "SELECT pg_sleep(600)" \
	    </dev/null >/dev/null 2>&1 &
	HOLDER_PID=$!
	_track other "$HOLDER_PID"
	wait_for 20 lock_held "$2" "$3"
}
release_lock()
{
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	    WHERE application_name = '$1'" >/dev/null
	wait_exit "$2" 20 || true
	_untrack "$2"
}
# Someone waits for a host name's lock (src/db/migrations.h: DB_LOCK_NAMES).
name_lock_awaited()
{
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	    AND classid = 1937206893 AND objsubid = 2 AND NOT granted")" -ge 1 ]
}

# ---- forced: the enrolment writes its bundle between the decommission's
# COMMIT and the decommission's removal of the old bundle.
enroll '{"name":"contended","address":"192.0.2.41"}'
is "$STATUS" 201 "enrol 'contended'" || diag "$BODY"
old_uuid=$(json .host_uuid)
old_fp=$(json .fingerprint)

sql "CREATE FUNCTION test_hold() RETURNS trigger LANGUAGE plpgsql AS \$\$
    BEGIN PERFORM pg_advisory_xact_lock(4243, TG_ARGV[0]::integer);
    RETURN NULL; END \$\$;
    CREATE CONSTRAINT TRIGGER test_hold_delete AFTER DELETE ON swarm_hosts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.name = 'contended') EXECUTE FUNCTION test_hold(1);
    CREATE CONSTRAINT TRIGGER test_hold_insert AFTER INSERT ON swarm_hosts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.name = 'contended') EXECUTE FUNCTION test_hold(2)" >/dev/null
ok "psql holds the decommission's COMMIT lock" hold_lock race-del 4243 1
del_holder=$HOLDER_PID
ok "psql holds the enrolment's COMMIT lock" hold_lock race-enr 4243 2
enr_holder=$HOLDER_PID
# shellcheck disable=SC2086
ok "psql holds the CRL lock" hold_lock race-crl $CRL_LOCK
crl_holder=$HOLDER_PID

api_bg del DELETE "/swarm/hosts/$old_uuid"
del_pid=$BG_PID
ok "the decommission waits inside its COMMIT" wait_for 30 lock_awaited 4243 1
fire_enroll enr contended
enr_pid=$BG_PID
insert_waits()
{
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid'
	    AND NOT granted")" -ge 1 ]
}
ok "the new enrolment's INSERT waits for the decommission" wait_for 30 insert_waits

release_lock race-del "$del_holder"
ok "the decommission commits; the enrolment writes its bundle and waits inside its COMMIT" \
    wait_for 30 lock_awaited 4243 2
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE uuid = '$old_uuid'")" 0 \
    "... the old row is gone"
new_fp=$(bundle_fp contended)
like "$new_fp" '^[0-9a-f]{64}$' "... the new bundle is on disk"
isnt "$new_fp" "$old_fp" "... in place of the old one"

# Let the decommission go on to its bundle removal while the enrolment
# is still uncommitted: it removes (old code) or waits for the name.
del_done_or_waits()
{
	! pid_alive "$del_pid" || name_lock_awaited
}
release_lock race-crl "$crl_holder"
wait_for 30 del_done_or_waits || diag "the decommission neither ended nor waited for the name"
release_lock race-enr "$enr_holder"
wait "$del_pid" "$enr_pid" 2>/dev/null
is "$(cat "$T/del.status")" 204 "the decommission completes: 204"
is "$(cat "$T/enr.status")" 201 "the enrolment completes: 201"
is "$(jq -r .fingerprint "$T/enr.body" 2>/dev/null)" "$new_fp" \
    "... with the certificate of the bundle it wrote"
is "$(row_fp contended)" "$new_fp" "the new host's row is there"
is "$(bundle_fp contended)" "$new_fp" \
    "... and so is its bundle: the decommission did not remove it"
is "$(rowless_bundles | paste -sd' ')" "" "no bundle without its row"
sql "DROP TRIGGER test_hold_delete ON swarm_hosts;
    DROP TRIGGER test_hold_insert ON swarm_hosts; DROP FUNCTION test_hold()" >/dev/null

# The bundle the decommission kept is the host's own: decommissioning
# the new host removes it.
api DELETE "/swarm/hosts/$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'contended'")"
is "$STATUS" 204 "decommission the new host"
is "$(bundle_fp contended)" none "... and its bundle goes"

# ---- randomised: 30 rounds of a decommission and two enrolments of one
# name, fired up to 15 ms apart, the decommission first or second.
name=churn
rounds=30
bad=0
unexpected=
gap()
{
	sleep "$(printf '0.%03d' $((RANDOM % 15)))"
}
for round in $(seq 1 "$rounds"); do
	uuid=$(sql "SELECT uuid FROM swarm_hosts WHERE name = '$name'")
	if [ -z "$uuid" ]; then
		enroll "{\"name\":\"$name\",\"address\":\"192.0.2.43\"}"
		uuid=$(json .host_uuid)
		if [ "$STATUS" != 201 ]; then
			unexpected="$unexpected round $round: set-up enrol $STATUS"
			continue
		fi
	fi
	pids=()
	if [ $((RANDOM % 4)) -eq 0 ]; then
		fire_enroll "enr$round-a" "$name"
		pids+=("$BG_PID")
		gap
	fi
	api_bg "del$round" DELETE "/swarm/hosts/$uuid"
	pids+=("$BG_PID")
	for e in a b; do
		[ -e "$T/enr$round-$e.status" ] && continue
		gap
		fire_enroll "enr$round-$e" "$name"
		pids+=("$BG_PID")
	done
	wait "${pids[@]}" 2>/dev/null
	del_status=$(cat "$T/del$round.status")
	enr_status=$(for e in a b; do cat "$T/enr$round-$e.status"; echo; done | sort | paste -sd,)
	if [ "$del_status" != 204 ] || ! [[ $enr_status =~ ^(201,409|409,409)$ ]]; then
		unexpected="$unexpected round $round: DELETE $del_status, enrol $enr_status"
	fi
	row=$(row_fp "$name")
	bundle=$(bundle_fp "$name")
	if [ "$row" != "$bundle" ]; then
		bad=$((bad + 1))
		diag "round $round (DELETE $del_status, enrol $enr_status): row $row, bundle $bundle"
	fi
done
is "$bad" 0 "$rounds rounds of a decommission and enrolments of one name at once: the row and the bundle always match"
is "$unexpected" "" "... every decommission 204, at most one enrolment 201 a round, the other 409"
is "$(rowless_bundles | paste -sd' ')" "" "... and no bundle is left without its row"
is "$(find "$T/ca/workers" -name '.tmp*' | wc -l)" 0 "... nor any temporary directory"

done_testing
