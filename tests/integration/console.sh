#!/bin/bash
# console.sh — the operator console (ui/, issue 13) in a real headless
# Chromium, through the shipped nginx, with the operator's client
# certificate.  Chromium gets the certificate the way a user's would: the
# .p12 that `swarmctl operator issue` writes, imported with pk12util into
# the NSS database of a private HOME, the front-end CA trusted there, and
# the AutoSelectCertificateForUrls policy (a managed policy file that
# this test writes and removes) so no picker is needed.  The scenarios
# (tests/browser/console.mjs, puppeteer-core pinned in
# tests/browser/package-lock.json, installed with npm ci into the build
# tree): load, list, page, filter, search, host detail, enroll and the
# bundle, CSR enrollment, 422 messages next to their field, a token and
# its worker command, decommission with a dialog naming the host and the
# list updating without a reload, audit filters, a hostile host name and
# notes rendered as text, CSP and the other headers, no inline script,
# and a browser without the certificate refused.  Screenshots go to
# TOP_BUILDDIR/tests/browser/screenshots/ (desktop and 390 px wide).
# Also, with curl: the cross-site checks on state changes (Origin,
# Sec-Fetch-Site), the redirect from /, the headers on the static files.
# Chromium, node, npm or pk12util missing is a failure, not a skip.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

require_cmd chromium node npm pk12util certutil openssl jq curl
stack_up_or_die

BROWSER_DIR=${TOP_BUILDDIR:-$TOP_SRCDIR}/tests/browser
SHOTS=$BROWSER_DIR/screenshots
POLICY_DIR=/etc/chromium/policies/managed
POLICY=$POLICY_DIR/swarmctl-console-test-$$.json

# The policy file is machine-wide: it goes with the test, however it ends.
trap 'rc=$?; rm -f "$POLICY"; (exit $rc); _stack_cleanup' EXIT

# --- npm ci into the build tree (again only when the lock file changed)
mkdir -p "$BROWSER_DIR" "$SHOTS"
if ! cmp -s "$TOP_SRCDIR/tests/browser/package-lock.json" \
    "$BROWSER_DIR/node_modules/.swarmctl-lock.json" 2>/dev/null; then
	cp "$TOP_SRCDIR/tests/browser/package.json" \
	    "$TOP_SRCDIR/tests/browser/package-lock.json" "$BROWSER_DIR/" 2>/dev/null ||
	    [ "$BROWSER_DIR" = "$TOP_SRCDIR/tests/browser" ]
	if (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --ignore-scripts \
	    >"$T/npm.out" 2>&1); then
		cp "$TOP_SRCDIR/tests/browser/package-lock.json" \
		    "$BROWSER_DIR/node_modules/.swarmctl-lock.json"
	else
		not_ok "npm ci installs puppeteer-core" "$(tail -n 20 "$T/npm.out")"
		done_testing
	fi
fi
ok "puppeteer-core is installed (npm ci)" test -d "$BROWSER_DIR/node_modules/puppeteer-core"

# --- the operator's certificate in a private NSS database
export HOME=$T/browser-home
NSSDB=$HOME/.pki/nssdb
mkdir -p "$NSSDB"
: >"$T/p12.pass"
certutil -N -d "sql:$NSSDB" --empty-password >"$T/nss.out" 2>&1 &&
pk12util -i "$T/operators/test-operator.p12" -d "sql:$NSSDB" -W "" \
    >>"$T/nss.out" 2>&1 &&
certutil -A -d "sql:$NSSDB" -n swarmctl-front-ca -t "C,," -i "$CACERT" \
    >>"$T/nss.out" 2>&1
ok "the operator's .p12 and the front-end CA go into a private NSS database" \
    test $? -eq 0 || diag "$(cat "$T/nss.out")"

mkdir -p "$POLICY_DIR"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"%s\\",\\"filter\\":{}}"]}\n' \
    "$BASE" >"$POLICY"
ok "Chromium's managed policy auto-selects the certificate for $BASE" \
    test -s "$POLICY"

# A browser profile with the front-end CA but no certificate.
NOCERT_HOME=$T/nocert-home
mkdir -p "$NOCERT_HOME/.pki/nssdb"
certutil -N -d "sql:$NOCERT_HOME/.pki/nssdb" --empty-password >/dev/null 2>&1 &&
certutil -A -d "sql:$NOCERT_HOME/.pki/nssdb" -n swarmctl-front-ca -t "C,," \
    -i "$CACERT" >/dev/null 2>&1 || bail "NSS database without a certificate"

# --- the stack's contents: a fleet to page through, a hostile host
FLEET=450
sql "INSERT INTO swarm_hosts (name, address, agent_port, status,
    client_cert_fingerprint, cert_bundle_path)
SELECT format('fleet-%s', lpad(i::text, 5, '0')), '192.0.2.1', 8765,
       CASE WHEN i % 3 = 0 THEN 'active' ELSE 'enrolled' END,
       md5(i::text) || md5(i::text), '/nonexistent'
FROM generate_series(1, $FLEET) AS i" >/dev/null || bail "seeding hosts"
ACTIVE=$((FLEET / 3))
HOSTILE_NOTES='<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
HOSTILE_NAME='<img src=x onerror=window.__pwned=3><b>x</b>'
enroll "$(jq -cn --arg n "$HOSTILE_NOTES" \
    '{name:"hostile",address:"192.0.2.66",notes:$n}')"
is "$STATUS" 201 "enrolled the host that will carry a hostile name"
# The API refuses such a name; a row from elsewhere (a restore, an
# older version) must still be harmless in the console.
sql "UPDATE swarm_hosts SET name = '$HOSTILE_NAME' WHERE name = 'hostile'" \
    >/dev/null || bail "renaming the hostile host"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/csr.key" -subj "/CN=csr-01" -out "$T/csr.pem" 2>/dev/null ||
    bail "making a CSR"

# --- with curl: the redirect, the static files' headers, CSRF
api GET /
is "$STATUS" 302 "GET / redirects"
is "$(header Location)" "/swarm/ui/" "... to the console, on the same origin"
api GET /swarm/ui/
is "$STATUS" 200 "GET /swarm/ui/ serves the console"
like "$(header Content-Security-Policy)" "^default-src 'none'; script-src 'self';" \
    "... with the strict Content-Security-Policy"
is "$(header X-Frame-Options)" DENY "... X-Frame-Options DENY"
is "$(header Cache-Control)" no-store "... Cache-Control no-store"
api GET /swarm/ui/main.js
is "$(header Content-Type)" "text/javascript" "modules are served as JavaScript"
api GET /swarm/ui/nothing.js
is_detail 404 "Not Found" "a missing console file is a JSON 404"

body='{"name":"csrf-1","address":"192.0.2.30"}'
audit_refusals()
{
	sql "SELECT count(*) FROM audit_log WHERE action = '$1'
	    AND outcome = 'refused' AND detail = 'cross-site request refused'"
}
api POST /swarm/enroll -H 'Content-Type: application/json' \
    -H 'Origin: https://evil.example' --data-binary "$body"
is_detail 403 "cross-site request refused" \
    "POST with another site's Origin is refused, saying why"
api POST /swarm/enroll -H 'Content-Type: application/json' \
    -H 'Sec-Fetch-Site: cross-site' --data-binary "$body"
is "$STATUS" 403 "POST with Sec-Fetch-Site: cross-site is refused"
api POST /swarm/enroll -H 'Content-Type: application/json' \
    -H "Origin: $BASE" -H 'Sec-Fetch-Site: same-site' --data-binary "$body"
is "$STATUS" 403 "POST with Sec-Fetch-Site: same-site is refused"
api POST /swarm/enroll -H 'Content-Type: application/json' \
    -H 'Origin: null' --data-binary "$body"
is "$STATUS" 403 "POST with Origin: null is refused"
is "$(host_count)" "$((FLEET + 1))" "... and none of them enrolled a host"
is "$(audit_refusals enroll)" 4 "... each audited as a refusal"
api POST /swarm/tokens -H 'Content-Type: application/json' \
    -H 'Origin: https://evil.example' --data-binary "$body"
is "$STATUS" 403 "POST /swarm/tokens cross-site is refused"
uuid=$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'fleet-00001'")
api DELETE "/swarm/hosts/$uuid" -H 'Origin: https://evil.example'
is "$STATUS" 403 "DELETE with another site's Origin is refused"
api GET "/swarm/hosts/$uuid" -H 'Origin: https://evil.example' \
    -H 'Sec-Fetch-Site: cross-site'
is "$STATUS" 200 "... the host is still there (and reads are not refused)"
is "$(audit_refusals decommission)" 1 "... the refusal audited"
API_ANON=1 api DELETE "/swarm/hosts/$uuid" -H 'Sec-Fetch-Site: cross-site'
is "$STATUS" 403 "an anonymous cross-site DELETE is refused too"
api POST /swarm/enroll -H 'Content-Type: application/json' \
    -H "Origin: $BASE" -H 'Sec-Fetch-Site: same-origin' \
    --data-binary '{"name":"csrf-2","address":"192.0.2.31"}'
is "$STATUS" 201 "POST from the console's own origin works"
api POST /swarm/enroll -H 'Content-Type: application/json' \
    --data-binary '{"name":"csrf-3","address":"192.0.2.32"}'
is "$STATUS" 201 "POST without Origin or Sec-Fetch-Site (curl) works"
for n in csrf-2 csrf-3; do
	uuid=$(sql "SELECT uuid FROM swarm_hosts WHERE name = '$n'")
	api DELETE "/swarm/hosts/$uuid" -H "Origin: $BASE"
	is "$STATUS" 204 "DELETE from the console's own origin works ($n)"
done

# --- the browser
rm -f "$SHOTS"/*.png
BASE=$BASE SHOTS=$SHOTS BROWSER_DIR=$BROWSER_DIR HOSTILE_NAME=$HOSTILE_NAME \
HOSTILE_NOTES=$HOSTILE_NOTES FLEET=$FLEET ACTIVE=$ACTIVE \
CSR_FILE=$T/csr.pem NOCERT_HOME=$NOCERT_HOME DOWNLOADS=$T/downloads \
    timeout 300 node "$TOP_SRCDIR/tests/browser/console.cjs" \
    >"$T/browser.out" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) pass "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <"$T/browser.out"
is "$rc" 0 "the browser scenarios end well"
for s in hosts-desktop hosts-phone host-detail enroll-422 enroll-bundle \
    enroll-bundle-phone token decommission-confirm audit; do
	ok "screenshot $s.png saved" test -s "$SHOTS/$s.png"
done

done_testing
