#!/bin/bash
# files.sh — what swarmctl leaves on disk: CA_DIR layout and modes, the CA
# key and certificate profile, the front-end CA beside it (another root),
# the CAs surviving restarts unchanged, two `swarmctl init` at once on an
# empty CA directory creating one CA of each kind,
# names that try to escape workers/ creating nothing anywhere, and the
# start-up sweep removing orphaned bundle directories and temporary files
# (crash recovery) without touching real bundles or following symlinks.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout

stack_up_or_die

enroll '{"name":"keeper","address":"192.0.2.70"}'
is "$STATUS" 201 "enrol keeper" || diag "$BODY"
keeper_fp=$(json .fingerprint)

# ---- layout and modes
mode()
{
	stat -c %a "$1" 2>/dev/null
}
is "$(mode "$T/ca")" 700 "CA_DIR is 0700"
is "$(mode "$T/ca/ca.key")" 600 "ca.key is 0600"
is "$(mode "$T/ca/front-ca.key")" 600 "front-ca.key is 0600"
is "$(mode "$T/ca/front-ca.crt")" 644 "front-ca.crt is 0644"
is "$(mode "$T/ca/workers")" 700 "workers/ is 0700"
is "$(mode "$T/ca/workers/keeper")" 700 "workers/keeper is 0700"
is "$(mode "$T/ca/workers/keeper/worker.key")" 600 "workers/keeper/worker.key is 0600"
for f in ca.crt worker.crt worker.key; do
	ok "workers/keeper/$f exists" [ -s "$T/ca/workers/keeper/$f" ]
done
ok "workers/keeper/ca.crt is the CA certificate" cmp -s "$T/ca/workers/keeper/ca.crt" "$T/ca/ca.crt"

# ---- the CA key and certificate
is "$(head -n 1 "$T/ca/ca.key")" "-----BEGIN PRIVATE KEY-----" "ca.key is unencrypted PKCS#8 PEM"
is "$(openssl pkey -in "$T/ca/ca.key" -pubout 2>&1)" "$(openssl x509 -in "$T/ca/ca.crt" -noout -pubkey 2>&1)" \
    "ca.key is the key of ca.crt"
cacrt=$T/ca/ca.crt
subject=$(openssl x509 -in "$cacrt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
is "$(tr ',' '\n' <<<"$subject" | LC_ALL=C sort | paste -sd,)" "CN=DECNET SWARM Root CA,O=DECNET" \
    "CA subject is CN=DECNET SWARM Root CA, O=DECNET"
text=$(openssl x509 -in "$cacrt" -noout -text)
like "$text" 'Public-Key: \(4096 bit\)' "CA key is RSA-4096"
like "$text" 'rsaEncryption' "... an RSA key"
like "$text" 'Signature Algorithm: sha256WithRSAEncryption' "CA certificate is signed with SHA-256"
ext()
{
	openssl x509 -in "$cacrt" -noout -ext "$1" 2>/dev/null | tr -d '\n' | tr -s ' '
}
is "$(ext basicConstraints)" "X509v3 Basic Constraints: critical CA:TRUE, pathlen:0" \
    "basicConstraints CA:TRUE, pathlen 0, critical"
is "$(ext keyUsage)" "X509v3 Key Usage: critical Digital Signature, Certificate Sign, CRL Sign" \
    "keyUsage digitalSignature, keyCertSign, cRLSign, critical"
ok "ca.crt is self-signed and verifies" openssl verify -CAfile "$cacrt" "$cacrt"

# ---- the front-end CA: a root of its own, not signed by the worker CA
front=$T/ca/front-ca.crt
is "$(openssl x509 -in "$front" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
    "CN=DECNET SWARM Front-end CA,O=DECNET" "front-end CA subject is CN=DECNET SWARM Front-end CA, O=DECNET"
ok "front-ca.crt is self-signed" openssl verify -CAfile "$front" "$front"
fails "... and not issued by the worker CA" openssl verify -CAfile "$cacrt" "$front"
isnt "$(openssl x509 -in "$front" -noout -pubkey)" "$(openssl x509 -in "$cacrt" -noout -pubkey)" \
    "... with a key of its own"
is "$(openssl pkey -in "$T/ca/front-ca.key" -pubout 2>&1)" "$(openssl x509 -in "$front" -noout -pubkey 2>&1)" \
    "front-ca.key is the key of front-ca.crt"
nb=$(date -u -d "$(openssl x509 -in "$cacrt" -noout -startdate | sed 's/^notBefore=//')" +%s)
na=$(date -u -d "$(openssl x509 -in "$cacrt" -noout -enddate | sed 's/^notAfter=//')" +%s)
ok "CA validity is ten years" [ $((na - nb)) -ge $((3650 * 86400)) -a $((na - nb)) -le $((3653 * 86400 + 600)) ]

# ---- restart keeps the CA
sum_before=$(cat "$T/ca/ca.crt" "$T/ca/ca.key" "$T/ca/front-ca.crt" "$T/ca/front-ca.key" | sha256sum)
swarmctl_stop
is "$EXIT_STATUS" 0 "swarmctl exits 0 on SIGTERM"
swarmctl_start || bail "swarmctl did not restart"
is "$(cat "$T/ca/ca.crt" "$T/ca/ca.key" "$T/ca/front-ca.crt" "$T/ca/front-ca.key" | sha256sum)" "$sum_before" \
    "a restart changes none of ca.crt, ca.key, front-ca.crt, front-ca.key"
is "$(mode "$T/ca/ca.key")" 600 "... and ca.key is still 0600"
enroll '{"name":"after-restart","address":"192.0.2.71"}'
is "$STATUS" 201 "enrolment works after the restart" || diag "$BODY"
ok "... with the same CA" cmp -s <(json -j .ca_cert_pem) "$T/ca/ca.crt"
ok "keeper's bundle survived the restart" [ "$(cert_fingerprint "$T/ca/workers/keeper/worker.crt")" = "$keeper_fp" ]

# ---- two `swarmctl init` at once, one empty CA directory, one database
CA2=$T/ca2
pg_create_db two
swarmctl_migrate --db "dbname=two" || bail "migrate the second database: $(cat "$T/migrate.out")"
PGUSER=$SWARMCTL_DB_OWNER "$SWARMCTL_BIN" init --ca-dir "$CA2" --db "dbname=two" >"$T/init-two-1.out" 2>&1 &
ipid1=$!
PGUSER=$SWARMCTL_DB_OWNER "$SWARMCTL_BIN" init --ca-dir "$CA2" --db "dbname=two" >"$T/init-two-2.out" 2>&1 &
ipid2=$!
wait "$ipid1"
is "$?" 0 "the first of two simultaneous inits succeeds" || diag "$(cat "$T/init-two-1.out")"
wait "$ipid2"
is "$?" 0 "the second succeeds too" || diag "$(cat "$T/init-two-2.out")"
is "$(cat "$T/init-two-1.out" "$T/init-two-2.out" | grep -c '^created')" 2 \
    "... and between them they created two CAs (one worker, one front-end), not four"
for pid in 1 2; do
	env --default-signal=INT "$SWARMCTL_BIN" serve --listen "unix:$T/two-$pid.sock" --ca-dir "$CA2" \
	    --db "dbname=two" --workers 2 </dev/null >>"$T/swarmctl-two-$pid.log" 2>&1 &
	eval "pid$pid=\$!"
	_track swarmctl "$!"
done
ok "first instance on the new CA dir comes up" swarmctl_wait_ready "$pid1" "$T/two-1.sock"
ok "second instance comes up" swarmctl_wait_ready "$pid2" "$T/two-2.sock"
# A lock file for the creation is fine; a second key pair or a leftover
# temporary file is not.
is "$(find "$CA2" -mindepth 1 -maxdepth 1 ! -name .lock -printf '%P\n' | LC_ALL=C sort | paste -sd' ')" \
    "ca.crt ca.key client-cas.pem client-crls.pem crl.pem front-ca.crt front-ca.key front-crl.pem workers" \
    "the CA dir holds both CAs, their CRLs, nginx's combined copies of both, workers and nothing else (no temporary files)"
is "$(mode "$CA2")" 700 "... and is 0700"
is "$(mode "$CA2/ca.key")" 600 "... with ca.key 0600"
is "$(openssl pkey -in "$CA2/ca.key" -pubout 2>&1)" "$(openssl x509 -in "$CA2/ca.crt" -noout -pubkey 2>&1)" \
    "... whose ca.key belongs to its ca.crt"
is "$(PGDATABASE=two sql "SELECT string_agg(role || ' ' || fingerprint, ',' ORDER BY role) FROM ca_identity")" \
    "front $(cert_fingerprint "$CA2/front-ca.crt"),worker $(cert_fingerprint "$CA2/ca.crt")" \
    "the database records exactly these two CAs"
tls_make_server_cert "$CA2" "$T/tls2"
"$SWARMCTL_BIN" operator issue op2 --out "$T/op2" --ca-dir "$CA2" --db "dbname=two" >"$T/op2.out" 2>&1 ||
    bail "operator certificate from the second CA: $(cat "$T/op2.out")"
for i in 1 2; do
	nginx_spawn "two-$i" "$T/two-$i.sock" "$T/tls2/server.crt" "$T/tls2/server.key" "$CA2" ||
	    bail "nginx in front of instance $i did not start"
	base=https://127.0.0.1:$SPAWNED_PORT
	code=$(curl -sS --cacert "$CA2/front-ca.crt" --cert "$T/op2/op2.crt" --key "$T/op2/op2.key" \
	    --max-time 120 -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"two-$i\",\"address\":\"192.0.2.8$i\"}" \
	    -o "$T/two-$i.json" -w '%{http_code}' "$base/swarm/enroll" 2>"$T/curl.err")
	is "$code" 201 "instance $i enrols" || diag "$(cat "$T/two-$i.json" "$T/curl.err")"
	ok "instance $i serves the one worker CA (ca_cert_pem is ca2/ca.crt)" \
	    cmp -s <(jq -j .ca_cert_pem "$T/two-$i.json") "$CA2/ca.crt"
	ok "instance $i signs with the one worker CA key" \
	    openssl verify -CAfile "$CA2/ca.crt" <(jq -j .worker_cert_pem "$T/two-$i.json")
done
stop_pid "$pid1" TERM 30
is "$EXIT_STATUS" 0 "first instance exits 0 on SIGTERM"
stop_pid "$pid2" TERM 30
is "$EXIT_STATUS" 0 "second instance exits 0 on SIGTERM"

# ---- names that try to leave workers/
# top_listing — the entries of $T that a request could create.
top_listing()
{
	find "$T" -mindepth 1 -maxdepth 1 ! -name body ! -name headers ! -name curl.err \
	    ! -name .ports -printf '%y %P\n' | LC_ALL=C sort
}
top_before=$(top_listing)
ca_before=$(tree_snapshot "$T/ca"; tree_snapshot "$T/ca2")
for n in .. ../../etc/x ../../../swarmctl-escape-probe ../ca2 a/b %2e%2e . / /etc/x 'a\\b' ..%2f..; do
	enroll "{\"name\":\"$n\",\"address\":\"192.0.2.72\"}"
	is "$STATUS" 422 "name \"$n\" is 422"
done
is "$(tree_snapshot "$T/ca"; tree_snapshot "$T/ca2")" "$ca_before" "... nothing changed under either CA_DIR"
is "$(top_listing)" "$top_before" "... nothing appeared beside CA_DIR"
ok "... nothing appeared in /var/tmp" [ ! -e /var/tmp/swarmctl-escape-probe ]
ok "... no /etc/x" [ ! -e /etc/x ]
is "$(host_count)" 2 "... and no row was added (keeper, after-restart)"

# ---- start-up sweep (crash recovery)
swarmctl_stop
mkdir -p "$T/ca/workers/ghost" "$T/ca/workers/.tmp-deadbeef" "$T/outside"
echo junk >"$T/ca/workers/ghost/worker.crt"
echo junk >"$T/ca/workers/.tmp-deadbeef/worker.key"
echo precious >"$T/outside/file"
ln -s "$T/outside" "$T/ca/workers/evil-link"
swarmctl_start || bail "swarmctl did not restart"
ok "the sweep removed the orphan directory workers/ghost (no row)" [ ! -e "$T/ca/workers/ghost" ]
ok "the sweep removed the temporary workers/.tmp-deadbeef" [ ! -e "$T/ca/workers/.tmp-deadbeef" ]
ok "the sweep did not follow a symlink out of workers/" [ "$(cat "$T/outside/file" 2>/dev/null)" = precious ]
ok "the sweep kept keeper's bundle" [ "$(cert_fingerprint "$T/ca/workers/keeper/worker.crt")" = "$keeper_fp" ]
ok "the sweep kept after-restart's bundle" [ -f "$T/ca/workers/after-restart/worker.key" ]
rm -f "$T/ca/workers/evil-link"
enroll '{"name":"ghost","address":"192.0.2.73"}'
is "$STATUS" 201 "enrolling the swept name works" || diag "$BODY"
is "$(cert_fingerprint "$T/ca/workers/ghost/worker.crt" 2>/dev/null)" "$(json .fingerprint)" \
    "... with a fresh bundle"

done_testing
