#!/bin/bash
# csr_enroll.sh — POST /swarm/enroll with csr_pem (PKCS#10), through
# nginx and PostgreSQL: workers that make their own keys with openssl
# (RSA-2048, ECDSA P-256, Ed25519) get 201 with no worker_key_pem, a
# bundle of ca.crt and worker.crt only (no worker.key), and a certificate
# for exactly their key, with the subject, SANs and EKU of the request and
# the worker profile, not of the CSR.  A CSR asking for CA:TRUE, an extra
# SAN, keyCertSign and codeSigning gets none of them.  Refused with 422 at
# ["body","csr_pem"], with nothing written (host row, certificate row,
# bundle) and an "invalid" audit row: RSA-1024, a curve outside the
# policy, a CSR whose signature does not verify with its key (no proof of
# possession), garbage, a non-string, an oversized value.  A CSR-enrolled
# host decommissions like any other; server-made keys are unchanged.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

require_cmd openssl jq python3
stack_up_or_die

W=$T/csr
mkdir -p "$W"
WORKERS=$T/ca/workers

# make_csr NAME OPENSSL-NEWKEY-ARGS... — $W/NAME.key and $W/NAME.csr,
# subject /CN=ignored-NAME/O=Attacker.
make_csr()
{
	local name=$1
	shift
	openssl req -new "$@" -nodes -keyout "$W/$name.key" \
	    -subj "/CN=ignored-$name/O=Attacker" -out "$W/$name.csr" \
	    2>"$W/$name.err"
}

# enroll_csr NAME ADDRESS CSR-FILE [SANS-JSON] — the CSR form of enroll,
# the body made as the README shows it ("$(cat worker.csr)": no final
# newline).
enroll_csr()
{
	enroll "$(jq -cn --arg n "$1" --arg a "$2" --arg csr "$(cat "$3")" \
	    --argjson s "${4:-[]}" '{name: $n, address: $a, sans: $s, csr_pem: $csr}')"
}

# pubkey_of_cert FILE / pubkey_of_key FILE — the SubjectPublicKeyInfo PEM.
pubkey_of_cert()
{
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null
}
pubkey_of_key()
{
	openssl pkey -in "$1" -pubout 2>/dev/null
}

# ext_names CERT — the X509v3 extension names in CERT, sorted, one line.
ext_names()
{
	openssl x509 -in "$1" -noout -text |
	    sed -n 's/^ *X509v3 \(.*\):.*/\1/p' | grep -vx extensions |
	    LC_ALL=C sort | paste -sd, -
}

# nothing_written NAME DESC — no host row, no certificate row, no
# bundle directory for NAME; one more "invalid" enroll in the audit trail
# (with no target: a refused body names nobody).
invalid_audits()
{
	sql "SELECT count(*) FROM audit_log WHERE action = 'enroll' AND outcome = 'invalid'"
}
nothing_written()
{
	is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = '$1'")" 0 \
	    "$2: no host row"
	is "$(sql "SELECT count(*) FROM certificates WHERE subject LIKE 'CN=$1,%'")" 0 \
	    "$2: no certificate row"
	ok "$2: no bundle directory" [ ! -e "$WORKERS/$1" ]
	is "$(invalid_audits)" $((AUDITS + 1)) "$2: audited as invalid"
	AUDITS=$(invalid_audits)
}

# is_csr_422 DESC MSG-REGEX — the last answer was a 422 with one entry at
# ["body","csr_pem"] whose msg matches MSG-REGEX.
is_csr_422()
{
	is "$STATUS" 422 "$1: 422"
	is "$(json -c '[.detail[].loc]')" '[["body","csr_pem"]]' "$1: loc [body, csr_pem]"
	like "$(json -r '.detail[0].msg')" "$2" "$1: msg says why"
}

# ---- good keys, made by the worker
for spec in "rsa2048:-newkey rsa:2048" \
    "p256:-newkey ec -pkeyopt ec_paramgen_curve:prime256v1" \
    "ed25519:-newkey ed25519"; do
	kind=${spec%%:*}
	name=csr-$kind
	# shellcheck disable=SC2086 # the openssl arguments split on purpose
	ok "openssl makes a $kind CSR" make_csr "$name" ${spec#*:}
	enroll_csr "$name" 192.0.2.10 "$W/$name.csr" "[\"$kind.swarm.test\"]"
	is "$STATUS" 201 "$kind CSR: 201" || diag "$BODY"
	is "$(json -c 'has("worker_key_pem")')" false "$kind: no worker_key_pem in the response"
	is "$(json -c 'keys')" \
	    '["address","agent_port","ca_cert_pem","fingerprint","host_uuid","name","worker_cert_pem"]' \
	    "$kind: every other EnrolledBundle field is there"
	json -j .worker_cert_pem >"$W/$name.crt"
	is "$(ls "$WORKERS/$name" 2>&1 | paste -sd' ' -)" "ca.crt worker.crt" \
	    "$kind: bundle holds ca.crt and worker.crt only, no worker.key"
	ok "$kind: bundle worker.crt is the certificate returned" \
	    cmp -s "$WORKERS/$name/worker.crt" "$W/$name.crt"
	is "$(pubkey_of_cert "$W/$name.crt")" "$(pubkey_of_key "$W/$name.key")" \
	    "$kind: the certificate is for the worker's own key"
	ok "$kind: openssl verifies it against the worker CA as a TLS client" \
	    openssl verify -CAfile "$WORKERS/$name/ca.crt" -purpose sslclient "$W/$name.crt"
	is "$(openssl x509 -in "$W/$name.crt" -noout -subject -nameopt RFC2253)" \
	    "subject=CN=$name,OU=swarm-worker,O=DECNET" "$kind: subject from the request, not the CSR"
	is "$(openssl x509 -in "$W/$name.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" \
	    "DNS:$kind.swarm.test,IPAddress:192.0.2.10,DNS:$name" "$kind: SANs from the request"
	is "$(json -r .fingerprint)" "$(cert_fingerprint "$W/$name.crt")" \
	    "$kind: fingerprint is the certificate's"
	is "$(sql "SELECT kind || ' ' || fingerprint FROM certificates WHERE subject = 'CN=$name,OU=swarm-worker,O=DECNET'")" \
	    "worker $(json -r .fingerprint)" "$kind: certificate recorded"
	is "$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = '$name'")" \
	    "$(json -r .fingerprint)" "$kind: host row carries the fingerprint"
done
is "$(openssl x509 -in "$W/csr-rsa2048.crt" -noout -ext keyUsage | tail -n +2 | tr -d ' ')" \
    "DigitalSignature,KeyEncipherment" "RSA: keyUsage digitalSignature, keyEncipherment"
is "$(openssl x509 -in "$W/csr-p256.crt" -noout -ext keyUsage | tail -n +2 | tr -d ' ')" \
    "DigitalSignature" "ECDSA: keyUsage digitalSignature only"

# ---- forged extensions: only the policy's
ok "openssl makes a CSR asking for CA:TRUE, evil.example, keyCertSign, codeSigning" \
    make_csr forged -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -addext basicConstraints=critical,CA:TRUE \
    -addext subjectAltName=DNS:evil.example,IP:203.0.113.66 \
    -addext keyUsage=critical,keyCertSign,cRLSign \
    -addext extendedKeyUsage=codeSigning
like "$(openssl req -in "$W/forged.csr" -noout -text)" 'CA:TRUE' "... the CSR really asks for CA:TRUE"
enroll_csr forged 192.0.2.11 "$W/forged.csr"
is "$STATUS" 201 "forged CSR: 201 (its extensions are ignored)" || diag "$BODY"
json -j .worker_cert_pem >"$W/forged.crt"
is "$(openssl x509 -in "$W/forged.crt" -noout -ext basicConstraints | tail -n +2 | tr -d ' ')" \
    "CA:FALSE" "forged: CA:FALSE"
is "$(openssl x509 -in "$W/forged.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')" \
    "IPAddress:192.0.2.11,DNS:forged" "forged: only the request's SANs, no evil.example"
is "$(openssl x509 -in "$W/forged.crt" -noout -ext keyUsage | tail -n +2 | tr -d ' ')" \
    "DigitalSignature" "forged: keyUsage of the profile, no keyCertSign"
is "$(openssl x509 -in "$W/forged.crt" -noout -ext extendedKeyUsage | tail -n +2 | tr -d ' ')" \
    "TLSWebServerAuthentication,TLSWebClientAuthentication" "forged: EKU serverAuth, clientAuth; no codeSigning"
is "$(ext_names "$W/forged.crt")" \
    "Authority Key Identifier,Basic Constraints,Extended Key Usage,Key Usage,Subject Alternative Name,Subject Key Identifier" \
    "forged: no extension beyond the worker profile's"
# What the forger wanted: to sign certificates of its own that chain to
# the worker CA.  It holds the key, so it can sign; nobody accepts it.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$W/victim.key" -subj /CN=victim -out "$W/victim.csr" 2>/dev/null
ok "the forger signs a certificate with its worker key" \
    openssl x509 -req -in "$W/victim.csr" -CA "$W/forged.crt" \
    -CAkey "$W/forged.key" -CAcreateserial -days 1 -out "$W/victim.crt"
fails "... which openssl refuses to chain through the worker certificate" \
    openssl verify -CAfile "$WORKERS/forged/ca.crt" -untrusted "$W/forged.crt" "$W/victim.crt"

# ---- refused, with nothing written
hosts_before=$(host_count)
AUDITS=$(invalid_audits)
ok "openssl makes an RSA-1024 CSR" make_csr weak -newkey rsa:1024
enroll_csr weak 192.0.2.12 "$W/weak.csr"
is_csr_422 "RSA-1024" 'RSA key of 1024 bits.*2048'
nothing_written weak "RSA-1024"

ok "openssl makes a brainpoolP256r1 CSR" make_csr brainpool -newkey ec -pkeyopt ec_paramgen_curve:brainpoolP256r1
enroll_csr brainpool 192.0.2.13 "$W/brainpool.csr"
is_csr_422 "brainpoolP256r1" '.'
nothing_written brainpool "brainpoolP256r1"

# A valid CSR with one byte of its signature flipped: the key did not
# sign it.  The signature BIT STRING ends the DER.
ok "openssl makes a P-256 CSR to tamper with" make_csr badsig -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
csr_flip_signature "$W/badsig.csr" "$W/badsig-flipped.csr"
# openssl req -verify exits 0 either way: read what it says.
like "$(openssl req -in "$W/badsig-flipped.csr" -noout -verify 2>&1)" 'verify failure' \
    "... openssl agrees its signature does not verify"
enroll_csr badsig 192.0.2.14 "$W/badsig-flipped.csr"
is_csr_422 "flipped signature" 'proof of possession'
nothing_written badsig "flipped signature"

enroll '{"name":"garbage","address":"192.0.2.15","csr_pem":"hello"}'
is_csr_422 "garbage csr_pem" 'not a PEM certificate request'
nothing_written garbage "garbage csr_pem"

enroll '{"name":"notstr","address":"192.0.2.16","csr_pem":5}'
is_csr_422 "numeric csr_pem" 'valid string'
nothing_written notstr "numeric csr_pem"

enroll "$(jq -cn --arg pad "$(head -c 17000 /dev/zero | tr '\0' A)" \
    '{name: "huge", address: "192.0.2.17", csr_pem: $pad}')"
is_csr_422 "17000-byte csr_pem" 'at most 16384'
nothing_written huge "17000-byte csr_pem"

# One bad field among others: every error listed, the CSR's among them.
enroll "$(jq -cn --rawfile csr "$W/weak.csr" '{name: "two", address: "not an address!", csr_pem: $csr}')"
is "$STATUS" 422 "bad address and weak CSR: 422"
is "$(json -c '[.detail[].loc[1]] | sort')" '["address","csr_pem"]' "... both fields listed"
is "$(host_count)" "$hosts_before" "no host row from any refused CSR"

# ---- the same key twice, and a taken name
enroll_csr csr-p256 192.0.2.10 "$W/csr-p256.csr"
is "$STATUS" 409 "a CSR for a taken name: 409"

# ---- server-made keys are unchanged
enroll '{"name":"server-key","address":"192.0.2.20","csr_pem":null}'
is "$STATUS" 201 "csr_pem null: a server-made key, 201"
like "$(json -r .worker_key_pem)" 'BEGIN PRIVATE KEY' "... with worker_key_pem"
is "$(ls "$WORKERS/server-key" | paste -sd' ' -)" "ca.crt worker.crt worker.key" \
    "... and worker.key in the bundle"

# ---- a CSR-enrolled host decommissions like any other
uuid=$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'csr-ed25519'")
api DELETE "/swarm/hosts/$uuid"
is "$STATUS" 204 "decommission a CSR-enrolled host: 204"
wait_for 10 test ! -e "$WORKERS/csr-ed25519"
ok "... its bundle (without worker.key) is removed" [ ! -e "$WORKERS/csr-ed25519" ]
is "$(sql "SELECT reason FROM certificates WHERE subject = 'CN=csr-ed25519,OU=swarm-worker,O=DECNET'")" \
    cessationOfOperation "... and its certificate revoked"

done_testing
