#!/bin/bash
# revocation.sh — a decommissioned worker's certificate stops being
# trusted, seen from outside: after DELETE /swarm/hosts/{uuid} the CRL
# published at the public GET /swarm/crl.pem (signed by the CA, CRL number
# increased) lists the worker's serial, so `openssl verify -crl_check`
# fails with "certificate revoked" while a still-enrolled worker verifies;
# the certificates table records the revocation (reason
# cessationOfOperation).  The CRL is published shortly after the 204,
# not before it: the test waits for it (tests/lib/crl.sh).  Worker
# certificates come from the worker CA, which nginx verifies for the
# worker routes (POST /swarm/renew, /swarm/heartbeat): on operator routes
# the responder refuses them (403), revoked or not.  The CRL's nextUpdate is 7 days ahead by default and
# follows --crl-next-update-days.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
# shellcheck source=../lib/crl.sh
. "$TOP_SRCDIR/tests/lib/crl.sh"
require_cmd psql date

stack_up_or_die

W=$T/workers-out
mkdir -p "$W"

# The worker CA: what signs worker certificates and the public CRL.
WORKER_CA=$T/ca/ca.crt

# crl_verify CERT CRL — openssl's verdict on CERT against the worker CA
# and CRL.
crl_verify()
{
	openssl verify -crl_check -CRLfile "$2" -CAfile "$WORKER_CA" "$1" 2>&1
}

# fetch_crl FILE — GET /swarm/crl.pem without a certificate into FILE.
fetch_crl()
{
	API_ANON=1 api GET /swarm/crl.pem
	is "$STATUS" 200 "GET /swarm/crl.pem (no certificate) is 200"
	cp "$T/body" "$1"
}

# crl_ahead FILE — seconds from now to the CRL's nextUpdate.  (Its
# lastUpdate is backdated a little for clock skew, so measure from now,
# right after the CRL was published.)
crl_ahead()
{
	local next
	next=$(openssl crl -in "$1" -noout -nextupdate | sed 's/^nextUpdate=//')
	printf '%d\n' $(($(date -u -d "$next" +%s) - $(date -u +%s)))
}

# crl_last_past FILE — the CRL's lastUpdate is not in the future.
crl_last_past()
{
	local last
	last=$(openssl crl -in "$1" -noout -lastupdate | sed 's/^lastUpdate=//')
	[ "$(date -u -d "$last" +%s)" -le "$(date -u +%s)" ]
}

# within N LO HI — LO <= N <= HI
within()
{
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# serial_of CERT — lowercase hex serial as the certificates table has it.
serial_of()
{
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' |
	    sed 's/^0*//'
}

for w in worker-x worker-y; do
	enroll "{\"name\":\"$w\",\"address\":\"192.0.2.20\"}"
	is "$STATUS" 201 "enroll $w" || diag "$BODY"
	json -r .host_uuid >"$W/$w.uuid"
	json -j .worker_cert_pem >"$W/$w.crt"
	(umask 077 && json -j .worker_key_pem >"$W/$w.key")
done
UUID_X=$(cat "$W/worker-x.uuid")
FP_X=$(cert_fingerprint "$W/worker-x.crt")
FP_Y=$(cert_fingerprint "$W/worker-y.crt")

# ---- before: both verify against the published CRL
fetch_crl "$T/crl-before.pem"
like "$(crl_verify "$W/worker-x.crt" "$T/crl-before.pem")" ': OK$' \
    "before decommission: worker-x verifies with -crl_check"
is "$(sql "SELECT kind || ' ' || (revoked_at IS NULL) FROM certificates WHERE fingerprint = '$FP_X'")" \
    "worker true" "certificates records worker-x's certificate as an unrevoked worker certificate"
ahead=$(crl_ahead "$T/crl-before.pem")
ok "the CRL's nextUpdate is about 7 days ahead by default (got ${ahead}s)" \
    within "$ahead" $((7 * 86400 - 600)) $((7 * 86400 + 60))
ok "... and its lastUpdate is not in the future" crl_last_past "$T/crl-before.pem"

# A worker certificate is no operator's: nginx verifies it (the worker
# routes take it), the responder refuses it on operator routes.
API_AS_CRT=$W/worker-x.crt API_AS_KEY=$W/worker-x.key api GET /swarm/hosts
is_detail 403 "operator certificate required" \
    "before decommission: worker-x's certificate is refused on an operator route"

# ---- decommission worker-x
api DELETE "/swarm/hosts/$UUID_X"
is "$STATUS" 204 "DELETE /swarm/hosts/{worker-x} is 204"
ok "... the published CRL lists worker-x within 10 s" \
    crl_wait_lists 10 "$(cert_serial "$W/worker-x.crt")"
fetch_crl "$T/crl.pem"
ok "... the published CRL is CA_DIR/crl.pem" cmp -s "$T/crl.pem" "$T/ca/crl.pem"
like "$(openssl crl -in "$T/crl.pem" -CAfile "$WORKER_CA" -noout 2>&1)" 'verify OK' \
    "... signed by the worker CA"
n0=$(crl_number "$T/crl-before.pem")
n1=$(crl_number "$T/crl.pem")
ok "... with a larger CRL number ($n0 -> $n1)" [ "${n1:-0}" -gt "${n0:-0}" ]
is "$(crl_serials "$T/crl-before.pem")" "" "the CRL before any revocation lists nothing"
is "$(crl_serials "$T/crl.pem")" "$(serial_of "$W/worker-x.crt" | tr 'a-f' 'A-F')" \
    "... after it, exactly worker-x's serial"

out=$(crl_verify "$W/worker-x.crt" "$T/crl.pem")
like "$out" 'certificate revoked' \
    "openssl verify -crl_check rejects worker-x: certificate revoked" || diag "$out"
unlike "$out" ': OK$' "... and does not say OK"
fails "... exit status non-zero" openssl verify -crl_check -CRLfile "$T/crl.pem" \
    -CAfile "$WORKER_CA" "$W/worker-x.crt"
out=$(crl_verify "$W/worker-y.crt" "$T/crl.pem")
like "$out" ': OK$' "openssl verify -crl_check accepts the still-enrolled worker-y" || diag "$out"

is "$(sql "SELECT (revoked_at IS NOT NULL) || ' ' || reason || ' ' || kind || ' ' || host_uuid FROM certificates WHERE fingerprint = '$FP_X'")" \
    "true cessationOfOperation worker $UUID_X" \
    "certificates: worker-x revoked, reason cessationOfOperation, host uuid kept"
# openssl prints the serial without leading zero octets; the table keeps
# all 16 octets.
is "$(sql "SELECT ltrim(serial, '0') FROM certificates WHERE fingerprint = '$FP_X'")" \
    "$(serial_of "$W/worker-x.crt" | sed 's/^0*//')" "certificates: the row's serial is the certificate's"
is "$(sql "SELECT (revoked_at IS NULL) || ' ' || coalesce(reason, '-') FROM certificates WHERE fingerprint = '$FP_Y'")" \
    "true -" "certificates: worker-y is not revoked"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE uuid = '$UUID_X'")" 0 "worker-x's host row is gone"

# ---- the front end is unaffected
pid_before=$SWARMCTL_PID
API_AS_CRT=$W/worker-y.crt API_AS_KEY=$W/worker-y.key api GET /swarm/hosts
is_detail 403 "operator certificate required" \
    "worker-y's certificate is no operator's either"
api GET /swarm/hosts
is "$STATUS" 200 "the operator is unaffected"
is "$SWARMCTL_PID" "$pid_before" "swarmctl was not restarted (same PID)"
ok "... and is still running" pid_alive "$SWARMCTL_PID"

# ---- --crl-next-update-days 2
swarmctl_stop
swarmctl_start --crl-next-update-days 2 || bail "swarmctl did not restart"
api DELETE "/swarm/hosts/$(cat "$W/worker-y.uuid")"
is "$STATUS" 204 "with --crl-next-update-days 2: decommission worker-y is 204"
ok "... the published CRL lists worker-y within 10 s" \
    crl_wait_lists 10 "$(cert_serial "$W/worker-y.crt")"
fetch_crl "$T/crl-2d.pem"
ahead=$(crl_ahead "$T/crl-2d.pem")
ok "... the new CRL's nextUpdate is about 2 days ahead (got ${ahead}s)" \
    within "$ahead" $((2 * 86400 - 600)) $((2 * 86400 + 60))
out=$(crl_verify "$W/worker-y.crt" "$T/crl-2d.pem")
like "$out" 'certificate revoked' "... and lists worker-y" || diag "$out"
out=$(crl_verify "$W/worker-x.crt" "$T/crl-2d.pem")
like "$out" 'certificate revoked' "... and still lists worker-x" || diag "$out"

done_testing
