#!/bin/bash
# nginx_errors.sh — every answer of the shipped nginx server block is the
# API's JSON: the errors nginx detects itself, before or instead of the
# responder, are {"detail": "..."} with the right status, Content-Type
# application/json and Cache-Control: no-store, never nginx's HTML pages.
# Driven with curl and with raw bytes (openssl s_client, and plain TCP
# for 497): a direct request for the internal error URIs (404 like any
# unknown path), TRACE (405 with the Allow the responder gives for the
# same path; 404 off the routes), an unknown method (the responder's
# 405/404), malformed request lines, a lower-case method, a missing Host
# and a NUL byte in a header (400), an over-long URI (414), an
# over-long header (494, sent as 400), an unknown Transfer-Encoding
# (501), HTTP/3.0 on an HTTP/1 connection (505), an over-cap body (413),
# a certificate not issued by the CA (495, sent as 400), plain HTTP on
# the TLS port (497, sent as 400), the responder down (503, with
# Retry-After; a 502 that never connected becomes it), and, on a
# second nginx whose configuration is the shipped one plus two
# test-only `return` locations and shorter timeouts, 500, 503, the
# responder not answering (504) and a client that stops sending its
# body (408: nginx closes the connection without an answer).
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout

stack_up_or_die
mkdir -p "$T/raw"

# json_error DESC STATUS [DETAIL] — the last api/curl answer was STATUS,
# Content-Type application/json, Cache-Control: no-store, and a body that
# is exactly {"detail": <string>} (that string when DETAIL is given).
json_error()
{
	local desc=$1 want=$2 detail=${3:-} got
	got="$STATUS $(header Content-Type) $(header Cache-Control) $(json -c 'keys') $(json -r '.detail | type')"
	if [ "$got" = "$want application/json no-store [\"detail\"] string" ] &&
	    { [ -z "$detail" ] || [ "$(json -r .detail)" = "$detail" ]; }; then
		pass "$desc: $want, JSON {\"detail\": ...}, no-store"
	else
		not_ok "$desc: $want, JSON {\"detail\": ...}, no-store" \
		    "got $STATUS $(header Content-Type) $(header Cache-Control): $BODY"
	fi
}

# raw_split — split the answer in $T/raw/out (CRs removed) into STATUS,
# $T/headers and $T/body, so that header, json and json_error apply.
raw_split()
{
	tr -d '\r' <"$T/raw/out" >"$T/raw/out.lf"
	STATUS=$(sed -n '1s/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' "$T/raw/out.lf")
	sed '/^$/q' "$T/raw/out.lf" >"$T/headers"
	sed '1,/^$/d' "$T/raw/out.lf" >"$T/body"
	BODY=$(cat "$T/body")
}

# raw_tls DESC STATUS [PORT] — send $T/raw/req over TLS (no client
# certificate) to PORT (default the stack's nginx) and check the answer
# like json_error.
raw_tls()
{
	local port=${3:-$NGINX_PORT}
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$port" \
	    -CAfile "$CACERT" <"$T/raw/req" >"$T/raw/out" 2>"$T/raw/err"
	raw_split
	json_error "$1" "$2"
}

# req TEXT — $T/raw/req from printf-style TEXT.
req()
{
	# shellcheck disable=SC2059 # the escapes are the point
	printf -- "$1" >"$T/raw/req"
}

# ---- the error pages' own URIs: unknown paths like any other
for p in /.swarmctl-error/400 /.swarmctl-error/405 /.swarmctl-error/ /.swarmctl-error/999; do
	api GET "$p"
	json_error "GET $p" 404 "Not Found"
done
API_ANON=1 api GET /.swarmctl-error/400
json_error "GET /.swarmctl-error/400 without a certificate" 404 "Not Found"

# ---- TRACE: nginx refuses it itself; the Allow it sends is the one the
# responder gives for the same path (asked with an unknown method).
# allow_set — the Allow header as a sorted comma list without spaces.
allow_set()
{
	header Allow | tr -d ' ' | tr ',' '\n' | LC_ALL=C sort | paste -sd,
}
for p in /health /swarm/health /swarm/ready /swarm/ca.pem /swarm/crl.pem /swarm/front-ca.pem \
    /swarm/enroll /swarm/enroll/token /swarm/tokens "/swarm/tokens/$(uuidgen_lower)" \
    /swarm/renew /swarm/heartbeat /swarm/hosts \
    "/swarm/hosts/$(uuidgen_lower)" /swarm/audit '/swarm/hosts?limit=2'; do
	api FOO "$p"
	json_error "FOO $p (the responder)" 405 "Method Not Allowed"
	want=$(allow_set)
	api TRACE "$p"
	json_error "TRACE $p" 405 "Method Not Allowed"
	is "$(allow_set)" "$want" "... with the responder's Allow for $p ($want)"
done
for p in /nope /swarm/hosts/a/b /swarm; do
	api FOO "$p"
	json_error "FOO $p (the responder)" 404 "Not Found"
	api TRACE "$p"
	json_error "TRACE $p" 404 "Not Found"
done
req 'TRACE /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
raw_tls "raw TRACE /health" 405
is "$(header Allow)" "GET, HEAD" "... Allow: GET, HEAD"
req 'CONNECT /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
raw_tls "raw CONNECT /health" 405

# ---- malformed requests (400)
req 'GARBAGE\r\n\r\n'
raw_tls "a request line that is not HTTP" 400
req 'GET  HTTP/1.1\r\nHost: localhost\r\n\r\n'
raw_tls "a request line without a path" 400
req 'get /health HTTP/1.1\r\nHost: localhost\r\n\r\n'
raw_tls "a lower-case method" 400
req 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'
raw_tls "HTTP/1.1 without Host" 400
req 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\0b\r\n\r\n'
raw_tls "a NUL byte in a header" 400
req 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
raw_tls "two Host headers" 400
req 'GET /health HTTP/3.0\r\nHost: localhost\r\n\r\n'
raw_tls "HTTP/3.0 on an HTTP/1 connection" 505

# ---- sizes: URI (414), header (494 -> 400), body (413)
api GET "/$(rep a 9000)"
json_error "a 9000-byte URI (curl)" 414
req "GET /$(rep a 9000) HTTP/1.1\r\nHost: localhost\r\n\r\n"
raw_tls "a 9000-byte URI (raw)" 414
api GET /health -H "X-Big: $(rep b 9000)"
json_error "a 9000-byte header line" 400 "request header too large"
req "GET /health HTTP/1.1\r\nHost: localhost\r\nCookie: $(rep c 9000)\r\n\r\n"
raw_tls "a 9000-byte Cookie (raw)" 400
enroll "$(rep x 70000)"
json_error "a 70000-byte body" 413 "request body too large (limit 65536 bytes)"

# ---- 501: a Transfer-Encoding nginx does not implement
api POST /swarm/enroll -H 'Content-Type: application/json' -H 'Transfer-Encoding: gzip' \
    --data-binary '{}'
json_error "Transfer-Encoding: gzip (curl)" 501
req 'POST /swarm/enroll HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: foo\r\n\r\n'
raw_tls "Transfer-Encoding: foo (raw)" 501

# ---- certificates: one nginx cannot verify (495 -> 400)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/rogue.key" -out "$T/rogue.crt" -days 1 -subj "/CN=rogue" \
    >"$T/rogue.log" 2>&1 || diag "$(cat "$T/rogue.log")"
API_AS_CRT=$T/rogue.crt API_AS_KEY=$T/rogue.key api GET /health
json_error "a client certificate not issued by the CA" 400 "client certificate rejected"

# ---- 497: plain HTTP to the TLS port
{
	exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT" &&
	printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3 &&
	timeout 10 cat <&3 >"$T/raw/out"
	exec 3<&-
} 2>"$T/raw/err"
raw_split
json_error "plain HTTP to the HTTPS port" 400 "plain HTTP request sent to the HTTPS port"

# ---- 503: the responder is down (nginx's connect fails: its 502)
swarmctl_stop
api GET /health
json_error "GET /health with the responder down" 503 \
    "swarmctl responder unavailable or overloaded, retry later"
enroll '{"name":"w","address":"192.0.2.1"}'
json_error "POST /swarm/enroll with the responder down" 503
swarmctl_start || bail "swarmctl did not restart"
api GET /health
is "$STATUS" 200 "the responder is back: GET /health is 200"

# ---- 500, 503, 504, 408 on a probe nginx: the shipped block with
# shorter timeouts and two locations that only answer 500 and 503.
probe_up()
{
	local dir=$T/nginx-probe port conf
	port=$(free_port) || return 1
	nginx_write_conf "$dir" "$port" "$T/swarmctl.sock" "$T/tls/server.crt" \
	    "$T/tls/server.key" || return 1
	conf=$dir/swarmctl.conf
	sed -i -e 's|fastcgi_read_timeout 60s;|fastcgi_read_timeout 2s;|' -e '$d' "$conf"
	cat >>"$conf" <<-'EOF'
	    # test only
	    client_body_timeout 2s;
	    location = /.probe/500 { return 500; }
	    location = /.probe/503 { return 503; }
	}
	EOF
	grep -q 'fastcgi_read_timeout 2s;' "$conf" || return 1
	nginx -t -q -p "$dir/" -c "$dir/nginx.conf" >"$dir/nginx-t.log" 2>&1 || {
		diag "$(cat "$dir/nginx-t.log")"
		return 1
	}
	nginx -p "$dir/" -c "$dir/nginx.conf" -g 'daemon off;' </dev/null >>"$dir/stderr.log" 2>&1 &
	_track nginx "$!"
	PROBE_PID=$!
	PROBE_PORT=$port
	wait_for 20 _nginx_listening "$PROBE_PID" "$PROBE_PORT"
}
if probe_up; then
	pass "a probe nginx with the shipped block (shorter timeouts, two test locations) starts"
	PROBE=https://127.0.0.1:$PROBE_PORT
	for code in 500 503; do
		STATUS=$(curl -sS --cacert "$CACERT" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
		    "$PROBE/.probe/$code" 2>"$T/curl.err")
		BODY=$(cat "$T/body")
		json_error "nginx's own $code" "$code"
	done
	# 504: the responder accepts (the kernel queues the connection) but
	# never answers while it is stopped.
	kill -STOP "$SWARMCTL_PID"
	STATUS=$(curl -sS --cacert "$CACERT" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
	    --max-time 30 "$PROBE/health" 2>"$T/curl.err")
	BODY=$(cat "$T/body")
	kill -CONT "$SWARMCTL_PID"
	json_error "the responder not answering within fastcgi_read_timeout" 504 \
	    "swarmctl responder timed out"
	# 408: 10 body bytes promised, 3 sent, then silence beyond
	# client_body_timeout.  nginx closes the connection without an answer
	# (it never sends 408); whatever it sends must not be HTML.
	{
		printf 'POST /swarm/enroll HTTP/1.1\r\nHost: localhost\r\n'
		printf 'Content-Type: application/json\r\nContent-Length: 10\r\n\r\n{"n'
		sleep 5
	} | timeout 20 openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$PROBE_PORT" \
	    -CAfile "$CACERT" >"$T/raw/out" 2>"$T/raw/err"
	raw_split
	if [ -s "$T/raw/out" ]; then
		json_error "a body that stops coming (408)" 408
	else
		pass "a body that stops coming: the connection is closed without an answer"
	fi
	unlike "$(cat "$T/raw/out")" '<html' "... and nothing in HTML"
else
	not_ok "a probe nginx with the shipped block (shorter timeouts, two test locations) starts"
fi

ok "nginx is still running" pid_alive "$NGINX_PID"
api GET /health
is "$STATUS" 200 "GET /health is 200 after all that"

done_testing
