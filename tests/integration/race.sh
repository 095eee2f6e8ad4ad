#!/bin/bash
# race.sh — enrolling and decommissioning one name at once never leaves a
# row without its bundle, nor a bundle without its row (issue 9, item 2).
#
# First a forced interleaving: the decommission is held between its
# COMMIT and its bundle removal (a psql session holds the CRL lock that
# its CRL publication takes there), a new enrolment of the same name
# completes meanwhile, then the decommission goes on.  Before the fix it
# removed the new host's bundle by name.  Then a randomised stress test:
# 30 rounds of a decommission and an enrolment of one name fired a few
# milliseconds apart, in either order, each followed by the check that
# the row (if any) and the bundle (if any) carry the same certificate.
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

# fire TAG METHOD PATH [curl args...] — one request in the background;
# status in $T/TAG.status, body in $T/TAG.body; sets FIRED_PID.
fire()
{
	local tag=$1 method=$2 path=$3
	shift 3
	auth_args
	curl -sS --http1.1 --cacert "$CACERT" "${AUTH[@]}" --max-time 120 \
	    -H 'Expect:' -X "$method" -o "$T/$tag.body" -w '%{http_code}' \
	    "$@" "$BASE$path" >"$T/$tag.status" 2>"$T/$tag.err" </dev/null &
	FIRED_PID=$!
}
fire_enroll()
{
	fire "$1" POST /swarm/enroll -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"$2\",\"address\":\"192.0.2.40\"}"
}

# Advisory locks held from a psql session of its own (application_name
# tells it apart): hold_lock APP K1 K2, release_lock APP.
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
	wait_exit "$HOLDER_PID" 20 || true
	_untrack "$HOLDER_PID"
}

# ---- forced: the enrolment lands between the decommission's COMMIT and
# its bundle removal.
enroll '{"name":"contended","address":"192.0.2.41"}'
is "$STATUS" 201 "enrol 'contended'" || diag "$BODY"
old_uuid=$(json .host_uuid)
old_fp=$(json .fingerprint)

# shellcheck disable=SC2086
ok "a psql session holds the CRL lock" hold_lock race-crl $CRL_LOCK
fire del DELETE "/swarm/hosts/$old_uuid"
del_pid=$FIRED_PID
# shellcheck disable=SC2086
ok "the decommission waits for the CRL lock" wait_for 30 lock_awaited $CRL_LOCK
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE uuid = '$old_uuid'")" 0 \
    "... after its COMMIT: the row is gone"
is "$(bundle_fp contended)" "$old_fp" "... and the old bundle is still there"

enroll '{"name":"contended","address":"192.0.2.42"}'
is "$STATUS" 201 "meanwhile 'contended' is enrolled again" || diag "$BODY"
new_fp=$(json .fingerprint)
ok "... while the decommission is still held" pid_alive "$del_pid"
is "$(bundle_fp contended)" "$new_fp" "... and the new bundle replaced the old"

release_lock race-crl
wait "$del_pid" 2>/dev/null
is "$(cat "$T/del.status")" 204 "the decommission then completes: 204"
is "$(row_fp contended)" "$new_fp" "the new host's row is there"
is "$(bundle_fp contended)" "$new_fp" \
    "... and so is its bundle: the decommission did not remove it"
is "$(rowless_bundles | paste -sd' ')" "" "no bundle without its row"

# The bundle the decommission kept is the host's own: decommissioning
# the new host removes it.
api DELETE "/swarm/hosts/$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'contended'")"
is "$STATUS" 204 "decommission the new host"
is "$(bundle_fp contended)" none "... and its bundle goes"

# ---- randomised: 30 rounds, a decommission and an enrolment of one
# name fired up to 40 ms apart, in either order.
name=churn
rounds=30
bad=0
unexpected=
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
	gap=$(printf '0.%03d' $((RANDOM % 40)))
	if [ $((RANDOM % 4)) -eq 0 ]; then
		fire_enroll "enr$round" "$name"
		enr_pid=$FIRED_PID
		sleep "$gap"
		fire "del$round" DELETE "/swarm/hosts/$uuid"
		del_pid=$FIRED_PID
	else
		fire "del$round" DELETE "/swarm/hosts/$uuid"
		del_pid=$FIRED_PID
		sleep "$gap"
		fire_enroll "enr$round" "$name"
		enr_pid=$FIRED_PID
	fi
	wait "$del_pid" "$enr_pid" 2>/dev/null
	del_status=$(cat "$T/del$round.status")
	enr_status=$(cat "$T/enr$round.status")
	if [ "$del_status" != 204 ] || ! [[ $enr_status =~ ^(201|409)$ ]]; then
		unexpected="$unexpected round $round: DELETE $del_status, enrol $enr_status"
	fi
	row=$(row_fp "$name")
	bundle=$(bundle_fp "$name")
	if [ "$row" != "$bundle" ]; then
		bad=$((bad + 1))
		diag "round $round (gap ${gap}s, DELETE $del_status, enrol $enr_status): row $row, bundle $bundle"
	fi
done
is "$bad" 0 "$rounds rounds of a decommission and an enrolment of one name at once: the row and the bundle always match"
is "$unexpected" "" "... every decommission 204, every enrolment 201 or 409"
is "$(rowless_bundles | paste -sd' ')" "" "... and no bundle is left without its row"
is "$(find "$T/ca/workers" -name '.tmp*' | wc -l)" 0 "... nor any temporary directory"

done_testing
