#!/bin/bash
# pkcs11.sh — CA keys on a PKCS#11 token (issue 12), against SoftHSM2:
# a token initialised in the test's directory, `swarmctl init --ca-key
# URL --front-ca-key URL` generating both CA keys on it, then the whole
# stack on those keys: enrollment, decommission with the CRL published
# and verifying against the CA, a restart of serve and enrollment again,
# the signer still confined.  No file anywhere under the CA directory or
# the test's directory holds either CA's private key (every PEM private
# key found is compared with the CA certificates' public keys), and
# CA_DIR holds the URL files instead of ca.key and front-ca.key.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
# shellcheck source=../lib/crl.sh
. "$TOP_SRCDIR/tests/lib/crl.sh"

require_cmd softhsm2-util
require_cmd openssl

mkdir -p "$T/tokens"
export SOFTHSM2_CONF=$T/softhsm2.conf
cat >"$SOFTHSM2_CONF" <<CONF
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
CONF
softhsm2-util --init-token --free --label swarm-ca --so-pin 97531 --pin 24680 \
    >"$T/softhsm.out" 2>&1
is "$?" 0 "a SoftHSM2 token is initialised" || diag "$(cat "$T/softhsm.out")"
echo 24680 >"$T/pin"
chmod 600 "$T/pin"
W="pkcs11:token=swarm-ca;object=swarm-worker-ca;pin-value=24680"
F="pkcs11:token=swarm-ca;object=swarm-front-ca;pin-value=24680"

export STACK_CA_KEY_TYPE=ecdsa-p256
export STACK_INIT_ARGS="--ca-key $W --front-ca-key $F"
stack_up_or_die
pass "init made both CAs with keys on the token, serve and nginx came up on them"

ls "$T/ca" >"$T/ca.ls"
is "$(grep -cx -e ca.key -e front-ca.key "$T/ca.ls")" 0 "CA_DIR has no ca.key and no front-ca.key"
is "$(cat "$T/ca/ca.key.pkcs11")" "$W" "CA_DIR/ca.key.pkcs11 holds the worker CA key's URL"
is "$(stat -c %a "$T/ca/ca.key.pkcs11")" 600 "the URL file is 0600 (its PIN)"

# no_ca_key_anywhere DESC — no PEM private key under $T is a CA's key.
no_ca_key_anywhere()
{
	local f found= ca_pubs
	ca_pubs=$(for c in ca.crt front-ca.crt; do
		openssl x509 -in "$T/ca/$c" -noout -pubkey
	done)
	while IFS= read -r f; do
		pub=$(openssl pkey -in "$f" -pubout 2>/dev/null) || continue
		if [ -n "$pub" ] && grep -qF -- "$(echo "$pub" | sed -n 2p)" <<<"$ca_pubs"; then
			found="$found $f"
		fi
	done < <(grep -rlF -- 'PRIVATE KEY-----' "$T" --exclude-dir=pg --exclude-dir=tokens 2>/dev/null)
	is "$found" "" "$1"
}
no_ca_key_anywhere "no file under the test's directory holds a CA private key"
like "$(grep -rlF -- 'PRIVATE KEY-----' "$T" --exclude-dir=pg --exclude-dir=tokens | wc -l)" '^[1-9]' \
    "(the search does see the operator's and workers' key files)"

enroll '{"name":"hsm-1","address":"192.0.2.91"}'
is "$STATUS" 201 "enrollment signed by the token's worker CA key" || diag "$BODY"
UUID=$(json .host_uuid)
is "$(openssl verify -CAfile "$T/ca/ca.crt" "$T/ca/workers/hsm-1/worker.crt" 2>&1)" \
    "$T/ca/workers/hsm-1/worker.crt: OK" "the worker certificate verifies against the CA"
serial=$(cert_serial "$T/ca/workers/hsm-1/worker.crt")

api DELETE "/swarm/hosts/$UUID"
is "$STATUS" 204 "decommission" || diag "$BODY"
ok "the published CRL lists the revoked serial" wait_for 15 crl_lists "$T/ca/crl.pem" "$serial"
like "$(openssl crl -in "$T/ca/crl.pem" -CAfile "$T/ca/ca.crt" -noout 2>&1)" 'verify OK' \
    "the CRL verifies against the worker CA (signed on the token)"

sp=$(ps -o pid=,args= --ppid "$SWARMCTL_PID" | awk '$3 == "signer" { print $1 }')
is "$(awk '/^Seccomp:/ { print $2 }' "/proc/$sp/status" 2>/dev/null)" 2 "the signer is confined with a token too"

swarmctl_stop
swarmctl_start || { not_ok "serve restarts on the token"; done_testing; }
enroll '{"name":"hsm-2","address":"192.0.2.92"}'
is "$STATUS" 201 "after a restart, enrollment on the token again" || diag "$BODY"
"$SWARMCTL_BIN" operator issue hsm-op --out "$T/operators" --ca-dir "$T/ca" >"$T/op.out" 2>&1
is "$?" 0 "swarmctl operator issue signs with the token's front CA key" || diag "$(cat "$T/op.out")"
is "$(openssl verify -CAfile "$T/ca/front-ca.crt" "$T/operators/hsm-op.crt" 2>&1)" \
    "$T/operators/hsm-op.crt: OK" "the operator certificate verifies against the front CA"
no_ca_key_anywhere "still no CA private key in any file after all that"

done_testing
