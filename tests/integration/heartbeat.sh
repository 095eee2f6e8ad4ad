#!/bin/bash
# heartbeat.sh — POST /swarm/heartbeat and what the host view makes of
# it, through nginx with --stale-after 2 and --worker-days 10: a host is
# "enrolled" until its first heartbeat, "active" after one, "unreachable"
# once the last is older than --stale-after, "active" again after the
# next; ?host_status= filters on that same status (the stale host is
# found with host_status=unreachable).  agent_version and the agent's
# status are recorded (bad ones: 422; an empty body is fine), for
# workers with server-made keys too.  ?expiring_within=DAYS lists hosts
# whose certificate ends within DAYS (1-3650, else 422).  The view keeps
# its old fields in order, cert_not_after and agent_version appended.
# Heartbeats write no audit rows; refusals without a certificate are
# counted into one.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

require_cmd openssl jq curl
stack_up_or_die --stale-after 2 --worker-days 10

W=$T/hb
mkdir -p "$W"

beat()
{
	API_AS_CRT=$1 API_AS_KEY=$2 api POST /swarm/heartbeat \
	    -H 'Content-Type: application/json' --data-binary "$3"
}
view_is()
{
	api GET "/swarm/hosts/$1"
	[ "$(jq -r "$2" <<<"$BODY" | paste -sd' ')" = "$3" ]
}
names_with()
{
	api GET "/swarm/hosts?$1"
	jq -r '[.[].name] | join(" ")' <<<"$BODY"
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/w1.key" 2>/dev/null
openssl req -new -key "$W/w1.key" -subj /CN=w1 -out "$W/w1.csr" 2>/dev/null
enroll "$(jq -cn --arg c "$(cat "$W/w1.csr")" '{name: "w1", address: "192.0.2.1", csr_pem: $c}')"
is "$STATUS" 201 "w1 enrolls with a CSR"
U1=$(jq -r .host_uuid <<<"$BODY")
jq -r .worker_cert_pem <<<"$BODY" >"$W/w1.crt"
enroll '{"name":"w2","address":"192.0.2.2"}'
is "$STATUS" 201 "w2 enrolls with a key made by the controller"
U2=$(jq -r .host_uuid <<<"$BODY")
jq -r .worker_cert_pem <<<"$BODY" >"$W/w2.crt"
jq -r .worker_key_pem <<<"$BODY" >"$W/w2.key"

api GET "/swarm/hosts/$U2"
is "$(jq -r 'keys_unsorted | join(",")' <<<"$BODY")" \
    "uuid,name,address,agent_port,status,last_heartbeat,client_cert_fingerprint,enrolled_at,notes,cert_not_after,agent_version" \
    "the host view: the old fields in order, cert_not_after and agent_version appended"
is "$(names_with host_status=enrolled)" "w1 w2" "before any heartbeat both are enrolled"

beat "$W/w1.crt" "$W/w1.key" '{"agent_version":"swarmctl-agent 0.1","status":"degraded"}'
is "$STATUS" 200 "w1 heartbeats"
ok "w1 shows active with its agent_version" \
    wait_for 3 view_is "$U1" '.status, .agent_version' "active swarmctl-agent 0.1"
is "$(sql "SELECT agent_status FROM swarm_hosts WHERE uuid = '$U1'")" degraded \
    "the agent's own status is recorded"
is "$(names_with host_status=active)" "w1" "host_status=active finds w1"
is "$(names_with host_status=enrolled)" "w2" "host_status=enrolled finds w2 only"
ok "w1 shows unreachable once its heartbeat is older than --stale-after 2" \
    wait_for 8 view_is "$U1" .status unreachable
is "$(names_with host_status=unreachable)" "w1" "host_status=unreachable finds the stale host"
is "$(names_with 'host_status=unreachable&limit=1')" "w1" "... a page of it too"
beat "$W/w2.crt" "$W/w2.key" ''
is "$STATUS" 200 "w2 heartbeats with an empty body (controller-made key)"
is "$(names_with host_status=active)" "w2" "host_status=active finds w2, not the stale w1"
beat "$W/w1.crt" "$W/w1.key" '{}'
is "$STATUS" 200 "w1 heartbeats again"
ok "... and is active again" wait_for 3 view_is "$U1" .status active
is "$(jq -r .last_heartbeat <<<"$BODY" | cut -c1-4)" "$(date -u +%Y)" "... last_heartbeat is filled in"

beat "$W/w1.crt" "$W/w1.key" "{\"agent_version\":\"$(printf 'v%.0s' $(seq 65))\"}"
is "$STATUS" 422 "an agent_version over 64 characters: 422"
beat "$W/w1.crt" "$W/w1.key" '{"agent_version":"a\u0007b"}'
is "$STATUS" 422 "... with a control character: 422"
beat "$W/w1.crt" "$W/w1.key" '{"uptime":5}'
is "$STATUS" 422 "... an unknown field: 422"

# ---- expiring_within
is "$(names_with expiring_within=11)" "w1 w2" "expiring_within=11 lists both (--worker-days 10)"
is "$(names_with expiring_within=9)" "" "expiring_within=9 lists neither"
is "$(names_with 'expiring_within=11&host_status=enrolled')" "" "... combined with host_status"
api GET "/swarm/hosts?expiring_within=0"
is "$STATUS" 422 "expiring_within=0: 422"
api GET "/swarm/hosts?expiring_within=3651"
is "$STATUS" 422 "expiring_within=3651: 422"

# ---- the audit trail
for i in 1 2 3; do
	API_ANON=1 api POST /swarm/heartbeat -H 'Content-Type: application/json' --data-binary '{}'
done
is "$STATUS" 401 "heartbeats without a certificate: 401"
is "$(sql "SELECT count(*) || ' ' || min(actor) FROM audit_log WHERE action LIKE 'heartbeat%'")" "1 anonymous" \
    "heartbeats write no audit rows; refusals are counted into one row"

# ---- nginx's trust file: written by serve at start when it is missing
is "$(cat "$T/ca/client-cas.pem")" "$(cat "$T/ca/front-ca.crt" "$T/ca/ca.crt")" \
    "client-cas.pem (nginx's ssl_client_certificate) is front-ca.crt then ca.crt"
rm -f "$T/ca/client-cas.pem"
swarmctl_stop
swarmctl_start --stale-after 2 --worker-days 10 || not_ok "swarmctl restarts"
is "$(cat "$T/ca/client-cas.pem" 2>&1)" "$(cat "$T/ca/front-ca.crt" "$T/ca/ca.crt")" \
    "... written again by serve at start when it is missing"
done_testing
