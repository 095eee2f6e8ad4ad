#!/bin/bash
# serial_auth.sh — the shipped nginx block identifies a client by the
# verified certificate's serial and issuer (SSL_CLIENT_M_SERIAL,
# SSL_CLIENT_I_DN) instead of shipping its PEM with every request; the
# responder then decides from the certificates table.  Spoken straight
# to the responder's socket as root (a peer it trusts like nginx, see
# README "Threat model"):
#   - an operator's serial with the front-end CA's issuer is an operator,
#     in any case and with or without leading zeros;
#   - the same serial named with another issuer (the worker CA), a
#     worker's serial, an unknown serial, or a revoked operator's serial
#     is refused (403), and a revoked operator is still named in the
#     audit trail;
#   - a serial that is not 1-40 hex digits is a 400;
# and through nginx an operator works with nothing but that.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd cgi-fcgi psql

stack_up_or_die

front_dn=$(openssl x509 -in "$T/ca/front-ca.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
worker_dn=$(openssl x509 -in "$T/ca/ca.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
serial_of()
{
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}
op_serial=$(serial_of "$OPERATOR_CRT")

# as SERIAL ISSUER [PARAM=VALUE...] — GET /swarm/hosts with that identity.
as()
{
	local serial=$1 issuer=$2
	shift 2
	fcgi "$SOCK" PATH_INFO=/swarm/hosts SSL_CLIENT_VERIFY=SUCCESS \
	    "SSL_CLIENT_M_SERIAL=$serial" "SSL_CLIENT_I_DN=$issuer" "$@"
}

api GET /swarm/hosts
is "$STATUS" 200 "through nginx, the operator is recognised (the block passes serial and issuer)"

as "$op_serial" "$front_dn"
is "$FCGI_STATUS" 200 "the operator's serial and the front-end CA's name: an operator"
as "$(printf '%s' "$op_serial" | tr 'A-F' 'a-f')" "$front_dn"
is "$FCGI_STATUS" 200 "... in lower case too"
as "0000$op_serial" "$front_dn"
is "$FCGI_STATUS" 200 "... and with leading zeros"
as "$op_serial" "$worker_dn"
is "$FCGI_STATUS" 403 "the same serial under the worker CA's name is refused"
as "$op_serial" ""
is "$FCGI_STATUS" 403 "... and with no issuer"
as "$op_serial" "$front_dn" SSL_CLIENT_VERIFY=FAILED:certificate
is "$FCGI_STATUS" 403 "... and when the front end did not verify it"

enroll '{"name":"serial-w","address":"192.0.2.50"}'
is "$STATUS" 201 "enroll a worker" || diag "$BODY"
json -j .worker_cert_pem >"$T/w.crt"
as "$(serial_of "$T/w.crt")" "$front_dn"
is "$FCGI_STATUS" 403 "a worker's serial is no operator's"
as "$(serial_of "$T/w.crt")" "$worker_dn"
is "$FCGI_STATUS" 403 "... under its own CA's name either"
as "0123456789ABCDEF0123456789ABCDEF" "$front_dn"
is "$FCGI_STATUS" 403 "an unknown serial is refused"

as "12G4" "$front_dn"
is "$FCGI_STATUS" 400 "a serial that is not hexadecimal is a 400"
as "$(rep 1 41)" "$front_dn"
is "$FCGI_STATUS" 400 "... and one of more than 20 octets"

operator_issue op-gone || bail "second operator"
gone_serial=$(serial_of "$T/operators/op-gone.crt")
as "$gone_serial" "$front_dn"
is "$FCGI_STATUS" 200 "a second operator is recognised"
"$SWARMCTL_BIN" operator revoke op-gone --ca-dir "$T/ca" >"$T/revoke.out" 2>&1 ||
    diag "$(cat "$T/revoke.out")"
as "$gone_serial" "$front_dn"
is "$FCGI_STATUS" 403 "once revoked, at once refused (the cached decision is dropped)"
fcgi "$SOCK" PATH_INFO=/swarm/hosts/00000000-0000-0000-0000-000000000000 \
    REQUEST_METHOD=DELETE SSL_CLIENT_VERIFY=SUCCESS \
    "SSL_CLIENT_M_SERIAL=$gone_serial" "SSL_CLIENT_I_DN=$front_dn"
is "$FCGI_STATUS" 403 "a revoked operator's decommission is refused"
is "$(sql "SELECT actor || ' ' || outcome FROM audit_log WHERE action = 'decommission' ORDER BY id DESC LIMIT 1")" \
    "op-gone refused" "... and the audit trail names who tried"

done_testing
