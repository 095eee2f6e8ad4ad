#!/bin/bash
# mtls.sh — the bundles are usable for what they are for: two enrolled
# workers complete a mutual-TLS handshake with each other's certificates
# (OpenSSL s_server/s_client, both sides verifying against the service
# CA, the server checking the client's IP SAN), while a client certificate
# from another CA, or none at all, is refused and a wrong host name fails.
# Also the worker certificate profile of the contract (subject, serial,
# validity, extensions, key) and that the bundle on disk is the one the
# API returned.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout mkfifo

stack_up_or_die

B=$T/bundles
mkdir -p "$B"
for w in worker-a worker-b; do
	enroll "{\"name\":\"$w\",\"address\":\"127.0.0.1\",\"sans\":[\"$w.swarm.test\"]}"
	is "$STATUS" 201 "enrol $w" || diag "$BODY"
	cp "$T/body" "$B/$w.json"
	json -j .worker_cert_pem >"$B/$w.crt"
	(umask 077 && json -j .worker_key_pem >"$B/$w.key")
	json -j .ca_cert_pem >"$B/ca.crt"
done

# ---- the bundle on disk is the one returned
d=$T/ca/workers/worker-a
ok "bundle on disk: ca.crt is ca_cert_pem" cmp -s "$d/ca.crt" "$B/ca.crt"
ok "bundle on disk: worker.crt is worker_cert_pem" cmp -s "$d/worker.crt" "$B/worker-a.crt"
ok "bundle on disk: worker.key is worker_key_pem" cmp -s "$d/worker.key" "$B/worker-a.key"
is "$(cert_fingerprint "$d/worker.crt")" "$(jq -r .fingerprint "$B/worker-a.json")" \
    "bundle on disk: certificate fingerprint is the returned fingerprint"

# ---- certificate profile (CONTRACT.md, "Worker certificate")
crt=$B/worker-a.crt
subject=$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
is "$(tr ',' '\n' <<<"$subject" | LC_ALL=C sort | paste -sd,)" "CN=worker-a,O=DECNET,OU=swarm-worker" \
    "subject is CN=worker-a, O=DECNET, OU=swarm-worker"
issuer=$(openssl x509 -in "$crt" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
is "$(tr ',' '\n' <<<"$issuer" | LC_ALL=C sort | paste -sd,)" "CN=DECNET SWARM Root CA,O=DECNET" \
    "issuer is the DECNET SWARM Root CA"
text=$(openssl x509 -in "$crt" -noout -text)
like "$text" 'Version: 3 ' "X.509 version 3"
like "$text" 'Signature Algorithm: sha256WithRSAEncryption' "signed with SHA-256"
like "$text" 'Public-Key: \(2048 bit\)' "RSA-2048 key by default"
ext()
{
	openssl x509 -in "$crt" -noout -ext "$1" 2>/dev/null | tr -d '\n' | tr -s ' '
}
is "$(ext basicConstraints)" "X509v3 Basic Constraints: critical CA:FALSE" "basicConstraints CA:FALSE, critical"
is "$(ext keyUsage)" "X509v3 Key Usage: critical Digital Signature, Key Encipherment" \
    "keyUsage digitalSignature, keyEncipherment, critical"
is "$(ext extendedKeyUsage)" \
    "X509v3 Extended Key Usage: critical TLS Web Server Authentication, TLS Web Client Authentication" \
    "extendedKeyUsage serverAuth + clientAuth, critical"
like "$(ext subjectKeyIdentifier)" 'Subject Key Identifier' "has a subject key identifier"
like "$(ext authorityKeyIdentifier)" 'Authority Key Identifier' "has an authority key identifier"
ser_a=$(openssl x509 -in "$crt" -noout -serial | sed 's/^serial=//')
ser_b=$(openssl x509 -in "$B/worker-b.crt" -noout -serial | sed 's/^serial=//')
like "$ser_a" '^[0-9A-F]{24,34}$' "serial is a large positive number (random 128-bit)"
unlike "$text" 'Serial Number: *\(Negative\)' "serial is not negative"
isnt "$ser_a" "$ser_b" "two certificates have different serials"
nb=$(date -u -d "$(openssl x509 -in "$crt" -noout -startdate | sed 's/^notBefore=//')" +%s)
na=$(date -u -d "$(openssl x509 -in "$crt" -noout -enddate | sed 's/^notAfter=//')" +%s)
now=$(date -u +%s)
ok "notBefore is about five minutes ago" [ $((now - nb)) -ge 240 -a $((now - nb)) -le 420 ]
ok "valid for 90 days (--worker-days default)" [ $((na - nb)) -ge $((90 * 86400)) -a $((na - nb)) -le $((90 * 86400 + 600)) ]
ok "openssl accepts it for TLS server use" openssl verify -CAfile "$B/ca.crt" -purpose sslserver "$crt"
ok "openssl accepts it for TLS client use" openssl verify -CAfile "$B/ca.crt" -purpose sslclient "$crt"

# ---- handshakes
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$B/rogue.key" -subj /CN=worker-b -days 1 -out "$B/rogue.crt" >/dev/null 2>&1
mkfifo "$T/stdin.fifo"

# handshake TAG [s_client args...] — worker-a's certificate serves on a
# free port and demands a client certificate from the service CA; a
# client connects with the given args, checks the server against the CA
# and its IP SAN, and sends one line.  Leaves $T/TAG.cli and $T/TAG.srv.
handshake()
{
	local tag=$1 port spid
	shift
	port=$(free_port)
	# s_server quits at EOF on stdin: give it a FIFO that stays open.
	exec 3<>"$T/stdin.fifo"
	openssl s_server -accept "127.0.0.1:$port" -naccept 1 \
	    -cert "$B/worker-a.crt" -key "$B/worker-a.key" -CAfile "$B/ca.crt" \
	    -Verify 1 -verify_return_error <&3 >"$T/$tag.srv" 2>&1 &
	spid=$!
	exec 3>&-
	_track other "$spid"
	wait_for 10 port_listening "$port" || diag "s_server did not listen"
	{ echo "hello-from-$tag"; sleep 1; } |
	    timeout 30 openssl s_client -connect "127.0.0.1:$port" -CAfile "$B/ca.crt" \
	    -verify_return_error -verify_ip 127.0.0.1 "$@" >"$T/$tag.cli" 2>&1
	HS_RC=$?
	wait_exit "$spid" 10 || stop_pid "$spid" TERM 5
	_untrack "$spid"
}

handshake good -cert "$B/worker-b.crt" -key "$B/worker-b.key"
is "$HS_RC" 0 "mutual TLS between worker-b (client) and worker-a (server) succeeds"
like "$(cat "$T/good.cli")" 'Verify return code: 0 \(ok\)' "... the client verifies worker-a against the CA and 127.0.0.1"
like "$(cat "$T/good.srv")" 'subject=.*CN ?= ?worker-b' "... the server sees client CN=worker-b"
like "$(cat "$T/good.srv")" 'hello-from-good' "... and receives the client's data"

handshake tls12 -tls1_2 -cert "$B/worker-b.crt" -key "$B/worker-b.key"
like "$(cat "$T/tls12.srv")" 'hello-from-tls12' "mutual TLS 1.2 works too"

handshake byname -cert "$B/worker-b.crt" -key "$B/worker-b.key" -verify_hostname worker-a.swarm.test
like "$(cat "$T/byname.cli")" 'Verify return code: 0 \(ok\)' "the server also verifies by its extra SAN worker-a.swarm.test"

handshake rogue -cert "$B/rogue.crt" -key "$B/rogue.key"
unlike "$(cat "$T/rogue.srv")" 'hello-from-rogue' "a self-signed client certificate (not from the CA) is refused"
like "$(cat "$T/rogue.srv")" 'verify error|certificate verify failed' "... by certificate verification"

handshake nocert
unlike "$(cat "$T/nocert.srv")" 'hello-from-nocert' "a client without a certificate is refused"
like "$(cat "$T/nocert.srv")" 'did not return a certificate|certificate required' "... because it sent none"

handshake wrongname -cert "$B/worker-b.crt" -key "$B/worker-b.key" -verify_hostname other.swarm.test
isnt "$HS_RC" 0 "a client expecting another host name rejects worker-a's certificate"
like "$(cat "$T/wrongname.cli")" 'hostname mismatch' "... for a host name mismatch"

done_testing
