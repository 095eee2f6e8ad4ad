#!/bin/bash
# auth.sh — only an operator certificate drives the control plane, seen
# from outside through the shipped nginx configuration over HTTPS: no
# client certificate, a worker certificate (from an enrollment bundle: the
# worker CA, which nginx verifies for the worker routes and the responder
# refuses on operator routes with 403), a
# self-signed certificate claiming OU=swarm-operator, and an operator
# certificate from a different swarmctl CA are all refused on every
# operator route (enroll, list, get, decommission, audit) with nothing
# written, while a valid operator gets 200/201/204.  The public routes
# (/health, /swarm/health, /swarm/ca.pem, /swarm/crl.pem) answer without
# a certificate.  Revoking an operator with `swarmctl operator revoke`
# locks it out at once (the responder checks the database, nginx not yet
# reloaded); after an nginx reload nginx itself refuses the certificate
# (400 "client certificate rejected"); swarmctl is never restarted for
# either.  The loopback exception: a plain-HTTP request from 127.0.0.1 is
# refused by default and allowed only with --allow-loopback-operator,
# and a request through the TLS front end never qualifies for it.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd psql

stack_up_or_die

DENIED="operator certificate required"

# ---- "nothing written" bookkeeping: host rows, the bundle directory and
# the successful actions in the audit trail.
snapshot()
{
	printf 'rows=%s\n' "$(host_count)"
	printf 'successes=%s\n' "$(sql "SELECT count(*) FROM audit_log WHERE outcome = 'success'")"
	tree_snapshot "$T/ca/workers"
}

# A host for the get and decommission routes to aim at, and a worker
# certificate from its bundle.
mkdir -p "$T/certs"
enroll '{"name":"target-1","address":"192.0.2.1"}'
is "$STATUS" 201 "the operator enrolls target-1" || diag "$BODY"
UUID=$(json .host_uuid)
json -j .worker_cert_pem >"$T/certs/worker.crt"
(umask 077 && json -j .worker_key_pem >"$T/certs/worker.key")
rebase

# refused_everywhere WHO — every operator route, as the caller that the
# API_* variables select, is 403 with the contract's detail, and nothing
# is written.
refused_everywhere()
{
	local who=$1
	enroll '{"name":"intruder-1","address":"192.0.2.66"}'
	is_detail 403 "$DENIED" "$who: POST /swarm/enroll is 403"
	api GET /swarm/hosts
	is_detail 403 "$DENIED" "$who: GET /swarm/hosts is 403"
	api GET "/swarm/hosts/$UUID"
	is_detail 403 "$DENIED" "$who: GET /swarm/hosts/{uuid} is 403"
	api DELETE "/swarm/hosts/$UUID"
	is_detail 403 "$DENIED" "$who: DELETE /swarm/hosts/{uuid} is 403"
	api GET "/swarm/audit?limit=5"
	is_detail 403 "$DENIED" "$who: GET /swarm/audit is 403"
	unchanged "$who"
	is "$(sql "SELECT count(*) FROM swarm_hosts WHERE uuid = '$UUID'")" 1 \
	    "$who: target-1 is still enrolled"
}

# rejected_everywhere WHO — every operator route, as the caller that the
# API_* variables select, is refused before the responder (nginx cannot
# verify the certificate): never 2xx, a 4xx, nothing written.
rejected_everywhere()
{
	local who=$1 m p
	for m in "POST /swarm/enroll" "GET /swarm/hosts" "GET /swarm/hosts/$UUID" \
	    "DELETE /swarm/hosts/$UUID" "GET /swarm/audit"; do
		p=${m#* }
		if [ "${m%% *}" = POST ]; then
			enroll '{"name":"intruder-2","address":"192.0.2.67"}'
		else
			api "${m%% *}" "$p"
		fi
		like "$STATUS" '^4[0-9][0-9]$' "$who: $m is refused (4xx)" || diag "$BODY"
		unlike "$STATUS" '^2' "$who: $m is not 2xx"
	done
	# The handshake completes (verification is optional) and nginx
	# answers with the shipped JSON error page for 495.
	is_detail 400 "client certificate rejected" \
	    "$who: nginx answers 400 {\"detail\":\"client certificate rejected\"}"
	unchanged "$who"
	is "$(sql "SELECT count(*) FROM swarm_hosts WHERE uuid = '$UUID'")" 1 \
	    "$who: target-1 is still enrolled"
}

# ---- no client certificate
API_ANON=1 refused_everywhere "no certificate"

# ---- a worker certificate: issued by the worker CA, which nginx accepts
# (the worker routes, POST /swarm/renew and /swarm/heartbeat, take it)
# and the responder refuses on every operator route: not the front-end
# CA's, not an operator's.
ok "the worker certificate verifies against the worker CA" \
    openssl verify -CAfile "$T/ca/ca.crt" "$T/certs/worker.crt"
fails "... not against the front-end CA that issues operators" \
    openssl verify -CAfile "$CACERT" "$T/certs/worker.crt"
API_AS_CRT=$T/certs/worker.crt API_AS_KEY=$T/certs/worker.key \
    refused_everywhere "worker certificate"

# ---- a self-signed certificate that claims to be an operator's, with
# the CA's own subject shape.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/certs/selfsigned.key" -out "$T/certs/selfsigned.crt" -days 1 \
    -subj "/O=DECNET/OU=swarm-operator/CN=test-operator" \
    -addext "extendedKeyUsage=clientAuth" >"$T/openssl.log" 2>&1 ||
    diag "$(cat "$T/openssl.log")"
like "$(openssl x509 -in "$T/certs/selfsigned.crt" -noout -subject)" 'OU ?= ?swarm-operator' \
    "the self-signed certificate says OU=swarm-operator"
API_AS_CRT=$T/certs/selfsigned.crt API_AS_KEY=$T/certs/selfsigned.key \
    rejected_everywhere "self-signed OU=swarm-operator"

# ---- an operator certificate from a different swarmctl CA (same subject
# names, other key): a second database and CA directory.
pg_create_db other
swarmctl_migrate --db "dbname=other" || diag "$(cat "$T/migrate.out")"
swarmctl_init "$T/other-ca" --db "dbname=other" || diag "$(cat "$T/init.out")"
"$SWARMCTL_BIN" operator issue test-operator --out "$T/other-ops" \
    --ca-dir "$T/other-ca" --db "dbname=other" >"$T/other-issue.out" 2>&1
ok "another swarmctl CA issues an operator certificate" test -s "$T/other-ops/test-operator.crt" ||
    diag "$(cat "$T/other-issue.out")"
fails "... which does not verify against our CA" \
    openssl verify -CAfile "$CACERT" "$T/other-ops/test-operator.crt"
API_AS_CRT=$T/other-ops/test-operator.crt API_AS_KEY=$T/other-ops/test-operator.key \
    rejected_everywhere "operator of another CA"

# ---- the valid operator
api GET /swarm/hosts
is "$STATUS" 200 "operator: GET /swarm/hosts is 200"
is "$(json -c '[.[].name]')" '["target-1"]' "... listing target-1"
api GET "/swarm/hosts/$UUID"
is "$STATUS" 200 "operator: GET /swarm/hosts/{uuid} is 200"
is "$(json -r .name)" target-1 "... showing target-1"
api GET "/swarm/audit?limit=5"
is "$STATUS" 200 "operator: GET /swarm/audit is 200"
is "$(json -r 'type')" array "... a JSON array"
enroll '{"name":"operator-made","address":"192.0.2.2"}'
is "$STATUS" 201 "operator: POST /swarm/enroll is 201" || diag "$BODY"
uuid2=$(json .host_uuid)
api DELETE "/swarm/hosts/$uuid2"
is "$STATUS" 204 "operator: DELETE /swarm/hosts/{uuid} is 204"
is "$(host_count)" 1 "... and only target-1 remains"

# ---- public routes, no certificate
export API_ANON=1
for p in /health /swarm/health; do
	api GET "$p"
	is "$STATUS" 200 "public: GET $p is 200 without a certificate"
	is "$(json -cS .)" '{"role":"swarm-controller","status":"ok"}' "... with the health body"
done
api GET /swarm/ca.pem
is "$STATUS" 200 "public: GET /swarm/ca.pem is 200 without a certificate"
ok "... and is CA_DIR/ca.crt byte for byte" cmp -s "$T/body" "$T/ca/ca.crt"
api GET /swarm/crl.pem
is "$STATUS" 200 "public: GET /swarm/crl.pem is 200 without a certificate"
cp "$T/body" "$T/crl.pem"
ok "... a CRL openssl parses" openssl crl -in "$T/crl.pem" -noout
like "$(openssl crl -in "$T/crl.pem" -CAfile "$T/ca/ca.crt" -noout 2>&1)" 'verify OK' \
    "... signed by the CA"
unset API_ANON

# ---- revocation of an operator: the responder first, nginx on reload
operator_issue op-revoked || bail "operator issue op-revoked"
export API_AS_CRT=$T/operators/op-revoked.crt API_AS_KEY=$T/operators/op-revoked.key
# Enough requests that every worker has seen, and remembers, this
# operator: revocation must reach the workers' memory too.
codes=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	api GET /swarm/hosts
	codes="$codes$STATUS "
done
is "$codes" "$(printf '200 %.0s' 1 2 3 4 5 6 7 8 9 10 11 12)" \
    "a second operator, op-revoked, is let in (12 requests)"
pid_before=$SWARMCTL_PID
"$SWARMCTL_BIN" operator revoke op-revoked --ca-dir "$T/ca" >"$T/revoke.out" 2>&1
is "$?" 0 "swarmctl operator revoke op-revoked succeeds" || diag "$(cat "$T/revoke.out")"
rebase
# nginx still holds the old CRL: the request reaches the responder, which
# finds the revocation in the database.
codes=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	api GET /swarm/hosts
	codes="$codes$STATUS "
done
is "$codes" "$(printf '403 %.0s' 1 2 3 4 5 6 7 8 9 10 11 12)" \
    "revoked, nginx not reloaded: every worker refuses GET /swarm/hosts at once (12 requests)"
api GET /swarm/hosts
is_detail 403 "$DENIED" "revoked, nginx not reloaded: GET /swarm/hosts is 403 from the responder at once"
enroll '{"name":"by-revoked","address":"192.0.2.3"}'
is_detail 403 "$DENIED" "revoked, nginx not reloaded: POST /swarm/enroll is 403"
api DELETE "/swarm/hosts/$UUID"
is_detail 403 "$DENIED" "revoked, nginx not reloaded: DELETE is 403"
unchanged "revoked operator before the reload"

ok "nginx reloads (kill -HUP) and its old workers exit" nginx_reload
# Reload is asynchronous: new workers with the new CRL replace the old.
nginx_rejects()
{
	api GET /swarm/hosts
	[ "$STATUS" = 400 ]
}
ok "after kill -HUP (nginx reload), nginx rejects the revoked certificate" \
    wait_for 20 nginx_rejects
is_detail 400 "client certificate rejected" \
    "... with 400 {\"detail\":\"client certificate rejected\"}"
enroll '{"name":"by-revoked","address":"192.0.2.3"}'
is "$STATUS" 400 "... also for POST /swarm/enroll"
unchanged "revoked operator after the reload"
ok "nginx kept its master process (reloaded, not restarted)" pid_alive "$NGINX_PID"
unset API_AS_CRT API_AS_KEY
api GET /swarm/hosts
is "$STATUS" 200 "test-operator is still let in after the reload"
is "$SWARMCTL_PID" "$pid_before" "swarmctl was not restarted (same PID)"
ok "... and is still running" pid_alive "$SWARMCTL_PID"

# ---- the loopback exception
# A second, minimal nginx with no TLS at all, listening on 127.0.0.1: the
# way a local tool on a single-host master would reach the responder.  It
# passes the shipped configuration's fastcgi_param lines (taken from
# nginx/swarmctl.conf itself, so they cannot drift) except HTTPS and the
# SSL_* ones, which a plain-HTTP front end does not have.
PLAIN=$T/nginx-plain
mkdir -p "$PLAIN/tmp"
PLAIN_PORT=$(free_port) || bail "no free port"
grep -E '^[[:space:]]*fastcgi_param[[:space:]]' "$TOP_SRCDIR/nginx/swarmctl.conf" |
    grep -Ev 'fastcgi_param[[:space:]]+(HTTPS|SSL_)' >"$PLAIN/params"
ok "the plain front end passes REMOTE_ADDR and PATH_INFO like the shipped one" \
    grep -q 'REMOTE_ADDR' "$PLAIN/params"
unlike "$(cat "$PLAIN/params")" 'HTTPS|SSL_' "... and no HTTPS or SSL_* parameter"
cat >"$PLAIN/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $PLAIN/nginx.pid;
error_log $PLAIN/error.log warn;
events { worker_connections 64; }
http {
    access_log $PLAIN/access.log;
    client_body_temp_path $PLAIN/tmp/body;
    fastcgi_temp_path $PLAIN/tmp/fastcgi;
    proxy_temp_path $PLAIN/tmp/proxy;
    uwsgi_temp_path $PLAIN/tmp/uwsgi;
    scgi_temp_path $PLAIN/tmp/scgi;
    server {
        listen 127.0.0.1:$PLAIN_PORT;
        location / {
            fastcgi_pass unix:$T/swarmctl.sock;
            include $PLAIN/params;
        }
    }
}
EOF
nginx -p "$PLAIN/" -c "$PLAIN/nginx.conf" -g 'daemon off;' </dev/null \
    >>"$PLAIN/stderr.log" 2>&1 &
PLAIN_PID=$!
_track nginx "$PLAIN_PID"
wait_for 20 _nginx_listening "$PLAIN_PID" "$PLAIN_PORT" ||
    bail "plain nginx did not start: $(cat "$PLAIN/error.log" "$PLAIN/stderr.log" 2>/dev/null)"

# plain METHOD PATH [curl args] — like api, over http:// to the plain front end.
plain()
{
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -sS --max-time 120 -H 'Expect:' -X "$method" -D "$T/headers" \
	    -o "$T/body" -w '%{http_code}' "$@" "http://127.0.0.1:$PLAIN_PORT$path" \
	    2>"$T/curl.err") || true
	BODY=$(cat "$T/body" 2>/dev/null)
}

rebase
plain GET /swarm/hosts
is_detail 403 "$DENIED" "default: plain HTTP from 127.0.0.1 to GET /swarm/hosts is 403"
plain POST /swarm/enroll -H 'Content-Type: application/json' \
    --data-binary '{"name":"via-loopback","address":"192.0.2.4"}'
is_detail 403 "$DENIED" "default: plain HTTP enroll from 127.0.0.1 is 403"
unchanged "default loopback"
plain GET /health
is "$STATUS" 200 "the plain front end does reach the responder (/health 200)"

swarmctl_stop
swarmctl_start --allow-loopback-operator || bail "swarmctl did not restart"
plain GET /swarm/hosts
is "$STATUS" 200 "--allow-loopback-operator: plain HTTP GET /swarm/hosts from 127.0.0.1 is 200"
is "$(json -c '[.[].name]')" '["target-1"]' "... listing the hosts"
plain POST /swarm/enroll -H 'Content-Type: application/json' \
    --data-binary '{"name":"via-loopback","address":"192.0.2.4"}'
is "$STATUS" 201 "--allow-loopback-operator: plain HTTP enroll is 201" || diag "$BODY"
api GET "/swarm/audit?limit=1"
is "$(json -c '.[0] | [.actor, .actor_fingerprint, .action, .target, .outcome]')" \
    '["loopback",null,"enroll","via-loopback","success"]' \
    "... audited with actor \"loopback\""

rebase
export API_ANON=1
api GET /swarm/hosts
is_detail 403 "$DENIED" "--allow-loopback-operator: through TLS without a certificate GET /swarm/hosts is still 403"
enroll '{"name":"tls-anon","address":"192.0.2.5"}'
is_detail 403 "$DENIED" "--allow-loopback-operator: through TLS without a certificate enroll is still 403"
api DELETE "/swarm/hosts/$UUID"
is_detail 403 "$DENIED" "--allow-loopback-operator: through TLS without a certificate DELETE is still 403"
unset API_ANON
unchanged "TLS without a certificate, loopback allowed"

done_testing
