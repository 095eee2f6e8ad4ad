#!/bin/bash
# tokens.sh — one-time bootstrap tokens, through nginx and PostgreSQL.
# An operator creates a token for a host (POST /swarm/tokens): 201, the
# token shown once, only its SHA-256 stored, the list (GET) without it.
# A worker with no client certificate redeems it with a CSR (POST
# /swarm/enroll/token, Authorization: Bearer): 201, enrolled exactly as
# an operator enrollment of the token's values would be, certificate for
# the CSR's key.  Replay, expiry, revocation, unknown, malformed and
# missing tokens all get the same 401 with WWW-Authenticate: Bearer.  Of
# 10 parallel redemptions of one token exactly one gets 201.  A failed
# redemption (bad CSR: 422) leaves the token usable.  Anonymous clients
# cannot create, list or revoke tokens.  Every step is audited, and the
# secret is never.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

require_cmd openssl jq curl
stack_up_or_die

W=$T/tokens
mkdir -p "$W"
WORKERS=$T/ca/workers
REFUSED='{"detail":"invalid or expired token"}'

# make_csr NAME — $W/NAME.key and $W/NAME.csr (ECDSA P-256).
make_csr()
{
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$W/$1.key" -subj "/CN=whatever" -out "$W/$1.csr" \
	    2>"$W/$1.err"
}

# create JSON — POST /swarm/tokens as the test operator.
create()
{
	api POST /swarm/tokens -H 'Content-Type: application/json' \
	    --data-binary "$1"
}

# redeem TOKEN CSR-FILE — POST /swarm/enroll/token without a client
# certificate, the token as a bearer credential.
redeem()
{
	API_ANON=1 api POST /swarm/enroll/token \
	    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
	    --data-binary "$(jq -cn --arg c "$(cat "$2")" '{csr_pem: $c}')"
}

# is_refused DESC — the last answer was the one 401 for every bad token.
is_refused()
{
	is "$STATUS" 401 "$1: 401"
	is "$BODY" "$REFUSED" "$1: the same body as every refusal"
	like "$(header WWW-Authenticate)" '^Bearer' "$1: WWW-Authenticate: Bearer"
}

audits()
{
	sql "SELECT count(*) FROM audit_log WHERE action = '$1' AND outcome = '$2'"
}

# ---- create
create '{"name":"tok-1","address":"192.0.2.21","sans":["tok-1.swarm.test"]}'
is "$STATUS" 201 "create: 201" || diag "$BODY"
is "$(json -c 'keys')" '["address","controller_ca_fingerprint","expires_at","id","name","token"]' "create: id, token, name, address, expires_at, controller_ca_fingerprint"
like "$(header Cache-Control)" 'no-store' "create: Cache-Control: no-store"
TOK1=$(json .token)
ID1=$(json .id)
like "$TOK1" '^swt_[A-Za-z0-9_-]{43}$' "create: the token is swt_ and 43 base64url characters"
ttl=$(sql "SELECT round(extract(epoch FROM expires_at - created_at)) FROM bootstrap_tokens WHERE id = '$ID1'")
is "$ttl" 900 "create: default ttl 15 minutes"
is "$(sql "SELECT token_hash FROM bootstrap_tokens WHERE id = '$ID1'")" \
    "$(printf '%s' "$TOK1" | sha256sum | cut -d' ' -f1)" "create: the database holds the token's SHA-256"
is "$(sql "SELECT count(*) FROM bootstrap_tokens t WHERE t::text LIKE '%${TOK1#swt_}%'")" 0 \
    "create: ... and nowhere the token itself"
is "$(sql "SELECT count(*) FROM audit_log WHERE position('${TOK1#swt_}' in coalesce(detail,'') || coalesce(target,'')) > 0")" 0 \
    "create: the audit trail never holds the token"
is "$(sql "SELECT target || ' ' || detail FROM audit_log WHERE action = 'token-create' AND outcome = 'success'")" \
    "tok-1 token $ID1" "create: audited with the token's id"

api GET /swarm/tokens
is "$STATUS" 200 "list: 200"
is "$(json -c "[.[] | select(.id == \"$ID1\") | .state, .name, .address, .sans]")" \
    '["active","tok-1","192.0.2.21",["tok-1.swarm.test"]]' "list: the token, active, with its host"
unlike "$BODY" "${TOK1#swt_}" "list: never the token itself"
unlike "$BODY" "token_hash" "list: nor its hash"

# ---- validation and authorisation
create '{"name":"tok-x","address":"192.0.2.22","ttl_seconds":86401}'
is "$STATUS" 422 "ttl over 24 h: 422"
is "$(json -c '[.detail[].loc]')" '[["body","ttl_seconds"]]' "... at [body, ttl_seconds]"
create '{"name":"tok-x","address":"192.0.2.22","ttl_seconds":59}'
is "$STATUS" 422 "ttl under a minute: 422"
create '{"name":"bad name!","address":"192.0.2.22","ttl_seconds":"x"}'
is "$STATUS" 422 "bad name and ttl type: 422"
is "$(json -c '[.detail[].loc] | sort')" '[["body","name"],["body","ttl_seconds"]]' "... both listed, as enroll's rules say"
make_csr tok-x
create "$(jq -cn --arg c "$(cat "$W/tok-x.csr")" '{name:"tok-x",address:"192.0.2.22",csr_pem:$c}')"
is "$STATUS" 422 "a CSR at creation: 422 (the worker brings it)"
API_ANON=1 create '{"name":"tok-x","address":"192.0.2.22"}'
is "$STATUS" 403 "anonymous create: 403"
API_ANON=1 api GET /swarm/tokens
is "$STATUS" 403 "anonymous list: 403"
API_ANON=1 api DELETE "/swarm/tokens/$ID1"
is "$STATUS" 403 "anonymous revoke: 403"
is "$(sql "SELECT count(*) FROM bootstrap_tokens WHERE name = 'tok-x'")" 0 "no token made by any of those"

# ---- a failed redemption leaves the token usable
printf 'not a CSR' >"$W/garbage.csr"
redeem "$TOK1" "$W/garbage.csr"
is "$STATUS" 422 "redeem with a bad CSR: 422"
is "$(json -c '[.detail[].loc]')" '[["body","csr_pem"]]' "... at [body, csr_pem]"
API_ANON=1 api POST /swarm/enroll/token -H "Authorization: Bearer $TOK1" \
    -H 'Content-Type: application/json' --data-binary '{"name":"evil"}'
is "$STATUS" 422 "redeem naming another host, no CSR: 422"
is "$(sql "SELECT state FROM (SELECT used_at IS NULL AS state FROM bootstrap_tokens WHERE id = '$ID1') s")" t \
    "the token is still unused"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'tok-1'")" 0 "no host row"

# ---- redeem
make_csr tok-1
redeem "$TOK1" "$W/tok-1.csr"
is "$STATUS" 201 "redeem: 201" || diag "$BODY"
is "$(json -c 'keys')" \
    '["address","agent_port","ca_cert_pem","fingerprint","host_uuid","name","worker_cert_pem"]' \
    "redeem: an EnrolledBundle without worker_key_pem"
is "$(json -c '[.name, .address, .agent_port]')" '["tok-1","192.0.2.21",8765]' "redeem: the token's host"
json .worker_cert_pem >"$W/tok-1.crt"
HOST1=$(json .host_uuid)
is "$(openssl x509 -in "$W/tok-1.crt" -noout -pubkey)" "$(openssl pkey -in "$W/tok-1.key" -pubout)" \
    "redeem: the certificate is for the CSR's key"
is "$(openssl x509 -in "$W/tok-1.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" \
    "DNS:tok-1.swarm.test,IPAddress:192.0.2.21,DNS:tok-1" "redeem: SANs from the token"
verifies()
{
	openssl verify -CAfile "$WORKERS/$1/ca.crt" -purpose sslclient "$2" >/dev/null
}
ok "redeem: the certificate verifies against the worker CA" verifies tok-1 "$W/tok-1.crt"
is "$(ls "$WORKERS/tok-1" | paste -sd' ' -)" "ca.crt worker.crt" "redeem: bundle without worker.key"
api GET "/swarm/hosts/$HOST1"
is "$STATUS" 200 "redeem: the host is listed"
is "$(sql "SELECT used_by_host FROM bootstrap_tokens WHERE id = '$ID1'")" "$HOST1" "the token records the host"
is "$(sql "SELECT actor || ' ' || target || ' ' || detail FROM audit_log WHERE action = 'token-redeem' AND outcome = 'success'")" \
    "bootstrap-token $ID1 $ID1 enrolled tok-1 ($HOST1)" "redeem: audited with the token's id"
is "$(sql "SELECT actor FROM audit_log WHERE action = 'enroll' AND outcome = 'success' AND target = 'tok-1'")" \
    "bootstrap-token $ID1" "redeem: the enrollment audited as by the token"
is "$(audits token-redeem invalid)" 2 "the two failed redemptions audited as invalid"
api GET /swarm/tokens
is "$(json -c "[.[] | select(.id == \"$ID1\") | .state, .used_by_host]")" "[\"used\",\"$HOST1\"]" "list: used, by the host"

# ---- replay
make_csr replay
redeem "$TOK1" "$W/replay.csr"
is_refused "replay"
is "$(audits token-redeem refused)" 1 "replay: audited as refused"
is "$(sql "SELECT detail FROM audit_log WHERE action = 'token-redeem' AND outcome = 'refused'")" "token used" \
    "replay: the audit says why"

# ---- unknown, malformed, missing
redeem "swt_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | cut -c1-43)" "$W/replay.csr"
is_refused "unknown token"
redeem "swt_short" "$W/replay.csr"
is_refused "malformed token"
API_ANON=1 api POST /swarm/enroll/token -H 'Content-Type: application/json' \
    --data-binary "$(jq -cn --arg c "$(cat "$W/replay.csr")" '{csr_pem: $c}')"
is_refused "no Authorization header"
API_ANON=1 api POST /swarm/enroll/token -H "Authorization: Basic $(printf 'a:b' | base64)" \
    -H 'Content-Type: application/json' \
    --data-binary "$(jq -cn --arg c "$(cat "$W/replay.csr")" '{csr_pem: $c}')"
is_refused "Basic credentials"
is "$(sql "SELECT count(*) FROM audit_log WHERE action = 'token-redeem' AND actor = 'anonymous' AND outcome = 'refused'")" 1 \
    "guesses are counted in one anonymous row, not one each"

# ---- expiry
create '{"name":"tok-exp","address":"192.0.2.23","ttl_seconds":60}'
is "$STATUS" 201 "create with ttl 60: 201"
TOKE=$(json .token)
IDE=$(json .id)
sql "UPDATE bootstrap_tokens SET expires_at = now() - interval '1 second', created_at = now() - interval '2 minutes' WHERE id = '$IDE'"
make_csr tok-exp
redeem "$TOKE" "$W/tok-exp.csr"
is_refused "expired token"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'tok-exp'")" 0 "expired: no host"
is "$(sql "SELECT detail FROM audit_log WHERE action = 'token-redeem' AND target = '$IDE'")" "token expired" \
    "expired: audited as such"

# ---- revocation
create '{"name":"tok-rev","address":"192.0.2.24"}'
TOKR=$(json .token)
IDR=$(json .id)
api DELETE "/swarm/tokens/$IDR"
is "$STATUS" 204 "revoke: 204"
api DELETE "/swarm/tokens/$IDR"
is "$STATUS" 204 "revoke again: 204 (nothing changes)"
api DELETE "/swarm/tokens/00000000-0000-4000-8000-000000000000"
is "$STATUS" 404 "revoke an unknown token: 404"
api DELETE "/swarm/tokens/not-a-uuid"
is "$STATUS" 404 "revoke a malformed id: 404"
is "$(audits token-revoke success)" 2 "revocations audited"
make_csr tok-rev
redeem "$TOKR" "$W/tok-rev.csr"
is_refused "revoked token"
api GET /swarm/tokens
is "$(json -r "[.[] | select(.id == \"$IDR\") | .state] | .[0]")" revoked "list: revoked"
is "$(json -r "[.[] | select(.id == \"$IDE\") | .state] | .[0]")" expired "list: expired"

# ---- a race: 10 parallel redemptions of one token, one 201
create '{"name":"tok-race","address":"192.0.2.25"}'
TOKC=$(json .token)
IDC=$(json .id)
cfg=$W/race.curlrc
: >"$cfg"
for i in $(seq 1 10); do
	make_csr "race-$i"
	jq -cn --arg c "$(cat "$W/race-$i.csr")" '{csr_pem: $c}' >"$W/race-$i.json"
	[ "$i" -eq 1 ] || echo next >>"$cfg"
	cat >>"$cfg" <<-EOF
	url = "$BASE/swarm/enroll/token"
	cacert = "$CACERT"
	http1.1
	max-time = 120
	header = "Content-Type: application/json"
	header = "Authorization: Bearer $TOKC"
	header = "Expect:"
	data-binary = "@$W/race-$i.json"
	write-out = "%{http_code}\n"
	output = "$W/race-$i.body"
	EOF
done
curl -sS --parallel --parallel-immediate --parallel-max 10 -K "$cfg" \
    >"$W/race.codes" 2>"$W/race.err" || true
is "$(sort "$W/race.codes" | uniq -c | awk '{print $1 "x" $2}' | paste -sd' ' -)" "1x201 9x401" \
    "10 parallel redemptions: one 201, nine 401"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'tok-race'")" 1 "race: one host"
is "$(sql "SELECT count(*) FROM certificates WHERE subject = 'CN=tok-race,OU=swarm-worker,O=DECNET'")" 1 \
    "race: one certificate"
is "$(sql "SELECT count(*) FROM audit_log WHERE action = 'token-redeem' AND target = '$IDC' AND outcome = 'success'")" 1 \
    "race: one success audited"
is "$(sql "SELECT count(*) FROM audit_log WHERE action = 'token-redeem' AND target = '$IDC' AND outcome = 'refused'")" 9 \
    "race: nine refusals audited"
winner=$(grep -l worker_cert_pem "$W"/race-*.body | head -n 1)
i=${winner##*race-}
i=${i%.body}
is "$(jq -r .worker_cert_pem "$winner" | openssl x509 -noout -pubkey)" \
    "$(openssl pkey -in "$W/race-$i.key" -pubout)" "race: the certificate is the winner's key's"

done_testing
