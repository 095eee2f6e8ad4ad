#!/bin/bash
# key_encoding.sh — every private key swarmctl writes is in its canonical
# encoding and reads in three independent parsers: OpenSSL (`openssl
# pkey -check`), GnuTLS (`certtool -k`) and pyca/cryptography; and it is
# the key of its certificate.  Worker keys of every --key-type, enrolled
# through nginx (serve --key-type T), the CA keys that `swarmctl init
# --ca-key-type` writes for each ECDSA curve, and operator keys.
#   RFC 5915 3: an ECDSA key's privateKey OCTET STRING is exactly the
#     curve's size, 32 octets for P-256 and 48 for P-384 (GnuTLS 3.7 on
#     its own writes 33 for a scalar with its top bit set, half of them,
#     and 31 for one below 2^248; strict parsers refuse both).  Enough
#     keys of each curve are written that both cases are all but certain
#     to come up; the unit test (test_pki) crafts them outright.
#   RFC 8410 7: an Ed25519 CurvePrivateKey is an OCTET STRING of 32.
#   RSA: OpenSSL's parser refuses INTEGERs that are not minimal DER.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

PY=/usr/bin/python3	# Debian's, with python3-cryptography
require_cmd openssl certtool jq "$PY"
if ! "$PY" -c 'import cryptography' 2>/dev/null; then
	not_ok "pyca/cryptography (python3-cryptography) is installed"
	done_testing
fi

stack_up_or_die

KEYS=$T/keys
mkdir -p "$KEYS"

# octets_len FILE — length of the privateKey inside a PKCS#8 PEM file
# as written (asn1parse reads the file's own DER, not a re-encoding):
# ECDSA: ECPrivateKey's OCTET STRING; Ed25519: CurvePrivateKey's.
octets_len()
{
	local off
	off=$(openssl asn1parse -in "$1" 2>/dev/null |
	    sed -n 's/^ *\([0-9]*\):d=1 .*prim: OCTET STRING.*/\1/p' | head -n 1)
	[ -n "$off" ] || return 0
	openssl asn1parse -in "$1" -strparse "$off" 2>/dev/null |
	    sed -n 's/^ *[0-9]*:d=[01] *hl=[0-9]* *l= *\([0-9]*\) prim: OCTET STRING.*/\1/p' |
	    head -n 1
}

# want_len TYPE — the privateKey length RFC 5915 / RFC 8410 give TYPE;
# empty for RSA.
want_len()
{
	case $1 in
	ecdsa-p256|ed25519) echo 32 ;;
	ecdsa-p384) echo 48 ;;
	*) echo ;;
	esac
}

# check_keys WHAT TYPE KEY:CERT... — each key file passes every check;
# one TAP line per check over all of them, naming the files that fail.
check_keys()
{
	local what=$1 type=$2 pair key crt want got
	local bad_openssl= bad_certtool= bad_len= bad_match= bad_rsa=
	shift 2
	want=$(want_len "$type")
	for pair in "$@"; do
		key=${pair%%:*}
		crt=${pair#*:}
		openssl pkey -in "$key" -check -noout >/dev/null 2>&1 ||
		    bad_openssl="$bad_openssl $key"
		certtool -k --infile "$key" >/dev/null 2>&1 ||
		    bad_certtool="$bad_certtool $key"
		if [ -n "$want" ]; then
			got=$(octets_len "$key")
			[ "$got" = "$want" ] || bad_len="$bad_len $key($got)"
		else
			# Every INTEGER of the RSAPrivateKey parses (minimal DER).
			openssl asn1parse -in "$key" -strparse 22 >"$T/rsa.asn1" 2>&1 &&
			    [ "$(grep -c 'prim: INTEGER' "$T/rsa.asn1")" = 9 ] &&
			    ! grep -q 'BAD INTEGER' "$T/rsa.asn1" ||
			    bad_rsa="$bad_rsa $key"
		fi
		cmp -s <(openssl pkey -in "$key" -pubout 2>/dev/null) \
		    <(openssl x509 -in "$crt" -pubkey -noout 2>/dev/null) ||
		    bad_match="$bad_match $key"
	done
	# Each list names the keys that failed: want none.
	is "$bad_openssl" "" "$what: OpenSSL loads and checks all $# keys"
	is "$bad_certtool" "" "$what: GnuTLS (certtool -k) reads all $# keys"
	if [ -n "$want" ]; then
		is "$bad_len" "" "$what: privateKey is exactly $want octets in all $# keys"
	else
		is "$bad_rsa" "" "$what: all nine INTEGERs of all $# keys are minimal DER"
	fi
	is "$bad_match" "" "$what: each key is its certificate's"
	# The third parser, all keys in one run.
	"$PY" - "$@" >"$T/py.out" 2>&1 <<-'EOF'
	import sys
	from cryptography import x509
	from cryptography.hazmat.primitives import serialization as s
	bad = []
	for pair in sys.argv[1:]:
	    key, crt = pair.split(":", 1)
	    try:
	        k = s.load_pem_private_key(open(key, "rb").read(), None)
	        c = x509.load_pem_x509_certificate(open(crt, "rb").read())
	        f = (s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
	        if k.public_key().public_bytes(*f) != c.public_key().public_bytes(*f):
	            bad.append(key + "(mismatch)")
	    except Exception as e:
	        bad.append("%s(%s)" % (key, e))
	print(" ".join(bad))
	EOF
	is "$(cat "$T/py.out")" "" "$what: pyca/cryptography loads all $# keys, each its certificate's"
}

# ---- worker keys of every type, through the real stack
for spec in rsa-2048:3 rsa-3072:2 rsa-4096:2 ecdsa-p256:40 ecdsa-p384:24 ed25519:4; do
	type=${spec%%:*}
	n=${spec#*:}
	swarmctl_stop
	swarmctl_start --key-type "$type" || bail "swarmctl serve --key-type $type did not start"
	pairs=()
	fails=0
	for i in $(seq 1 "$n"); do
		name=$type-$i
		enroll "{\"name\":\"$name\",\"address\":\"192.0.2.$i\"}"
		if [ "$STATUS" != 201 ]; then
			fails=$((fails + 1))
			diag "enroll $name: $STATUS $BODY"
			continue
		fi
		json .worker_key_pem >"$KEYS/$name.key"
		json .worker_cert_pem >"$KEYS/$name.crt"
		pairs+=("$KEYS/$name.key:$KEYS/$name.crt")
		# The bundle kept on disk is the same key, byte for byte.
		cmp -s <(printf '%s\n' "$(cat "$KEYS/$name.key")") \
		    <(printf '%s\n' "$(cat "$T/ca/workers/$name/worker.key")") ||
		    fails=$((fails + 1))
	done
	is "$fails" 0 "$type: $n enrollments answered 201, worker.key as in the bundle"
	check_keys "$type worker keys" "$type" "${pairs[@]}"
done

# ---- operator keys (the front-end CA's), ECDSA
pairs=()
for i in $(seq 1 16); do
	"$SWARMCTL_BIN" operator issue "enc-op-$i" --out "$KEYS/op" \
	    --key-type ecdsa-p256 --ca-dir "$T/ca" >"$T/op.out" 2>&1 ||
	    diag "operator issue enc-op-$i: $(cat "$T/op.out")"
	pairs+=("$KEYS/op/enc-op-$i.key:$KEYS/op/enc-op-$i.crt")
done
check_keys "ecdsa-p256 operator keys" ecdsa-p256 "${pairs[@]}"

# ---- CA keys: `swarmctl init --ca-key-type`, each in a database of its own
n=0
for spec in ecdsa-p256:10 ecdsa-p384:6; do
	type=${spec%%:*}
	pairs=()
	for i in $(seq 1 "${spec#*:}"); do
		n=$((n + 1))
		PGDATABASE=postgres sql "CREATE DATABASE enc$n OWNER $SWARMCTL_DB_OWNER" >/dev/null
		if ! PGDATABASE=enc$n swarmctl_migrate ||
		    ! PGDATABASE=enc$n swarmctl_init "$T/ca-$n" --ca-key-type "$type"; then
			diag "init $type #$i: $(cat "$T/migrate.out" "$T/init.out")"
		fi
		pairs+=("$T/ca-$n/ca.key:$T/ca-$n/ca.crt"
		    "$T/ca-$n/front-ca.key:$T/ca-$n/front-ca.crt")
	done
	check_keys "$type CA keys (ca.key, front-ca.key)" "$type" "${pairs[@]}"
done

done_testing
