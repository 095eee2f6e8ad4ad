#!/bin/bash
# renew.sh — workers renewing their own certificates (POST /swarm/renew)
# and reporting in (POST /swarm/heartbeat) with mutual TLS through the
# shipped nginx block (client-cas.pem: both CAs; client-crls.pem: both
# CRLs), and the public front-end CA (GET /swarm/front-ca.pem, the
# tokens' controller_ca_fingerprint).  A worker certificate passes on the
# worker routes and is refused (403) on operator routes; an operator
# certificate is refused (403) on worker routes; none at all is 401.  A
# renewal certifies the CSR's new key with the host's own profile (a CSR
# asking for CA:TRUE or an extra SAN gets neither), for --worker-days,
# replaces the bundle (no stale worker.key), supersedes the old
# certificate (403 at heartbeat, listed in crl.pem, reason superseded in
# the table) and is audited.  A lost answer is recoverable: the
# superseded certificate with a CSR for the same new key gets the same
# certificate again; with any other key, 403.  A CSR whose signature does
# not verify is 422.  Two renewals at once leave one current
# certificate.  After a decommission the host's certificate is refused
# (403) by the responder although nginx's CRL (read at start) does not
# list it.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

require_cmd openssl jq python3 curl
stack_up_or_die --worker-days 30

W=$T/renew
mkdir -p "$W"
WORKERS=$T/ca/workers

# new_key NAME — an ECDSA P-256 key in $W/NAME.key.
new_key()
{
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$W/$1.key" 2>/dev/null
}
# csr_for KEY OUT [openssl req args...] — a CSR for $W/KEY.key.
csr_for()
{
	local key=$1 out=$2
	shift 2
	openssl req -new -key "$W/$key.key" -subj "/CN=forged/O=Attacker" \
	    "$@" -out "$W/$out.csr" 2>/dev/null
}
# as_worker CRT KEY METHOD PATH [curl args] — api with that certificate.
as_worker()
{
	local crt=$1 key=$2
	shift 2
	API_AS_CRT=$crt API_AS_KEY=$key api "$@"
}
# renew_with CRT KEY CSR — POST /swarm/renew.
renew_with()
{
	as_worker "$1" "$2" POST /swarm/renew -H 'Content-Type: application/json' \
	    --data-binary "$(jq -cn --arg c "$(cat "$3")" '{csr_pem: $c}')"
}
heartbeat_with()
{
	as_worker "$1" "$2" POST /swarm/heartbeat -H 'Content-Type: application/json' \
	    --data-binary "${3:-{\}}"
}
fingerprint_of()
{
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
	    tr 'A-F' 'a-f'
}
serial_of()
{
	openssl x509 -in "$1" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f'
}
days_left()
{
	echo $(( ($(date -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/.*=//')" +%s) - $(date +%s)) / 86400 ))
}

# ---- the front-end CA, public
API_ANON=1 api GET /swarm/front-ca.pem
is "$STATUS" 200 "GET /swarm/front-ca.pem answers without a certificate"
is "$BODY" "$(cat "$T/ca/front-ca.crt")" "... with CA_DIR/front-ca.crt"
API_ANON=1 api HEAD /swarm/front-ca.pem -I
is "$STATUS" 200 "... and HEAD"
FRONT_FP=$(fingerprint_of "$T/ca/front-ca.crt")
api POST /swarm/tokens -H 'Content-Type: application/json' \
    --data-binary '{"name":"tok1","address":"192.0.2.99"}'
is "$STATUS" 201 "a token is created"
is "$(jq -r .controller_ca_fingerprint <<<"$BODY")" "$FRONT_FP" \
    "... naming the front-end CA's SHA-256 as controller_ca_fingerprint"

# ---- a worker enrolled with its own key
new_key k1
csr_for k1 k1
enroll "$(jq -cn --arg c "$(cat "$W/k1.csr")" \
    '{name: "w1", address: "192.0.2.1", sans: ["w1.example.net"], csr_pem: $c}')"
is "$STATUS" 201 "w1 enrolls with a CSR"
UUID=$(jq -r .host_uuid <<<"$BODY")
jq -r .worker_cert_pem <<<"$BODY" >"$W/c1.crt"
ok "... for --worker-days 30: $(days_left "$W/c1.crt") days left" \
    test "$(days_left "$W/c1.crt")" -ge 29 -a "$(days_left "$W/c1.crt")" -le 30
api GET "/swarm/hosts/$UUID"
is "$(jq -r .cert_not_after <<<"$BODY" | cut -c1-19)" \
    "$(date -u -d "$(openssl x509 -in "$W/c1.crt" -noout -enddate | sed 's/.*=//')" +%Y-%m-%dT%H:%M:%S)" \
    "the host view shows cert_not_after"
is "$(jq -r '.agent_version, .last_heartbeat, .status' <<<"$BODY" | paste -sd' ')" \
    "null null enrolled" "... no heartbeat yet: status enrolled"

# ---- who may use which route
heartbeat_with "$W/c1.crt" "$W/k1.key" '{"agent_version":"1.2.3","status":"ok"}'
is "$STATUS" 200 "the worker's certificate passes on POST /swarm/heartbeat"
is "$(jq -r '.host_uuid, .status' <<<"$BODY" | paste -sd' ')" "$UUID active" \
    "... which names its host, active"
like "$(jq -r .last_heartbeat <<<"$BODY")" '^20[0-9-]+T[0-9:.]+Z$' "... and when"
# Heartbeats do not notify the other workers' host caches (each keeps a
# view at most a second): the view catches up within that.
view_is()
{
	api GET "/swarm/hosts/$UUID"
	[ "$(jq -r "$1" <<<"$BODY" | paste -sd' ')" = "$2" ]
}
ok "the host view shows it active, with its agent_version, within a second" \
    wait_for 3 view_is '.status, .agent_version' "active 1.2.3"
API_ANON=1 api POST /swarm/heartbeat -H 'Content-Type: application/json' --data-binary '{}'
is "$STATUS" 401 "heartbeat without a certificate: 401"
is "$(jq -r .detail <<<"$BODY")" "worker certificate required" "... saying why"
API_ANON=1 api POST /swarm/renew -H 'Content-Type: application/json' --data-binary '{}'
is "$STATUS" 401 "renew without a certificate: 401"
api POST /swarm/heartbeat -H 'Content-Type: application/json' --data-binary '{}'
is "$STATUS" 403 "an operator certificate on POST /swarm/heartbeat: 403"
new_key k2
csr_for k2 k2 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "subjectAltName=DNS:evil.example.com,IP:203.0.113.66" \
    -addext "keyUsage=critical,keyCertSign"
renew_with "$OPERATOR_CRT" "$OPERATOR_KEY" "$W/k2.csr"
is "$STATUS" 403 "an operator certificate on POST /swarm/renew: 403"
as_worker "$W/c1.crt" "$W/k1.key" GET /swarm/hosts
is "$STATUS" 403 "a worker certificate on GET /swarm/hosts: 403"
as_worker "$W/c1.crt" "$W/k1.key" POST /swarm/enroll -H 'Content-Type: application/json' \
    --data-binary '{"name":"w9","address":"192.0.2.9"}'
is "$STATUS" 403 "... on POST /swarm/enroll: 403"
as_worker "$W/c1.crt" "$W/k1.key" DELETE "/swarm/hosts/$UUID"
is "$STATUS" 403 "... on DELETE /swarm/hosts/{uuid}: 403"
heartbeat_with "$W/c1.crt" "$W/k1.key" '{"status":"sleepy"}'
is "$STATUS" 422 "a heartbeat with a status other than ok/degraded: 422"

# ---- renewal
renew_with "$W/c1.crt" "$W/k1.key" "$W/k2.csr"
is "$STATUS" 200 "w1 renews with a CSR for a new key (asking for CA:TRUE and more SANs)"
is "$(jq -r 'keys | join(",")' <<<"$BODY")" \
    "ca_cert_pem,cert_not_after,fingerprint,host_uuid,name,worker_cert_pem" \
    "... the answer has the renewal's fields, no key"
jq -r .worker_cert_pem <<<"$BODY" >"$W/c2.crt"
FP2=$(jq -r .fingerprint <<<"$BODY")
is "$(fingerprint_of "$W/c2.crt")" "$FP2" "... fingerprint is the new certificate's"
is "$(openssl x509 -in "$W/c2.crt" -noout -pubkey)" "$(openssl pkey -in "$W/k2.key" -pubout)" \
    "... which certifies the new key"
TEXT=$(openssl x509 -in "$W/c2.crt" -noout -text)
like "$TEXT" "CA:FALSE" "... CA:FALSE, whatever the CSR asked"
unlike "$TEXT" "evil.example.com|203.0.113.66|Certificate Sign" \
    "... none of the CSR's SANs or key usages"
is "$(openssl x509 -in "$W/c2.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" \
    "DNS:w1.example.net,IPAddress:192.0.2.1,DNS:w1" "... the host's own SANs"
like "$(openssl x509 -in "$W/c2.crt" -noout -subject)" "CN ?= ?w1" "... subject CN=w1"
ok "... valid --worker-days 30" test "$(days_left "$W/c2.crt")" -ge 29
is "$(fingerprint_of "$WORKERS/w1/worker.crt")" "$FP2" "the bundle's worker.crt is the new certificate"
ok "... and it holds no worker.key" test ! -e "$WORKERS/w1/worker.key"
api GET "/swarm/hosts/$UUID"
is "$(jq -r .client_cert_fingerprint <<<"$BODY")" "$FP2" "the host now names the new certificate"
is "$(sql "SELECT count(*) FROM audit_log WHERE action = 'renew' AND outcome = 'success' AND target = '$UUID' AND actor = 'worker w1'")" 1 \
    "the renewal is audited (actor worker w1, target the host's uuid)"

heartbeat_with "$W/c1.crt" "$W/k1.key"
is "$STATUS" 403 "the superseded certificate is refused at heartbeat"
heartbeat_with "$W/c2.crt" "$W/k2.key"
is "$STATUS" 200 "the new one passes"
is "$(sql "SELECT reason || ' ' || successor FROM certificates WHERE fingerprint = '$(fingerprint_of "$W/c1.crt")'")" \
    "superseded $FP2" "the old certificate is revoked, reason superseded, naming its successor"
SERIAL1=$(serial_of "$W/c1.crt")
# serial_in FILE — does the PEM file of CRLs (one or several) list SERIAL1?
serial_in()
{
	local f=$1 out=$W/split
	rm -rf "$out" && mkdir -p "$out"
	awk -v d="$out" '/BEGIN X509 CRL/ { n++ } n { print > (d "/" n ".pem") }' "$f"
	for c in "$out"/*.pem; do
		openssl crl -in "$c" -noout -text 2>/dev/null
	done | tr -d ' ' | grep -qi "^serialnumber:0*${SERIAL1#0}$"
}
ok "crl.pem lists the superseded certificate" wait_for 15 serial_in "$T/ca/crl.pem"
ok "client-crls.pem (nginx's ssl_crl) lists it too" wait_for 15 serial_in "$T/ca/client-crls.pem"
is "$(grep -c 'BEGIN X509 CRL' "$T/ca/client-crls.pem")" 2 "... beside the front-end CA's CRL"

# ---- a lost answer
csr_for k2 k2again
renew_with "$W/c1.crt" "$W/k1.key" "$W/k2again.csr"
is "$STATUS" 200 "the superseded certificate with a CSR for the same new key: 200"
is "$(jq -r .fingerprint <<<"$BODY")" "$FP2" "... the same certificate again"
is "$(sql "SELECT count(*) FROM certificates WHERE host_uuid = '$UUID'")" 2 "... and no third certificate"
new_key k3
csr_for k3 k3
renew_with "$W/c1.crt" "$W/k1.key" "$W/k3.csr"
is "$STATUS" 403 "the superseded certificate with any other key: 403"

# ---- bad CSRs
csr_flip_signature "$W/k3.csr" "$W/bad.csr"
renew_with "$W/c2.crt" "$W/k2.key" "$W/bad.csr"
is "$STATUS" 422 "a CSR whose signature does not verify: 422"
is "$(jq -r '.detail[0].loc | join(".")' <<<"$BODY")" "body.csr_pem" "... at body.csr_pem"
api GET "/swarm/hosts/$UUID"
is "$(jq -r .client_cert_fingerprint <<<"$BODY")" "$FP2" "... nothing changed"

# ---- two renewals at once
new_key k4
new_key k5
pids=()
csr_for k4 k4
csr_for k5 k5
for k in k4 k5; do
	curl -sS --http1.1 --cacert "$CACERT" --cert "$W/c2.crt" --key "$W/k2.key" \
	    -H 'Content-Type: application/json' -o "$W/$k.out" -w '%{http_code}' \
	    --data-binary "$(jq -cn --arg c "$(cat "$W/$k.csr")" '{csr_pem: $c}')" \
	    "$BASE/swarm/renew" >"$W/$k.status" &
	pids+=("$!")
done
wait "${pids[@]}"
is "$(printf '%s\n' "$(cat "$W/k4.status")" "$(cat "$W/k5.status")" | LC_ALL=C sort | paste -sd' ')" "200 403" \
    "two renewals of one host at once: one 200, one 403"
WIN=$(jq -r '.fingerprint // empty' "$W/k4.out" "$W/k5.out")
is "$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE uuid = '$UUID'")" "$WIN" \
    "... the host names the winner's certificate"
is "$(sql "SELECT count(*) FROM certificates WHERE host_uuid = '$UUID' AND revoked_at IS NULL")" 1 \
    "... the only unrevoked certificate of the host"
if [ "$(cat "$W/k4.status")" = 200 ]; then CUR=k4; else CUR=k5; fi
jq -r .worker_cert_pem "$W/$CUR.out" >"$W/cur.crt"

# ---- decommissioned
api DELETE "/swarm/hosts/$UUID"
is "$STATUS" 204 "w1 is decommissioned"
heartbeat_with "$W/cur.crt" "$W/$CUR.key"
is "$STATUS" 403 "its certificate is refused at heartbeat (nginx's CRL, read at start, does not list it)"
new_key k6
csr_for k6 k6
renew_with "$W/cur.crt" "$W/$CUR.key" "$W/k6.csr"
is "$STATUS" 403 "... and at renew"
is "$(sql "SELECT count(*) FROM audit_log WHERE action = 'renew' AND outcome = 'refused' AND actor <> 'anonymous'")" 4 \
    "refused renewals with a certificate are audited one row each (operator, superseded, lost race, decommissioned)"
is "$(sql "SELECT detail FROM audit_log WHERE action = 'renew' AND actor = 'anonymous'")" \
    "1 refused request without a client certificate" "... those without one are counted"

done_testing
