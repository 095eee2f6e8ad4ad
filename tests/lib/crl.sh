# shellcheck shell=bash
#
# Reading CRLs in the integration tests (sourced after stack.sh): what
# the published CRL lists, its number, and waiting for the publisher
# (which publishes shortly after a revocation commits, not before the
# revoking request is answered: README "Faults").

# serial_norm HEX — a serial as these helpers compare them: upper case,
# no leading zeros.
serial_norm()
{
	local s
	s=$(printf '%s' "$1" | tr 'a-f' 'A-F' | sed 's/^0*//')
	printf '%s\n' "${s:-0}"
}

# cert_serial CERT — the certificate's serial, normalised.
cert_serial()
{
	serial_norm "$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')"
}

# crl_number FILE — the CRL's number, in decimal.
crl_number()
{
	local n
	n=$(openssl crl -in "$1" -noout -crlnumber 2>/dev/null) || return 1
	printf '%d\n' "$((16#${n#crlNumber=0x}))"
}

# crl_serials FILE — the revoked serials, normalised, one a line.
crl_serials()
{
	openssl crl -in "$1" -noout -text |
	    sed -n 's/^ *Serial Number: *\([0-9A-Fa-f]*\)$/\1/p' |
	    tr 'a-f' 'A-F' | sed 's/^0*//'
}

# crl_lists FILE SERIAL... — FILE lists every SERIAL.
crl_lists()
{
	local file=$1 s listed
	shift
	listed=$(crl_serials "$file" 2>/dev/null) || return 1
	for s in "$@"; do
		grep -qx "$(serial_norm "$s")" <<<"$listed" || return 1
	done
}

# crl_fetch FILE — GET /swarm/crl.pem without a certificate into FILE;
# false unless it answered 200.
crl_fetch()
{
	API_ANON=1 api GET /swarm/crl.pem
	[ "$STATUS" = 200 ] && cp "$T/body" "$1"
}

_crl_fetched_lists()
{
	crl_fetch "$T/crl-wait.pem" && crl_lists "$T/crl-wait.pem" "$@"
}

# crl_wait_lists TIMEOUT SERIAL... — wait up to TIMEOUT seconds for GET
# /swarm/crl.pem to list every SERIAL; the last CRL fetched is in
# $T/crl-wait.pem.
crl_wait_lists()
{
	local limit=$1
	shift
	wait_for "$limit" _crl_fetched_lists "$@"
}
