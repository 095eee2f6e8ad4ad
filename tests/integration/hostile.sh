#!/bin/bash
# hostile.sh — hostile input from an authenticated operator, through the
# shipped nginx configuration over HTTPS: an oversize body and header,
# invalid UTF-8, NUL (raw, and as \u0000) and escapes of unpaired UTF-16
# surrogates in every string field (name, address, a sans item, notes), 1000-deep nested JSON, agent_port
# out of range (1e400, -1, 99999999999999999999999, 65536), duplicate
# JSON keys, names that try to leave the bundle directory, uuid path
# segments with "..", "%2e%2e" or "%2F" for GET and DELETE, a body
# shorter or longer than its Content-Length, and a request line that is
# not HTTP (raw bytes with openssl s_client).  Each gets a 4xx (JSON
# where the path is answered by nginx's error pages or swarmctl);
# nothing is written (host rows, the CA directory with the bundles, the
# certificates table, successful audit entries) and no host is removed;
# the service keeps serving (/health 200, swarmctl and nginx still
# running, a normal enrollment works).
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd psql timeout iconv

stack_up_or_die

# ---- "nothing written" bookkeeping
snapshot()
{
	printf 'rows=%s\n' "$(host_count)"
	printf 'certs=%s\n' "$(sql 'SELECT count(*) FROM certificates')"
	printf 'successes=%s\n' "$(sql "SELECT count(*) FROM audit_log WHERE outcome = 'success'")"
	printf 'hosts=%s\n' "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM swarm_hosts")"
	tree_snapshot "$T/ca"
	# What a name climbing out of CA_DIR/workers twice could create.
	find "$T" -mindepth 1 -maxdepth 1 ! -name 'snap.*' -printf 'top %f\n' | LC_ALL=C sort
}

# A host that must survive everything below.
enroll '{"name":"keeper","address":"192.0.2.50","sans":["keeper.example"]}'
is "$STATUS" 201 "enroll keeper" || diag "$BODY"
KEEPER=$(json -r .host_uuid)
mkdir -p "$T/req" "$T/raw"
rebase

# post_file FILE — POST FILE's bytes as the enroll body.
post_file()
{
	api POST /swarm/enroll -H 'Content-Type: application/json' \
	    --data-binary "@$1"
}

# refused DESC STATUS_ERE FILE — POST FILE, expect a status matching
# STATUS_ERE, nothing written.
refused()
{
	local desc=$1 want=$2 file=$3
	post_file "$file"
	like "$STATUS" "^($want)\$" "$desc: $STATUS" || diag "$BODY"
	unchanged "$desc"
}

# ---- oversize body and header
printf '{"name":"big","address":"192.0.2.51","notes":"%s"}' "$(rep x 70000)" >"$T/req/big.json"
refused "a 70 KB body" 413 "$T/req/big.json"
is_detail 413 "request body too large (limit 65536 bytes)" "... with nginx's JSON 413"
api POST /swarm/enroll -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$T/req/big.json"
is "$STATUS" 413 "a 70 KB chunked body (no Content-Length): 413"
unchanged "a 70 KB chunked body"
api POST /swarm/enroll -H 'Content-Type: application/json' -H "X-Padding: $(rep h 65536)" \
    --data-binary '{"name":"bighdr","address":"192.0.2.52"}'
like "$STATUS" '^4[0-9][0-9]$' "a 64 KiB header line: 4xx ($STATUS)"
unchanged "a 64 KiB header line"

# ---- invalid UTF-8 and NUL in every string field
# field_body FIELD VALUE — FB becomes an otherwise valid body with FIELD's
# string (for sans: its only item) replaced by VALUE (printf escapes
# still to be expanded by the caller).  Each body has a name of its own,
# so that a wrongly accepted one cannot turn the next into a mere 409.
SEQ=0
field_body()
{
	local f=$1 v=$2 name addr='"192.0.2.53"' sans='["s.example"]' notes='"n"'
	SEQ=$((SEQ + 1))
	name="\"hostile-$SEQ\""
	case $f in
	name) name="\"$v\"" ;;
	address) addr="\"$v\"" ;;
	sans) sans="[\"$v\"]" ;;
	notes) notes="\"$v\"" ;;
	esac
	FB=$(printf '{"name":%s,"address":%s,"sans":%s,"notes":%s}' "$name" "$addr" "$sans" "$notes")
}
field_body none x
printf '%s' "$FB" >"$T/req/control.json"
ok "control: the base body is valid JSON" jq -e . "$T/req/control.json"
for f in name address sans notes; do
	# \xff never occurs in UTF-8; \xc0\xaf is an overlong "/";
	# \xed\xa0\x80 is an encoded UTF-16 surrogate.
	for bad in 'ab\xffcd' 'a\xc0\xafb' 'a\xed\xa0\x80b'; do
		field_body "$f" "$bad"
		# shellcheck disable=SC2059 # the escapes are the point
		printf -- "$FB" >"$T/req/utf8.json"
		fails "the body with $bad in $f is not valid UTF-8 (iconv)" iconv -f UTF-8 -t UTF-8 "$T/req/utf8.json"
		refused "invalid UTF-8 ($bad) in $f" '400|422' "$T/req/utf8.json"
	done
	field_body "$f" 'a\u0000b'
	printf '%s' "$FB" >"$T/req/nul-escape.json"
	ok "the \\u0000 body for $f is JSON with a NUL in $f (jq)" \
	    jq -e '[.name, .address, .sans[0], .notes] | map(explode | any(. == 0)) | any' "$T/req/nul-escape.json"
	refused "\\u0000 escape in $f" '400|422' "$T/req/nul-escape.json"
	field_body "$f" 'a\0b'
	# shellcheck disable=SC2059
	printf -- "$FB" >"$T/req/nul.json"
	ok "the raw-NUL body for $f holds a NUL byte" grep -qaP '\x00' "$T/req/nul.json"
	refused "raw NUL byte in $f" 400 "$T/req/nul.json"
	# Escapes of unpaired UTF-16 surrogates (RFC 8259 8.2) are no
	# characters: json-c would quietly store U+FFFD for them.
	for bad in 'a\ud800b' '\udc00' '\ud800\u0041' '\uDBFF\uDBFF\uDFFF'; do
		field_body "$f" "$bad"
		printf '%s' "$FB" >"$T/req/surrogate.json"
		refused "unpaired surrogate escape $bad in $f" 422 "$T/req/surrogate.json"
		is "$(json -c '[.detail[] | [.loc[1], .type]]')" "[[\"$f\",\"string_unicode\"]]" \
		    "... the 422 names $f (string_unicode)"
	done
done
printf '{"name":"nul-after","address":"192.0.2.54"}\0' >"$T/req/nul-tail.json"
refused "raw NUL byte after the JSON value" 400 "$T/req/nul-tail.json"

# ---- deeply nested JSON
printf '%s%s' "$(rep '[' 1000)" "$(rep ']' 1000)" >"$T/req/deep.json"
refused "1000-deep nested arrays" 400 "$T/req/deep.json"
printf '{"name":"deep","address":"192.0.2.55","notes":%s1%s}' \
    "$(rep '{"a":' 1000)" "$(rep '}' 1000)" >"$T/req/deep-field.json"
refused "1000-deep nested objects inside a field" 400 "$T/req/deep-field.json"

# ---- numbers out of range
for port in 1e400 -1 99999999999999999999999 65536; do
	printf '{"name":"port-bad","address":"192.0.2.56","agent_port":%s}' "$port" >"$T/req/port.json"
	refused "agent_port $port" 422 "$T/req/port.json"
	is "$(json -c '[.detail[].loc]')" '[["body","agent_port"]]' "... the 422 names agent_port"
done

# ---- duplicate keys
printf '{"name":"dup-a","name":"dup-b","address":"192.0.2.57"}' >"$T/req/dup.json"
refused "duplicate key name" 422 "$T/req/dup.json"
printf '{"name":"dup-c","address":"192.0.2.58","agent_port":1,"agent_port":2}' >"$T/req/dup2.json"
refused "duplicate key agent_port" 422 "$T/req/dup2.json"

# ---- names that try to leave CA_DIR/workers
for n in '..' '../x' 'a/b' '%2e%2e' '..\u002fx' '../../escaped' '.' '/etc' 'x\u002f..\u002f..\u002fy'; do
	printf '{"name":"%s","address":"192.0.2.59"}' "$n" >"$T/req/name.json"
	refused "name $n" 422 "$T/req/name.json"
done

# ---- "..", "%2e%2e" and "%2F" in the uuid path segment
for p in /swarm/hosts/.. /swarm/hosts/%2e%2e /swarm/hosts/%2E%2E /swarm/hosts/a%2Fb \
    /swarm/hosts/..%2F..%2Fetc /swarm/hosts/..%2F..%2F..%2F..%2Fetc \
    "/swarm/hosts/$KEEPER%2F.." "/swarm/hosts/..%2F$KEEPER" \
    /swarm/hosts/%2e%2e%2fworkers /swarm/hosts/..%5c..%5cetc; do
	for m in GET DELETE; do
		api "$m" "$p" --path-as-is
		like "$STATUS" '^(400|404)$' "$m $p: 404 (or nginx's 400) ($STATUS)" || diag "$BODY"
		is_json_ct "... with a JSON body"
	done
	unchanged "GET and DELETE $p"
done
ok "keeper's bundle is still there" test -s "$T/ca/workers/keeper/worker.crt"

# ---- Content-Length disagreeing with the body, raw over TLS
# raw_request FILE HOLD — send FILE's bytes as they are over TLS with the
# operator certificate, keep the connection HOLD seconds for an answer,
# then close.  The response (if any) lands in $T/raw/out.
raw_request()
{
	{ cat "$1"; sleep "$2"; } |
	    timeout 30 openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$NGINX_PORT" \
	    -CAfile "$CACERT" -cert "$OPERATOR_CRT" -key "$OPERATOR_KEY" \
	    >"$T/raw/out" 2>"$T/raw/err"
}
# request_head LENGTH — an enroll request head declaring LENGTH bytes.
request_head()
{
	printf 'POST /swarm/enroll HTTP/1.1\r\nHost: localhost\r\n'
	printf 'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' "$1"
}

# Control: the raw path itself works when the length is right.
body='{"name":"raw-ok","address":"192.0.2.60"}'
{ request_head ${#body}; printf '%s' "$body"; } >"$T/raw/ok.req"
raw_request "$T/raw/ok.req" 3
like "$(head -n 1 "$T/raw/out")" '^HTTP/1\.1 201' "control: a raw request with the right Content-Length is 201"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'raw-ok'")" 1 "... and raw-ok is enrolled"
rebase

# Shorter: 100 bytes promised, 43 sent, then the client closes.
body='{"name":"short-body","address":"192.0.2.61"}'
{ request_head 100; printf '%s' "$body"; } >"$T/raw/short.req"
raw_request "$T/raw/short.req" 1
unlike "$(cat "$T/raw/out")" 'HTTP/1\.[01] 2' "body shorter than Content-Length: no 2xx"
unchanged "body shorter than Content-Length"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'short-body'")" 0 "... short-body is not enrolled"

# Longer: Content-Length covers one complete body; the bytes after it
# would name another host if anything read past the declared length.
body='{"name":"cl-declared","address":"192.0.2.62"}'
{ request_head ${#body}; printf '%s' "$body"; printf '{"name":"cl-extra","address":"192.0.2.63"}'; } \
    >"$T/raw/long.req"
raw_request "$T/raw/long.req" 3
# statuses — the status codes of every response in $T/raw/out, one a
# line (a response body need not end in a newline: search everywhere).
statuses()
{
	grep -ao 'HTTP/1\.1 [0-9][0-9][0-9]' "$T/raw/out" | cut -d' ' -f2
}
first=$(statuses | head -n 1)
like "$first" '^(201|4[0-9][0-9])$' \
    "body longer than Content-Length: processed on the declared bytes or refused ($first)"
if [ "$first" = 201 ]; then
	is "$(sql "SELECT string_agg(name, ',') FROM swarm_hosts WHERE name LIKE 'cl-%'")" "cl-declared" \
	    "... the host enrolled is the one within Content-Length"
fi
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'cl-extra'")" 0 \
    "... no host named by the bytes after Content-Length"
ok "... no bundle for cl-extra" test ! -e "$T/ca/workers/cl-extra"
# nginx reads the extra bytes as the next (pipelined) request line.
like "$(statuses | wc -l)" '^[12]$' "... the extra bytes are at most one more request"
unlike "$(statuses | sed -n '2,$p' | paste -sd' ')" '(^| )2' "... which is not a success"

# A request line that is not HTTP at all (what the extra bytes above
# became): a 4xx, like every other malformed request.
printf 'GARBAGE\r\n\r\n' >"$T/raw/garbage.req"
raw_request "$T/raw/garbage.req" 2
like "$(statuses | paste -sd' ')" '^4[0-9][0-9]$' "a malformed request line: one 4xx response"
# Undo the accepted one so that the final checks compare cleanly.
uuid=$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'cl-declared'")
if [ -n "$uuid" ]; then
	api DELETE "/swarm/hosts/$uuid"
fi

# ---- still serving
api GET /health
is "$STATUS" 200 "after all that: GET /health is 200"
ok "swarmctl is still running" pid_alive "$SWARMCTL_PID"
ok "nginx is still running" pid_alive "$NGINX_PID"
api GET "/swarm/hosts/$KEEPER"
is "$STATUS" 200 "keeper is still enrolled"
if [ "$UNCHANGED_FAILURES" -eq 0 ]; then
	is "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM swarm_hosts")" "keeper,raw-ok" \
	    "the only hosts are keeper and the control raw-ok"
fi
enroll '{"name":"after-all","address":"192.0.2.64"}'
is "$STATUS" 201 "a normal enrollment still works" || diag "$BODY"

done_testing
