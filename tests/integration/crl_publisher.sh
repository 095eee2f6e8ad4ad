#!/bin/bash
# crl_publisher.sh — the published CRL follows the database's revoked
# set by itself (README "Faults"), seen through nginx's GET
# /swarm/crl.pem:
#   - a decommission while CA_DIR is read-only (a read-only bind mount:
#     root cannot write either) is 204 and revoked in the database; once
#     the directory is writable again the CRL lists it within seconds,
#     same process, no restart;
#   - swarmctl killed (-9) after such a decommission, before it could
#     publish: the restarted one lists it before it accepts requests;
#   - PostgreSQL stopped while a publication is pending: listed within
#     seconds of its return, same process;
#   - a burst of decommissions is published in far fewer CRLs (CRL
#     numbers) than decommissions, and every serial is listed;
#   - the publisher keeps its list between publications: after the burst
#     it read only the recent rows;
#   - a revocation made by hand in psql (no notification) is picked up
#     by the periodic check; a revoked certificate expired for longer
#     than the CRL's validity is dropped, one expired more recently kept;
#     dated long before the list's latest entry, it made the publisher
#     read the whole list (the count disagreed); an entry of the kept
#     list whose certificate expires meanwhile goes at the next
#     publication, without reading everything again;
#   - a restart with nothing new keeps the CRL (same number), and two
#     swarmctl on one CA_DIR and database do not replace each other's
#     CRL back and forth.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
# shellcheck source=../lib/crl.sh
. "$TOP_SRCDIR/tests/lib/crl.sh"
require_cmd psql mount umount mountpoint touch

# ECDSA worker keys: many enrollments, quickly.
stack_up_or_die --key-type ecdsa-p256
W=$T/workers-out
mkdir -p "$W"

# CA_DIR read-only for everyone, root included: a read-only bind mount
# of the directory over itself.  Always undone before the stack's
# cleanup removes $T.
ca_readonly()
{
	mount --bind "$T/ca" "$T/ca" && mount -o remount,bind,ro "$T/ca"
}
ca_writable()
{
	if mountpoint -q "$T/ca"; then
		umount "$T/ca"
	fi
}
trap '_crl_rc=$?; ca_writable; (exit $_crl_rc); _stack_cleanup' EXIT

# enroll_worker NAME — enroll NAME; its uuid and certificate in $W.
enroll_worker()
{
	enroll "{\"name\":\"$1\",\"address\":\"192.0.2.30\"}"
	if [ "$STATUS" != 201 ]; then
		not_ok "enroll $1" "$STATUS $BODY"
		return 1
	fi
	json -r .host_uuid >"$W/$1.uuid"
	json -j .worker_cert_pem >"$W/$1.crt"
}

# within N LO HI — LO <= N <= HI
within()
{
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# serial NAME — NAME's certificate serial.
serial()
{
	cert_serial "$W/$1.crt"
}

# revoked_in_db NAME — the certificates table says NAME's is revoked.
revoked_in_db()
{
	[ "$(sql "SELECT revoked_at IS NOT NULL FROM certificates WHERE fingerprint = '$(cert_fingerprint "$W/$1.crt")'")" = t ]
}

# file_lists NAME — CA_DIR/crl.pem itself lists NAME's serial.
file_lists()
{
	crl_lists "$T/ca/crl.pem" "$(serial "$1")"
}

for w in readonly killed pgdown; do
	enroll_worker "$w" || bail "enrollment failed"
done
BURST=16
for i in $(seq 1 $BURST); do
	enroll_worker "burst-$i" || bail "enrollment failed"
done
pid=$SWARMCTL_PID

# ---- CA_DIR read-only during the decommission, writable again later
ok "CA_DIR made read-only (bind mount)" ca_readonly
fails "... root cannot create a file in it either" touch "$T/ca/.probe"
api DELETE "/swarm/hosts/$(cat "$W/readonly.uuid")"
is "$STATUS" 204 "decommission with CA_DIR read-only is 204"
ok "... and the certificate is revoked in the database" revoked_in_db readonly
sleep 3
fails "... the CRL cannot list it while CA_DIR stays read-only (the fault is real)" \
    file_lists readonly
ok "CA_DIR writable again" ca_writable
ok "GET /swarm/crl.pem lists it within 10 s, without a restart" \
    crl_wait_lists 10 "$(serial readonly)"
is "$SWARMCTL_PID" "$pid" "... by the same process"
like "$(cat "$T/swarmctl.log")" 'CRL: .*[Rr]ead-only file system' \
    "the failed publication was logged with its cause"

# ---- killed after the decommission, before publishing
ok "CA_DIR made read-only again" ca_readonly
api DELETE "/swarm/hosts/$(cat "$W/killed.uuid")"
is "$STATUS" 204 "decommission with CA_DIR read-only is 204"
swarmctl_stop KILL
ok "swarmctl killed (-9)" [ "$EXIT_STATUS" != 0 ]
ok "CA_DIR writable again" ca_writable
fails "the CRL on disk does not list the certificate yet" file_lists killed
swarmctl_start --key-type ecdsa-p256 || bail "swarmctl did not restart"
ok "the restarted swarmctl published it before accepting requests" \
    file_lists killed
crl_fetch "$T/crl-restart.pem"
ok "... GET /swarm/crl.pem lists it" crl_lists "$T/crl-restart.pem" "$(serial killed)"
ok "... and still the earlier one" crl_lists "$T/crl-restart.pem" "$(serial readonly)"
pid=$SWARMCTL_PID

# ---- PostgreSQL stopped while a publication is pending
ok "CA_DIR made read-only again" ca_readonly
api DELETE "/swarm/hosts/$(cat "$W/pgdown.uuid")"
is "$STATUS" 204 "decommission with CA_DIR read-only is 204"
pg_stop
ok "CA_DIR writable again, PostgreSQL down" ca_writable
sleep 3
fails "... the CRL does not list it while PostgreSQL is down" file_lists pgdown
pg_start || bail "PostgreSQL did not come back"
ok "GET /swarm/crl.pem lists it within 15 s of PostgreSQL's return" \
    crl_wait_lists 15 "$(serial pgdown)"
is "$SWARMCTL_PID" "$pid" "... by the same process"

# ---- a burst of decommissions shares CRLs
crl_fetch "$T/crl-before-burst.pem"
n0=$(crl_number "$T/crl-before-burst.pem")
burst_serials=()
burst_urls=()
burst_pids=()
for i in $(seq 1 $BURST); do
	burst_serials+=("$(serial "burst-$i")")
	burst_urls+=("$BASE/swarm/hosts/$(cat "$W/burst-$i.uuid")")
done
for i in $(seq 1 $BURST); do
	curl -sS --http1.1 --cacert "$CACERT" --cert "$OPERATOR_CRT" \
	    --key "$OPERATOR_KEY" --max-time 60 -o /dev/null -w '%{http_code}\n' \
	    -X DELETE "${burst_urls[$((i - 1))]}" >"$T/burst-$i.status" 2>&1 &
	burst_pids+=("$!")
done
# Only the curls: swarmctl and nginx are background jobs of ours too.
wait "${burst_pids[@]}"
codes=$(cat "$T"/burst-*.status | sort | uniq -c | sed 's/^ *//')
is "$codes" "$BURST 204" "$BURST decommissions at once: all 204"
ok "every one of them is listed within 10 s" crl_wait_lists 10 "${burst_serials[@]}"
n1=$(crl_number "$T/crl-wait.pem")
ok "... in far fewer CRLs than decommissions (numbers $n0 -> $n1)" \
    within "$((n1 - n0))" 1 $((BURST / 4))
ok "... and the earlier revocations are still listed" \
    crl_lists "$T/crl-wait.pem" "$(serial readonly)" "$(serial killed)" "$(serial pgdown)"

# last_publication — the log's last "published the worker CA's CRL" line.
last_publication()
{
	grep "published the worker CA's CRL" "$T/swarmctl.log" | tail -n 1
}
like "$(last_publication)" ' [0-9]+ recent rows read;' \
    "... the last of them read only the recent rows (the list is kept)"

# ---- revoked by hand (no notification), expired entries
# insert_revoked SERIAL NOT_AFTER — a revoked worker certificate row.
insert_revoked()
{
	sql "INSERT INTO certificates (serial, fingerprint, subject, kind, not_after, revoked_at, reason, ca)
	    VALUES ('$1', encode(sha256('$1'::bytea), 'hex'), 'CN=by-hand-$1', 'worker',
	    $2, now() - interval '40 days', 'keyCompromise', 'worker')" >/dev/null
}
insert_revoked 7e000000000000000000000000000001 "now() - interval '30 days'" &&
insert_revoked 7e000000000000000000000000000002 "now() - interval '1 day'" &&
insert_revoked 7e000000000000000000000000000003 "now() + interval '30 days'"
ok "a certificate revoked by hand (INSERT: no notification) is listed within 10 s" \
    crl_wait_lists 10 7e000000000000000000000000000003
fails "one expired 30 days ago (beyond the 7-day CRL validity) is not listed" \
    crl_lists "$T/crl-wait.pem" 7e000000000000000000000000000001
ok "one expired a day ago (within it) still is" \
    crl_lists "$T/crl-wait.pem" 7e000000000000000000000000000002
like "$(grep "published the worker CA's CRL" "$T/swarmctl.log" | tail -n 3)" \
    ' [0-9]+ listed rows read;' \
    "revoked 40 days back, they made the publisher read the whole list"

# An entry of the kept list whose certificate leaves the CRL's 7 days of
# grace 15 s from now: the next publication after that drops it.
sql "INSERT INTO certificates (serial, fingerprint, subject, kind, not_after, revoked_at, reason, ca)
    VALUES ('7e000000000000000000000000000004', encode(sha256('4'::bytea), 'hex'),
    'CN=by-hand-4', 'worker', now() - interval '7 days' + interval '15 seconds',
    now() - interval '2 days', 'keyCompromise', 'worker')" >/dev/null
ok "one whose certificate leaves the grace in 15 s is listed meanwhile" \
    crl_wait_lists 10 7e000000000000000000000000000004
sleep 16
enroll_worker expiry || bail "enrollment failed"
api DELETE "/swarm/hosts/$(cat "$W/expiry.uuid")"
ok "after it left, the next revocation's CRL lists the new one" \
    crl_wait_lists 10 "$(serial expiry)"
fails "... and no longer the one that left" \
    crl_lists "$T/crl-wait.pem" 7e000000000000000000000000000004
like "$(last_publication)" ' [0-9]+ recent rows read;' \
    "... a publication from the kept list, not the whole of it"
like "$(openssl crl -in "$T/crl-wait.pem" -CAfile "$T/ca/ca.crt" -noout 2>&1)" \
    'verify OK' "the CRL verifies with openssl against the worker CA"

# ---- nothing new: a restart keeps the CRL; two publishers agree
n_before=$(crl_number "$T/ca/crl.pem")
swarmctl_stop
swarmctl_start --key-type ecdsa-p256 || bail "swarmctl did not restart"
is "$(crl_number "$T/ca/crl.pem")" "$n_before" \
    "a restart with nothing new revoked keeps the CRL (same number)"
swarmctl_spawn "$T/second.sock" "$T/swarmctl-2.log" --key-type ecdsa-p256
second=$SPAWNED_PID
ok "a second swarmctl serve on the same database and CA_DIR starts" \
    swarmctl_wait_ready "$second" "$T/second.sock"
enroll_worker spare || bail "enrollment failed"
sql "UPDATE certificates SET revoked_at = now(), reason = 'keyCompromise'
    WHERE fingerprint = '$(cert_fingerprint "$W/spare.crt")'" >/dev/null
ok "a revocation by hand (UPDATE: notified) is listed within 10 s" \
    crl_wait_lists 10 "$(serial spare)"
sleep 1
n2=$(crl_number "$T/ca/crl.pem")
sleep 5
is "$(crl_number "$T/ca/crl.pem")" "$n2" \
    "with two publishers, the CRL then stays as it is (same number 5 s later)"
ok "both swarmctl are still running" pid_alive "$second"

done_testing
