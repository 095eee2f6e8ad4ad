#!/bin/bash
# api.sh — every route and status of the HTTP contract, through the
# shipped nginx configuration over TLS: health, enrol (bundle fields,
# fingerprint, key format, chain, SANs), list (shape, order, filter), get,
# 404s for unknown and malformed uuids, 409 on a taken name, decommission
# (rows, shard rows and bundle directory gone), 404 for unknown paths,
# 405 with Allow for wrong methods (HEAD listed wherever GET is), HEAD
# answered like GET without a body, upper-case uuids, JSON Content-Type
# and Cache-Control: no-store everywhere (above all on the bundle, which
# carries a private key), one log line per request, and no private key
# in any log.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

ok "nginx -t accepts the test configuration built from nginx/swarmctl.conf" \
    nginx -t -q -p "$T/nginx-main/" -c "$T/nginx-main/nginx.conf"

# within N LO HI — LO <= N <= HI
within()
{
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# no_store DESC — the last response said Cache-Control: no-store.
no_store()
{
	is "$(header Cache-Control)" no-store "$1"
}

# head_req PATH — HEAD PATH as the operator: STATUS and $T/headers.
head_req()
{
	auth_args
	STATUS=$(curl -sS --http1.1 --cacert "$CACERT" --max-time 30 "${AUTH[@]}" \
	    --head -D "$T/headers" -o /dev/null -w '%{http_code}' "$BASE$1" \
	    2>"$T/curl.err") || true
}

# raw_head PATH — every byte of the answer to "HEAD PATH" (operator
# certificate, connection closed after it), with CRs removed.
raw_head()
{
	printf 'HEAD %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$1" |
	    timeout 20 openssl s_client -quiet -connect "127.0.0.1:$NGINX_PORT" \
	    -CAfile "$CACERT" -cert "$OPERATOR_CRT" -key "$OPERATOR_KEY" 2>/dev/null |
	    tr -d '\r'
}

# same_as_get DESC PATH — HEAD PATH answers what GET PATH does: status,
# Content-Type, Content-Length (when GET has one), Cache-Control; and
# not one byte of body.
same_as_get()
{
	local desc=$1 path=$2 want
	api GET "$path"
	want="$STATUS $(header Content-Type) $(header Content-Length) $(header Cache-Control)"
	head_req "$path"
	is "$STATUS $(header Content-Type) $(header Content-Length) $(header Cache-Control)" \
	    "$want" "$desc: HEAD has GET's status and headers ($want)"
	is "$(raw_head "$path" | sed '1,/^$/d' | wc -c)" 0 "$desc: ... and no body"
}

UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
HEALTH='{"role":"swarm-controller","status":"ok"}'

# ---- health
for p in /health /swarm/health; do
	api GET "$p"
	is "$STATUS" 200 "GET $p is 200"
	is "$(json -cS .)" "$HEALTH" "GET $p body is {\"status\":\"ok\",\"role\":\"swarm-controller\"}"
	is_json_ct "GET $p has Content-Type application/json"
done

# ---- empty list
api GET /swarm/hosts
is "$STATUS" 200 "GET /swarm/hosts is 200 on an empty database"
is "$(json -c .)" "[]" "... and the body is []"
is_json_ct "... with Content-Type application/json"

# ---- enrol
req='{"name":"worker-1","address":"192.0.2.10","agent_port":9000,
      "sans":["w1.example.test","198.51.100.7"],"notes":"rack 4"}'
enroll "$req"
is "$STATUS" 201 "POST /swarm/enroll is 201" || diag "$BODY"
is_json_ct "... with Content-Type application/json"
no_store "... and Cache-Control: no-store (the bundle holds a private key)"
cp "$T/body" "$T/bundle1.json"
is "$(json -c '[.name, .address, .agent_port]')" '["worker-1","192.0.2.10",9000]' \
    "... echoing name, address and agent_port"
is "$(json -c '[.host_uuid, .name, .address, .fingerprint, .ca_cert_pem, .worker_cert_pem, .worker_key_pem] | map(type) | unique')" \
    '["string"]' "... all of host_uuid, name, address, fingerprint and the PEMs are strings"
is "$(json '.agent_port | type')" number "... agent_port is a JSON number"
uuid1=$(json .host_uuid)
like "$uuid1" "$UUID_RE" "... host_uuid is a lowercase canonical uuid"
fp1=$(json .fingerprint)
like "$fp1" '^[0-9a-f]{64}$' "... fingerprint is 64 lowercase hex digits"

json -j .worker_cert_pem >"$T/w1.crt"
json -j .worker_key_pem >"$T/w1.key"
json -j .ca_cert_pem >"$T/w1-ca.crt"
is "$(cert_fingerprint "$T/w1.crt")" "$fp1" "fingerprint is the SHA-256 of the certificate's DER"
is "$(head -n 1 "$T/w1.key")" "-----BEGIN PRIVATE KEY-----" "worker key is unencrypted PKCS#8 PEM"
is "$(openssl pkey -in "$T/w1.key" -pubout 2>&1)" \
    "$(openssl x509 -in "$T/w1.crt" -noout -pubkey 2>&1)" "worker key matches the certificate"
ok "worker certificate verifies against ca_cert_pem" \
    openssl verify -CAfile "$T/w1-ca.crt" "$T/w1.crt"
ok "ca_cert_pem is exactly CA_DIR/ca.crt" cmp -s "$T/w1-ca.crt" "$T/ca/ca.crt"
san=$(openssl x509 -in "$T/w1.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
for want in DNS:w1.example.test IPAddress:198.51.100.7 IPAddress:192.0.2.10 DNS:worker-1; do
	like ",$san," ",$want," "certificate SAN contains $want"
done
is "$(tr ',' '\n' <<<"$san" | wc -l)" 4 "certificate SAN has exactly the four names"

# An address repeated in sans appears once in the certificate.
enroll '{"name":"dup-san","address":"192.0.2.11","sans":["192.0.2.11","192.0.2.11","dup-san"]}'
is "$STATUS" 201 "enrol with sans repeating the address and name is 201" || diag "$BODY"
json -j .worker_cert_pem >"$T/dup.crt"
is "$(openssl x509 -in "$T/dup.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ' | tr ',' '\n' | LC_ALL=C sort | paste -sd,)" \
    "DNS:dup-san,IPAddress:192.0.2.11" "... and the SAN holds each name once"
uuid_dup=$(json .host_uuid)

# ---- list and get
api GET /swarm/hosts
is "$STATUS" 200 "GET /swarm/hosts is 200 after enrolling"
is "$(json 'length')" 2 "... and lists both hosts"
jq -c '.[] | select(.name == "worker-1")' "$T/body" >"$T/view1.json"
view()
{
	jq -r "$1" "$T/view1.json"
}
for f in uuid name address agent_port status last_heartbeat client_cert_fingerprint enrolled_at notes; do
	is "$(view "has(\"$f\")")" true "SwarmHostView has field $f"
done
is "$(view .uuid)" "$uuid1" "view.uuid is the enrolment's host_uuid"
is "$(jq -c '[.name, .address, .agent_port, .status, .last_heartbeat, .notes]' "$T/view1.json")" \
    '["worker-1","192.0.2.10",9000,"enrolled",null,"rack 4"]' \
    "view has name, address, agent_port (number), status enrolled, last_heartbeat null, notes"
is "$(view .client_cert_fingerprint)" "$fp1" "view.client_cert_fingerprint is the bundle's fingerprint"
like "$(view .enrolled_at)" "$TIME_RE" "view.enrolled_at is RFC 3339 UTC with Z"
now=$(date -u +%s)
at=$(date -u -d "$(view .enrolled_at)" +%s 2>/dev/null || echo 0)
ok "view.enrolled_at is within a minute of now" within $((now - at)) -60 60

# Host rows are read in PostgreSQL's binary format and the times
# formatted by swarmctl: they must read exactly as to_char() wrote them
# before.  last_heartbeat is written by the workers' side of the swarm,
# not by this API, so the test sets it in the table.
for v in '2000-02-29 00:00:00.000001+00' '1999-12-31 23:59:59.999999+00' \
    '1970-01-01 00:00:00+00' '2026-04-18 23:18:33.5+02' \
    '0044-03-15 12:00:00 BC' '12345-06-07 08:09:10+00' 'infinity'; do
	sql "UPDATE swarm_hosts SET last_heartbeat = '$v' WHERE name = 'worker-1'"
	want=$(sql "SELECT coalesce(to_char(last_heartbeat AT TIME ZONE 'UTC',
	    'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'null')
	    FROM swarm_hosts WHERE name = 'worker-1'")
	api GET "/swarm/hosts/$uuid1"
	is "$(json '.last_heartbeat // "null"')" "$want" \
	    "GET: last_heartbeat $v reads as to_char gives it ($want)"
	api GET /swarm/hosts
	is "$(json '.[] | select(.name == "worker-1") | .last_heartbeat // "null"')" \
	    "$want" "list: last_heartbeat $v reads the same"
done
sql "UPDATE swarm_hosts SET last_heartbeat = NULL WHERE name = 'worker-1'"
want=$(sql "SELECT to_char(enrolled_at AT TIME ZONE 'UTC',
    'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM swarm_hosts WHERE name = 'worker-1'")
is "$(view .enrolled_at)" "$want" "view.enrolled_at reads as to_char gives it"

for n in b-node a-node c-node; do
	enroll "{\"name\":\"$n\",\"address\":\"$n.example.test\"}"
	is "$STATUS" 201 "enrol $n" || diag "$BODY"
done
api GET /swarm/hosts
is "$(json -c 'map(.name)')" '["a-node","b-node","c-node","dup-san","worker-1"]' "the list is ordered by name"
api GET '/swarm/hosts?host_status=enrolled'
is "$STATUS" 200 "?host_status=enrolled is 200"
is "$(json -c 'map(.name)')" '["a-node","b-node","c-node","dup-san","worker-1"]' "... and lists every enrolled host"
api GET '/swarm/hosts?host_status=decommissioned'
is "$STATUS" 200 "?host_status=decommissioned is 200"
is "$(json -c .)" "[]" "... and lists nothing"
api GET '/swarm/hosts?unrelated=1'
is "$(json 'length')" 5 "an unknown query parameter is ignored"

# Pages: ?limit=N, then &after=<last name of the previous page>.
api GET '/swarm/hosts?limit=2'
is "$(json -c 'map(.name)')" '["a-node","b-node"]' "?limit=2 gives the first two hosts"
api GET '/swarm/hosts?limit=2&after=b-node'
is "$(json -c 'map(.name)')" '["c-node","dup-san"]' "&after=b-node gives the next two"
api GET '/swarm/hosts?limit=2&after=dup-san'
is "$(json -c 'map(.name)')" '["worker-1"]' "the last page is short"
api GET '/swarm/hosts?limit=2&after=worker-1'
is "$(json -c .)" "[]" "after the last host: an empty page"
api GET '/swarm/hosts?limit=3&after=a-node&host_status=enrolled'
is "$(json -c 'map(.name)')" '["b-node","c-node","dup-san"]' "pages combine with host_status"
api GET '/swarm/hosts?limit=0'
is "$STATUS" 422 "?limit=0 is 422"
api GET '/swarm/hosts?after=a-node'
is "$STATUS" 422 "?after without limit is 422"

api GET "/swarm/hosts/$uuid1"
is "$STATUS" 200 "GET /swarm/hosts/{uuid} is 200"
is_json_ct "... with Content-Type application/json"
is "$(json -cS .)" "$(jq -cS . "$T/view1.json")" "... and returns the same view as the list"

no_store "... with Cache-Control: no-store"

# A uuid in capitals names the same host (PostgreSQL reads uuids in
# any case); the answer is in lower case.
UPPER1=$(printf '%s' "$uuid1" | tr 'a-f' 'A-F')
api GET "/swarm/hosts/$UPPER1"
is "$STATUS" 200 "GET /swarm/hosts/{UUID in capitals} is 200"
is "$(json -r .uuid)" "$uuid1" "... and answers with the uuid in lower case"

# HEAD wherever GET (RFC 9110 9.3.2).
same_as_get "GET /health" /health
same_as_get "GET /swarm/hosts" /swarm/hosts
same_as_get "GET /swarm/hosts/{uuid}" "/swarm/hosts/$uuid1"
same_as_get "GET /swarm/hosts/{unknown uuid}" "/swarm/hosts/$(uuidgen_lower)"
same_as_get "GET /swarm/ca.pem" /swarm/ca.pem
same_as_get "GET /swarm/audit" "/swarm/audit?limit=1"
same_as_get "GET /nope" /nope

api GET "/swarm/hosts/$(uuidgen_lower)"
is_detail 404 "host not found" "GET of an unknown uuid is 404 host not found"
no_store "... with Cache-Control: no-store"
api GET /swarm/hosts/not-a-uuid
is_detail 404 "host not found" "GET of a malformed uuid is 404 host not found"
api GET "/swarm/hosts/${uuid1}0"
is_detail 404 "host not found" "GET of a uuid with a trailing digit is 404 host not found"

# ---- duplicate name
enroll '{"name":"worker-1","address":"192.0.2.99"}'
is_detail 409 "Worker 'worker-1' is already enrolled" "enrolling a taken name is 409"
api GET /swarm/hosts
is "$(json 'map(select(.name == "worker-1")) | .[0].address')" 192.0.2.10 "... and leaves the first host untouched"

# ---- decommission
ok "worker-1 has a bundle directory" [ -d "$T/ca/workers/worker-1" ]
sql "INSERT INTO decky_shards (decky_name, host_uuid, services, state, compose_hash, updated_at)
     VALUES ('decky-1', '$uuid1', '[]', 'running', 'abc', now()),
            ('decky-2', '$uuid1', '[\"ssh\"]', 'pending', 'def', now()),
            ('decky-3', '$uuid_dup', '[]', 'pending', 'ghi', now())" >/dev/null 2>"$T/psql.err" ||
    diag "shard insert failed: $(cat "$T/psql.err")"
is "$(sql "SELECT count(*) FROM decky_shards WHERE host_uuid = '$uuid1'")" 2 "two shard rows for worker-1 exist"
api DELETE "/swarm/hosts/$UPPER1"
is "$STATUS" 204 "DELETE /swarm/hosts/{UUID in capitals} is 204"
is "$(stat -c %s "$T/body")" 0 "... with an empty body"
no_store "... and Cache-Control: no-store"
api GET "/swarm/hosts/$uuid1"
is_detail 404 "host not found" "the decommissioned host is gone (404)"
api GET /swarm/hosts
is "$(json -c 'map(.name)')" '["a-node","b-node","c-node","dup-san"]' "... and no longer listed"
ok "... its bundle directory is gone" [ ! -e "$T/ca/workers/worker-1" ]
is "$(sql "SELECT count(*) FROM decky_shards WHERE host_uuid = '$uuid1'")" 0 "... its shard rows are gone"
is "$(sql "SELECT count(*) FROM decky_shards WHERE host_uuid = '$uuid_dup'")" 1 "... other hosts' shard rows remain"
ok "... other hosts' bundles remain" [ -f "$T/ca/workers/dup-san/worker.crt" ]
api DELETE "/swarm/hosts/$uuid1"
is_detail 404 "host not found" "DELETE of an already removed host is 404"
api DELETE "/swarm/hosts/$(uuidgen_lower)"
is_detail 404 "host not found" "DELETE of an unknown uuid is 404"
UNKNOWN=$(uuidgen_lower)
api DELETE "/swarm/hosts/$(printf '%s' "$UNKNOWN" | tr 'a-f' 'A-F')"
is_detail 404 "host not found" "DELETE of an unknown uuid in capitals is 404"
api GET /swarm/audit?limit=1
is "$(json -c '.[0] | [.action, .target, .outcome]')" "[\"decommission\",\"$UNKNOWN\",\"not-found\"]" \
    "... audited with the uuid in lower case"
api DELETE /swarm/hosts/not-a-uuid
is_detail 404 "host not found" "DELETE of a malformed uuid is 404"

# The name is free again.
enroll '{"name":"worker-1","address":"192.0.2.10"}'
is "$STATUS" 201 "a decommissioned name can be enrolled again" || diag "$BODY"
isnt "$(json .host_uuid)" "$uuid1" "... getting a new uuid"

# ---- unknown paths
for p in /nope /swarm /swarm/enrol /swarm/hosts/x/y "/swarm/hosts/$uuid_dup/extra" /swarm/health/x; do
	api GET "$p"
	is_detail 404 "Not Found" "GET $p is 404 Not Found"
done
no_store "... with Cache-Control: no-store"
api POST /nope -H 'Content-Type: application/json' --data-binary '{}'
is_detail 404 "Not Found" "POST to an unknown path is 404 Not Found"

# ---- wrong methods: 405 with the allowed methods in Allow.
# allow_set — the Allow header as a sorted comma list without spaces.
allow_set()
{
	header Allow | tr -d ' ' | tr ',' '\n' | LC_ALL=C sort | paste -sd,
}
check_405()
{
	local method=$1 path=$2 want=$3
	shift 3
	api "$method" "$path" "$@"
	is_detail 405 "Method Not Allowed" "$method $path is 405 Method Not Allowed"
	is "$(allow_set)" "$want" "... with Allow: $want"
}
check_405 PUT /swarm/enroll POST -H 'Content-Type: application/json' --data-binary '{}'
no_store "... with Cache-Control: no-store"
check_405 GET /swarm/enroll POST
check_405 POST /swarm/hosts GET,HEAD -H 'Content-Type: application/json' --data-binary '{}'
check_405 DELETE /swarm/hosts GET,HEAD
check_405 PATCH "/swarm/hosts/$uuid_dup" DELETE,GET,HEAD -H 'Content-Type: application/json' --data-binary '{}'
check_405 POST "/swarm/hosts/$uuid_dup" DELETE,GET,HEAD -H 'Content-Type: application/json' --data-binary '{}'
check_405 POST /health GET,HEAD -H 'Content-Type: application/json' --data-binary '{}'
check_405 DELETE /swarm/health GET,HEAD
check_405 PUT /swarm/audit GET,HEAD
head_req /swarm/enroll
is "$STATUS $(allow_set)" "405 POST" "HEAD /swarm/enroll (POST only) is 405 with Allow: POST"
api GET "/swarm/hosts/$uuid_dup"
is "$STATUS" 200 "a 405 changed nothing"

# ---- the request log: one line per request with method, path, status.
logged()
{
	grep -cE '(GET|POST|PUT|PATCH|DELETE) /[^ ]* [0-9]{3}( |$)' "$T/swarmctl.log"
}
before=$(logged)
api GET /swarm/hosts
api GET /nope
api GET "/swarm/hosts/$(uuidgen_lower)"
api PUT /swarm/enroll -H 'Content-Type: application/json' --data-binary '{}'
enroll '{"name":"log-check","address":"192.0.2.50"}'
logged_at_least()
{
	[ "$(logged)" -ge "$1" ]
}
wait_for 5 logged_at_least $((before + 5))
is "$(logged)" $((before + 5)) "five requests add exactly five request log lines"
for line in 'GET /swarm/hosts 200' 'GET /nope 404' 'GET /swarm/hosts/[0-9a-f-]+ 404' \
    'PUT /swarm/enroll 405' 'POST /swarm/enroll 201'; do
	like "$(cat "$T/swarmctl.log")" "$line" "the log has a line like '$line'"
done
is "$(cat "$T/swarmctl.log" "$T"/nginx-main/*.log | grep -c 'PRIVATE KEY')" 0 \
    "no 'PRIVATE KEY' in any log"
ca_key_line=$(sed -n 5p "$T/ca/ca.key")
is "$(cat "$T/swarmctl.log" "$T"/nginx-main/*.log | grep -cF -- "$ca_key_line")" 0 \
    "no line of the CA key in any log"

# ---- chunked request bodies reach the responder whole (nginx buffers
# them and passes CONTENT_LENGTH).
api POST /swarm/enroll -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary '{"name":"chunked","address":"192.0.2.51"}'
is "$STATUS" 201 "a chunked enrolment request is accepted" || diag "$BODY"

ok "swarmctl is still running" pid_alive "$SWARMCTL_PID"

done_testing
