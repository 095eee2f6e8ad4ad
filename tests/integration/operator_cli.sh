#!/bin/bash
# operator_cli.sh — the trust commands against a real PostgreSQL, checked
# with openssl and psql from the outside: `swarmctl operator issue`
# (files, modes, PKCS#12 with and without a password, the certificate
# profile, refusing to overwrite), `operator list`, `operator revoke` by
# name and by fingerprint (the CRL it publishes makes `openssl verify
# -crl_check` reject the certificate), the audit trail and its
# append-only trigger, `server-cert` (a certificate openssl accepts for a
# TLS server, with its SANs) and `crl` (a fresh CRL with a larger
# number).  Nothing here goes through nginx.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout psql stat

# sc ARGS... — run swarmctl with a time limit; sets RC, OUT, ERR.
sc()
{
	timeout 300 "$SWARMCTL_BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

mode_of()
{
	stat -c %a "$1" 2>/dev/null
}

# pubkey_of_p12 FILE PASSIN — the public key of the private key inside.
pubkey_of_p12()
{
	openssl pkcs12 -in "$1" -passin "$2" -nodes -nocerts 2>/dev/null |
	    openssl pkey -pubout 2>/dev/null
}

pubkey_of_crt()
{
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null
}

crl_number()
{
	local n
	n=$(openssl crl -in "$1" -noout -crlnumber 2>/dev/null) || return 1
	printf '%d\n' "$((16#${n#crlNumber=0x}))"
}

# crl_verify CERT — openssl's verdict on CERT against the front-end CA
# (operators' and the server's issuer) and its CRL.
crl_verify()
{
	openssl verify -crl_check -CRLfile "$CA/front-crl.pem" \
	    -CAfile "$CA/front-ca.crt" "$1" 2>&1
}

pg_start || bail "PostgreSQL did not start"
if ! swarmctl_migrate; then
	bail "swarmctl migrate: $(cat "$T/migrate.out")"
fi
CA=$T/ca
OPS=$T/operators

# ---- nothing works before `swarmctl init`, and nothing but init makes a CA
sc operator issue alice --out "$OPS" --ca-dir "$CA"
is "$RC" 1 "operator issue before swarmctl init fails"
like "$ERR" "swarmctl init" "... and says to run 'swarmctl init'"
ok "... creating no CA directory" test ! -e "$CA"
ok "... and no operator files" test ! -e "$OPS"
PGUSER=$SWARMCTL_DB_OWNER sc init --ca-dir "$CA"
is "$RC" 0 "swarmctl init succeeds" || diag "$ERR"
ok "it creates the worker CA" test -s "$CA/ca.crt" -a -s "$CA/ca.key"
ok "... and the front-end CA" test -s "$CA/front-ca.crt" -a -s "$CA/front-ca.key"

# ---- usage errors
sc operator issue alice --ca-dir "$CA"
is "$RC" 2 "operator issue without --out is a usage error (exit 2)"
like "$ERR" "--out" "... naming the missing option"
sc operator frobnicate
is "$RC" 2 "an unknown operator subcommand is a usage error"
sc operator issue ../alice --out "$OPS" --ca-dir "$CA"
isnt "$RC" 0 "a name that could escape --out is refused"
ok "... before anything is written" test ! -e "$OPS"

# ---- operator issue, with a password file
printf 'correct horse\nsecond line is not part of it\n' >"$T/pw"
sc operator issue alice --out "$OPS" --p12-password-file "$T/pw" \
    --ca-dir "$CA"
is "$RC" 0 "operator issue alice succeeds" || diag "$ERR"
for f in alice.crt alice.key alice.p12; do
	ok "$f written" test -s "$OPS/$f"
done
is "$(mode_of "$OPS/alice.crt")" 644 "alice.crt is 0644"
is "$(mode_of "$OPS/alice.key")" 600 "alice.key is 0600"
is "$(mode_of "$OPS/alice.p12")" 600 "alice.p12 is 0600"
is "$(ls -A "$OPS" | LC_ALL=C sort | tr '\n' ' ')" \
    "alice.crt alice.key alice.p12 " "exactly those three files (no temporaries)"
is "$(head -n 1 "$OPS/alice.key")" "-----BEGIN PRIVATE KEY-----" \
    "the key is unencrypted PKCS#8"
FP_ALICE=$(cert_fingerprint "$OPS/alice.crt")
is "$(sed -n 's/^  fingerprint: //p' "$T/out")" "$FP_ALICE" \
    "the printed fingerprint is the SHA-256 of the certificate's DER"
like "$OUT" "alice\.p12" "the output names the PKCS#12 file"

ok "openssl pkcs12 -info accepts alice.p12 with the password file" \
    openssl pkcs12 -info -noout -passin "file:$T/pw" -in "$OPS/alice.p12"
fails "... and refuses a wrong password" \
    openssl pkcs12 -info -noout -passin pass:wrong -in "$OPS/alice.p12"
fails "... and the whole second line as the password" \
    openssl pkcs12 -info -noout \
    -passin "pass:correct horse second line is not part of it" \
    -in "$OPS/alice.p12"
is "$(pubkey_of_p12 "$OPS/alice.p12" "file:$T/pw")" \
    "$(pubkey_of_crt "$OPS/alice.crt")" \
    "the key inside the PKCS#12 belongs to alice.crt"
is "$(openssl pkey -in "$OPS/alice.key" -pubout 2>/dev/null)" \
    "$(pubkey_of_crt "$OPS/alice.crt")" "alice.key belongs to alice.crt"

ok "openssl verify -CAfile front-ca.crt accepts alice.crt" \
    openssl verify -CAfile "$CA/front-ca.crt" "$OPS/alice.crt"
ok "... for TLS client authentication" \
    openssl verify -purpose sslclient -CAfile "$CA/front-ca.crt" "$OPS/alice.crt"
fails "... and not for a TLS server" \
    openssl verify -purpose sslserver -CAfile "$CA/front-ca.crt" "$OPS/alice.crt"
fails "the worker CA (ca.crt) does not vouch for alice.crt" \
    openssl verify -CAfile "$CA/ca.crt" "$OPS/alice.crt"
subject=$(openssl x509 -in "$OPS/alice.crt" -noout -subject -nameopt RFC2253)
is "$subject" "subject=CN=alice,OU=swarm-operator,O=DECNET" \
    "subject CN=alice, OU=swarm-operator, O=DECNET"
eku=$(openssl x509 -in "$OPS/alice.crt" -noout -ext extendedKeyUsage 2>/dev/null)
like "$eku" "critical" "extendedKeyUsage is critical"
is "$(printf '%s\n' "$eku" | tail -n +2 | tr -d ' ')" \
    "TLSWebClientAuthentication" "extendedKeyUsage is clientAuth only"
days=$(( ($(date -d "$(openssl x509 -in "$OPS/alice.crt" -noout -enddate |
    cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
ok "valid for a year by default (364-365 days left: $days)" \
    test "$days" -ge 364 -a "$days" -le 365

# ---- the same name again: nothing is overwritten, nothing recorded
before=$(sha256sum "$OPS"/alice.* | sha256sum)
sc operator issue alice --out "$OPS" --ca-dir "$CA"
isnt "$RC" 0 "issuing alice again into the same --out fails"
like "$ERR" "refusing to overwrite" "... saying it will not overwrite"
is "$(sha256sum "$OPS"/alice.* | sha256sum)" "$before" \
    "... and alice's files are unchanged"
is "$(sql "SELECT count(*) FROM certificates WHERE kind = 'operator'")" 1 \
    "... and no second certificate was recorded"

# ---- a second operator, empty PKCS#12 password, ECDSA, 30 days
sc operator issue bob --out "$OPS" --days 30 --key-type ecdsa-p256 \
    --ca-dir "$CA"
is "$RC" 0 "operator issue bob (empty password, ecdsa-p256, 30 days)" ||
    diag "$ERR"
ok "openssl opens bob.p12 with the empty password" \
    openssl pkcs12 -info -noout -passin pass: -in "$OPS/bob.p12"
is "$(pubkey_of_p12 "$OPS/bob.p12" pass:)" "$(pubkey_of_crt "$OPS/bob.crt")" \
    "the key inside bob.p12 belongs to bob.crt"
days=$(( ($(date -d "$(openssl x509 -in "$OPS/bob.crt" -noout -enddate |
    cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
ok "--days 30 gives 29-30 days ($days)" test "$days" -ge 29 -a "$days" -le 30
FP_BOB=$(cert_fingerprint "$OPS/bob.crt")

# ---- recorded in the certificates table
serial=$(openssl x509 -in "$OPS/alice.crt" -noout -serial | cut -d= -f2 |
    tr 'A-F' 'a-f')
is "$(sql "SELECT serial || '|' || kind || '|' || subject || '|' ||
    (revoked_at IS NULL)::text FROM certificates WHERE fingerprint = '$FP_ALICE'")" \
    "$serial|operator|CN=alice,OU=swarm-operator,O=DECNET|true" \
    "alice's certificate is recorded: serial, kind, subject, not revoked"

# ---- operator list
sc operator list --ca-dir "$CA"
is "$RC" 0 "operator list succeeds"
like "$OUT" "alice +$FP_ALICE +[0-9T:.-]+Z +valid" "it lists alice as valid"
like "$OUT" "bob +$FP_BOB" "it lists bob"

# ---- revoke by name
ok "no CRL before the first revocation" test ! -e "$CA/front-crl.pem"
sc operator revoke alice --ca-dir "$CA"
is "$RC" 0 "operator revoke alice succeeds" || diag "$ERR"
like "$OUT" "$FP_ALICE" "it prints what it revoked"
like "$OUT" "nginx -s reload" "it says to reload nginx"
sc operator list --ca-dir "$CA"
like "$OUT" "alice +$FP_ALICE +[0-9T:.-]+Z +revoked " "list shows alice revoked"
like "$OUT" "bob +$FP_BOB +[0-9T:.-]+Z +valid" "... and bob still valid"
is "$(sql "SELECT reason FROM certificates WHERE fingerprint = '$FP_ALICE'")" \
    unspecified "the database has alice revoked"

ok "CA_DIR/front-crl.pem was published" test -s "$CA/front-crl.pem"
is "$(mode_of "$CA/front-crl.pem")" 644 "front-crl.pem is 0644"
crl_check=$(openssl crl -in "$CA/front-crl.pem" -CAfile "$CA/front-ca.crt" -noout 2>&1)
is "$crl_check" "verify OK" "openssl verifies the CRL's signature with front-ca.crt"
verdict=$(crl_verify "$OPS/alice.crt")
isnt "$?" 0 "openssl verify -crl_check rejects alice.crt"
like "$verdict" "certificate revoked" "... as 'certificate revoked'"
ok "openssl verify -crl_check still accepts bob.crt" \
    openssl verify -crl_check -CRLfile "$CA/front-crl.pem" -CAfile "$CA/front-ca.crt" \
    "$OPS/bob.crt"

# ---- revoke by fingerprint (any case)
number_before=$(crl_number "$CA/front-crl.pem")
sc operator revoke "$(printf '%s' "$FP_BOB" | tr 'a-f' 'A-F')" --ca-dir "$CA"
is "$RC" 0 "operator revoke by (upper-case) fingerprint succeeds" || diag "$ERR"
like "$(crl_verify "$OPS/bob.crt")" "certificate revoked" \
    "bob.crt is revoked in the new CRL"
like "$(crl_verify "$OPS/alice.crt")" "certificate revoked" \
    "... and alice.crt still is"
ok "the CRL number grew ($number_before -> $(crl_number "$CA/front-crl.pem"))" \
    test "$(crl_number "$CA/front-crl.pem")" -gt "$number_before"

# ---- revoke what is not there
sc operator revoke nobody --ca-dir "$CA"
isnt "$RC" 0 "revoking an unknown operator exits non-zero"
like "$ERR" "no unrevoked operator certificate" "... with a message"
sc operator revoke alice --ca-dir "$CA"
isnt "$RC" 0 "revoking alice twice exits non-zero"

# ---- the audit trail
audit()
{
	sql "SELECT actor || '|' || action || '|' || coalesce(target, '') ||
	    '|' || outcome FROM audit_log ORDER BY id"
}
trail=$(audit)
like "$trail" "cli\|operator-issue\|alice\|success" \
    "audit_log: operator-issue alice"
like "$trail" "cli\|operator-revoke\|alice\|success" \
    "audit_log: operator-revoke alice"
like "$trail" "cli\|operator-revoke\|nobody\|not-found" \
    "audit_log: the failed revocation is there too"
like "$(sql "SELECT detail FROM audit_log WHERE action = 'operator-revoke'
    AND outcome = 'success' AND target = 'alice'")" "$FP_ALICE" \
    "audit_log: the revocation names the fingerprint it revoked"
rows=$(sql 'SELECT count(*) FROM audit_log')
for stmt in "UPDATE audit_log SET outcome = 'success'" \
    "DELETE FROM audit_log" "TRUNCATE audit_log"; do
	msg=$(sql "$stmt" 2>&1)
	isnt "$?" 0 "audit_log refuses: $stmt"
	like "$msg" "append-only" "... the trigger says why"
done
is "$(sql 'SELECT count(*) FROM audit_log')" "$rows" \
    "audit_log still has all $rows rows"
is "$(audit)" "$trail" "... unchanged"

# ---- server-cert
sc server-cert --cn localhost --san 127.0.0.1 --san ::1 --out "$T/tls" \
    --key-type ecdsa-p256 --ca-dir "$CA"
is "$RC" 0 "server-cert succeeds" || diag "$ERR"
is "$(mode_of "$T/tls/server.crt")" 644 "server.crt is 0644"
is "$(mode_of "$T/tls/server.key")" 600 "server.key is 0600"
ok "openssl verify -purpose sslserver accepts server.crt" \
    openssl verify -purpose sslserver -CAfile "$CA/front-ca.crt" "$T/tls/server.crt"
fails "... but not as a TLS client certificate" \
    openssl verify -purpose sslclient -CAfile "$CA/front-ca.crt" "$T/tls/server.crt"
fails "the worker CA (ca.crt) does not vouch for server.crt" \
    openssl verify -CAfile "$CA/ca.crt" "$T/tls/server.crt"
sans=$(openssl x509 -in "$T/tls/server.crt" -noout -ext subjectAltName | tail -n +2)
like "$sans" "IP Address:127\.0\.0\.1" "SAN IP 127.0.0.1"
like "$sans" "IP Address:0:0:0:0:0:0:0:1" "SAN IP ::1"
like "$sans" "DNS:localhost" "SAN DNS:localhost (the CN)"
is "$(pubkey_of_crt "$T/tls/server.crt")" \
    "$(openssl pkey -in "$T/tls/server.key" -pubout 2>/dev/null)" \
    "server.key belongs to server.crt"
FP_SERVER=$(cert_fingerprint "$T/tls/server.crt")
is "$(sql "SELECT kind FROM certificates WHERE fingerprint = '$FP_SERVER'")" \
    server "the server certificate is recorded (kind server)"
sc server-cert --cn localhost --out "$T/tls" --key-type ecdsa-p256 --ca-dir "$CA"
is "$RC" 0 "server-cert again (a renewal) succeeds"
isnt "$(cert_fingerprint "$T/tls/server.crt")" "$FP_SERVER" \
    "... and replaces server.crt"
is "$(ls -A "$T/tls" | LC_ALL=C sort | tr '\n' ' ')" "server.crt server.key " \
    "... leaving no temporary files"

# ---- crl
number_before=$(crl_number "$CA/front-crl.pem")
sc crl --ca-dir "$CA"
is "$RC" 0 "swarmctl crl succeeds" || diag "$ERR"
number_after=$(crl_number "$CA/front-crl.pem")
ok "it publishes a larger CRL number ($number_before -> $number_after)" \
    test "$number_after" -gt "$number_before"
like "$OUT" "published $CA/crl.pem .*published $CA/front-crl.pem" \
    "... for both CAs: crl.pem (workers) and front-crl.pem (operators)"
is "$(openssl crl -in "$CA/crl.pem" -CAfile "$CA/ca.crt" -noout 2>&1)" \
    "verify OK" "crl.pem is signed by the worker CA"
unlike "$(openssl crl -in "$CA/crl.pem" -noout -text)" \
    "$(openssl x509 -in "$OPS/alice.crt" -noout -serial | cut -d= -f2)" \
    "... and does not list alice (the front-end CA's)"
left=$(( $(date -d "$(openssl crl -in "$CA/front-crl.pem" -noout -nextupdate |
    cut -d= -f2)" +%s) - $(date +%s) ))
ok "nextUpdate is 7 days ahead by default ($left s)" \
    test "$left" -gt $((7 * 86400 - 120)) -a "$left" -le $((7 * 86400))
sc crl --ca-dir "$CA" --next-update-days 2
left=$(( $(date -d "$(openssl crl -in "$CA/front-crl.pem" -noout -nextupdate |
    cut -d= -f2)" +%s) - $(date +%s) ))
ok "--next-update-days 2 gives 2 days ($left s)" \
    test "$left" -gt $((2 * 86400 - 120)) -a "$left" -le $((2 * 86400))
like "$(crl_verify "$OPS/alice.crt")" "certificate revoked" \
    "the fresh CRL still revokes alice"

# ---- --ca-dir defaults to $SWARMCTL_CA_DIR
number_before=$(crl_number "$CA/front-crl.pem")
SWARMCTL_CA_DIR=$CA sc crl
is "$RC" 0 "swarmctl crl without --ca-dir uses \$SWARMCTL_CA_DIR" ||
    diag "$ERR"
ok "... and publishes there" \
    test "$(crl_number "$CA/front-crl.pem")" -gt "$number_before"

# ---- a database that was never migrated
pg_create_db behind
sc operator list --db "dbname=behind"
isnt "$RC" 0 "operator list refuses a database whose schema is behind"
like "$ERR" "swarmctl migrate" "... and says to run 'swarmctl migrate'"
sc operator issue carol --out "$T/carol" --db "dbname=behind" --ca-dir "$CA"
isnt "$RC" 0 "operator issue refuses it too"
ok "... without writing any file" test ! -e "$T/carol/carol.crt"

done_testing
