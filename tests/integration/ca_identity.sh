#!/bin/bash
# ca_identity.sh — a CA is created only by `swarmctl init`, and every
# command refuses a CA directory that is not the database's:
#   - serve, operator issue, server-cert and crl with an empty or mistyped
#     --ca-dir exit 1, say to run `swarmctl init`, and create nothing (no
#     directory, no key, no certificate row);
#   - init (run as the schema's owner: the service role may only read the
#     record) records both CAs' fingerprints in the database; run again it
#     keeps them (same files, same rows);
#   - a CA directory initialised against another database is refused by
#     serve and by the trust commands, with a message naming both
#     fingerprints; init itself refuses to record it over the existing one;
#   - init with a wrong (empty) --ca-dir against a database that already
#     has CAs refuses before creating anything;
#   - without --ca-dir (and $SWARMCTL_CA_DIR) every command looks in the
#     directory that the shipped nginx block names.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout psql

# sc ARGS... — run swarmctl with a time limit; sets RC, OUT, ERR.
sc()
{
	timeout 300 "$SWARMCTL_BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

pg_start || bail "PostgreSQL did not start"
swarmctl_migrate || bail "swarmctl migrate: $(cat "$T/migrate.out")"
CA=$T/ca

# refuses_without_ca DESC ARGS... — the command exits 1, says to run
# init, and leaves no CA directory and no certificate row behind.
refuses_without_ca()
{
	local desc=$1
	shift
	sc "$@"
	is "$RC" 1 "$desc: exits 1 without a CA"
	like "$ERR" "swarmctl init" "$desc: ... and says to run 'swarmctl init'"
	ok "$desc: ... creating no CA directory" test ! -e "$CA"
	is "$(sql 'SELECT count(*) FROM certificates')" 0 "$desc: ... and no certificate row"
}
refuses_without_ca "serve" serve --listen "unix:$T/s.sock" --ca-dir "$CA"
refuses_without_ca "operator issue" operator issue alice --out "$T/ops" --ca-dir "$CA"
ok "operator issue: ... nor its --out directory" test ! -e "$T/ops"
refuses_without_ca "server-cert" server-cert --cn localhost --out "$T/tls" --ca-dir "$CA"
refuses_without_ca "crl" crl --ca-dir "$CA"

# ---- init, by the owner role: the service role may only read the record
sc init --ca-dir "$CA"
is "$RC" 1 "init as the service role ($PGUSER) fails"
like "$ERR" "permission denied for table ca_identity" "... it may not record a CA"
is "$(sql 'SELECT count(*) FROM ca_identity')" 0 "... and recorded none"
rm -rf "$CA"
PGUSER=$SWARMCTL_DB_OWNER sc init --ca-dir "$CA"
is "$RC" 0 "swarmctl init succeeds" || diag "$ERR"
like "$OUT" "created worker CA $CA/ca.crt" "... creating the worker CA"
like "$OUT" "created front CA $CA/front-ca.crt" "... and the front-end CA"
like "$OUT" "sha256 $(cert_fingerprint "$CA/ca.crt")" "... printing the worker CA's fingerprint"
recorded()
{
	sql "SELECT string_agg(role || ' ' || fingerprint, ',' ORDER BY role) FROM ca_identity"
}
expected="front $(cert_fingerprint "$CA/front-ca.crt"),worker $(cert_fingerprint "$CA/ca.crt")"
is "$(recorded)" "$expected" "the database records both CAs' fingerprints"
sums=$(cat "$CA/ca.crt" "$CA/ca.key" "$CA/front-ca.crt" "$CA/front-ca.key" | sha256sum)
PGUSER=$SWARMCTL_DB_OWNER sc init --ca-dir "$CA"
is "$RC" 0 "init again succeeds"
like "$OUT" "kept worker CA" "... keeping the worker CA"
like "$OUT" "kept front CA" "... and the front-end CA"
is "$(cat "$CA/ca.crt" "$CA/ca.key" "$CA/front-ca.crt" "$CA/front-ca.key" | sha256sum)" "$sums" \
    "... files unchanged"
is "$(recorded)" "$expected" "... rows unchanged"
sc crl --ca-dir "$CA"
is "$RC" 0 "crl works once init has run" || diag "$ERR"

# ---- a wrong --ca-dir against a database that has its CAs
PGUSER=$SWARMCTL_DB_OWNER sc init --ca-dir "$T/typo"
is "$RC" 1 "init with an empty --ca-dir against an initialised database exits 1"
like "$ERR" "already has a worker CA \\(fingerprint $(cert_fingerprint "$CA/ca.crt")" \
    "... naming the database's CA"
ok "... and creates nothing there" test ! -e "$T/typo"
is "$(recorded)" "$expected" "... nor in the database"

# ---- a CA directory of another database
pg_create_db other
swarmctl_migrate --db "dbname=other" || diag "$(cat "$T/migrate.out")"
PGUSER=$SWARMCTL_DB_OWNER sc init --ca-dir "$T/other-ca" --db "dbname=other"
is "$RC" 0 "another deployment: init its own CAs in its own database" || diag "$ERR"
other_fp=$(cert_fingerprint "$T/other-ca/ca.crt")
for cmd in "serve --listen unix:$T/x.sock" "crl" "server-cert --cn localhost --out $T/tls-x" \
    "operator issue mallory --out $T/ops-x" "operator revoke alice"; do
	# shellcheck disable=SC2086
	sc $cmd --ca-dir "$T/other-ca"
	is "$RC" 1 "${cmd%% --*}: another deployment's CA directory is refused (exit 1)"
	like "$ERR" "fingerprint $other_fp.*is not this database's worker CA \\(fingerprint $(cert_fingerprint "$CA/ca.crt")" \
	    "${cmd%% --*}: ... with a message naming both fingerprints"
done
ok "nothing was issued from it" test ! -e "$T/ops-x" -a ! -e "$T/tls-x"
is "$(sql 'SELECT count(*) FROM certificates')" 0 "... no certificate row"
ok "serve wrote no CRL into it" test ! -e "$T/other-ca/crl.pem"
PGUSER=$SWARMCTL_DB_OWNER sc init --ca-dir "$T/other-ca"
is "$RC" 1 "init refuses to record another deployment's CA over this database's"
like "$ERR" "not this database's worker CA" "... and says why"
is "$(recorded)" "$expected" "... the recorded CAs are unchanged"

# ---- the default CA directory is the one the shipped nginx block names
nginx_dir=$(sed -n 's|^ *ssl_client_certificate \(.*\)/client-cas\.pem;$|\1|p' "$TOP_SRCDIR/nginx/swarmctl.conf")
is "$nginx_dir" /var/lib/swarmctl/ca "the shipped nginx block names /var/lib/swarmctl/ca"
existed=no
[ -e "$nginx_dir" ] && existed=yes
env -u SWARMCTL_CA_DIR timeout 60 "$SWARMCTL_BIN" crl >"$T/out" 2>"$T/err" </dev/null
is "$?" 1 "crl without --ca-dir refuses (this test database has other CAs)"
# Either "no worker CA in DIR" or "the worker CA in DIR (...) is not
# this database's": both name the directory it looked in.
like "$(cat "$T/err")" "CA in $nginx_dir " \
    "... having looked in the directory the nginx block names"
if [ "$existed" = no ]; then
	ok "... without creating it" test ! -e "$nginx_dir"
fi

done_testing
