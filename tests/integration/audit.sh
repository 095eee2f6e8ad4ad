#!/bin/bash
# audit.sh — every operator action, refused and failed ones included, is
# in the audit trail, seen from outside: an enrollment (success), the same
# name again (conflict), an invalid one (invalid), an anonymous one
# (refused), a decommission (success) and one of an unknown host
# (not-found) each appear in GET /swarm/audit, newest first, with the
# operator's CN as actor, the SHA-256 of its certificate's DER as
# actor_fingerprint (computed here with openssl), the action, target,
# outcome and client address.  ?limit=N bounds the answer (1..1000; 0,
# non-numbers and 1001 are 422), anonymous readers get 403, and the
# audit_log table refuses UPDATE, DELETE and TRUNCATE.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd psql

stack_up_or_die

OP_FP=$(cert_fingerprint "$OPERATOR_CRT")
like "$OP_FP" '^[0-9a-f]{64}$' "the operator certificate's SHA-256 fingerprint (openssl)"

# ---- the actions
enroll '{"name":"audited-1","address":"192.0.2.30"}'
is "$STATUS" 201 "enroll audited-1: 201" || diag "$BODY"
UUID=$(json -r .host_uuid)
enroll '{"name":"audited-1","address":"192.0.2.31"}'
is "$STATUS" 409 "enroll audited-1 again: 409"
enroll '{"name":"audited-2","address":"192.0.2.32","agent_port":0}'
is "$STATUS" 422 "enroll with agent_port 0: 422"
API_ANON=1 enroll '{"name":"audited-3","address":"192.0.2.33"}'
is "$STATUS" 403 "anonymous enroll: 403"
api DELETE "/swarm/hosts/$UUID"
is "$STATUS" 204 "decommission audited-1: 204"
UNKNOWN=$(uuidgen_lower)
api DELETE "/swarm/hosts/$UNKNOWN"
is "$STATUS" 404 "decommission an unknown uuid: 404"

# ---- what the trail says
api GET /swarm/audit
is "$STATUS" 200 "GET /swarm/audit: 200"
is_json_ct "... with Content-Type application/json"
cp "$T/body" "$T/audit.json"
total=$(json 'length')
ok "... at least the six entries just made (got $total)" [ "${total:-0}" -ge 6 ]

row()
{
	jq -c ".[$1] | [.actor, .actor_fingerprint, .action, .target, .outcome, .client_addr]" \
	    "$T/audit.json"
}
# Newest first.
is "$(row 0)" "[\"test-operator\",\"$OP_FP\",\"decommission\",\"$UNKNOWN\",\"not-found\",\"127.0.0.1\"]" \
    "newest: decommission of the unknown uuid, not-found, by test-operator"
is "$(row 1)" "[\"test-operator\",\"$OP_FP\",\"decommission\",\"$UUID\",\"success\",\"127.0.0.1\"]" \
    "then: decommission of audited-1's uuid, success"
# Refused: nobody to name, no fingerprint.  The body of a refused request
# is never read, so there is no target either (and certainly not whatever
# bytes happened to be in the responder's memory).
is "$(jq -c '.[2] | [.actor_fingerprint, .action, .outcome, .client_addr]' "$T/audit.json")" \
    '[null,"enroll","refused","127.0.0.1"]' "then: the anonymous enroll, refused, without a fingerprint"
isnt "$(jq -r '.[2].actor' "$T/audit.json")" "test-operator" "... not attributed to the operator"
is "$(jq -c '.[2].target' "$T/audit.json")" null "... and with no target (the body was never read)"
is "$(jq -c '.[3] | [.actor, .actor_fingerprint, .action, .outcome, .client_addr]' "$T/audit.json")" \
    "[\"test-operator\",\"$OP_FP\",\"enroll\",\"invalid\",\"127.0.0.1\"]" \
    "then: the invalid enroll, invalid, by test-operator"
is "$(row 4)" "[\"test-operator\",\"$OP_FP\",\"enroll\",\"audited-1\",\"conflict\",\"127.0.0.1\"]" \
    "then: the duplicate enroll of audited-1, conflict"
is "$(row 5)" "[\"test-operator\",\"$OP_FP\",\"enroll\",\"audited-1\",\"success\",\"127.0.0.1\"]" \
    "then: the enroll of audited-1, success"
ok "ids strictly decrease down the list" \
    jq -e '[.[].id] as $i | all(range(1; $i | length); $i[. - 1] > $i[.])' "$T/audit.json"
ok "times never increase down the list" \
    jq -e '[.[].at] as $t | all(range(1; $t | length); $t[. - 1] >= $t[.])' "$T/audit.json"
ok "every entry has id, at, actor, action, outcome" \
    jq -e 'all(.[]; (.id | type) == "number" and (.at | type) == "string" and
        (.actor | type) == "string" and (.action | type) == "string" and
        (.outcome | type) == "string")' "$T/audit.json"
# The operator certificate issued by stack_up is in the trail too.
ok "the CLI's operator-issue of test-operator is in the trail" \
    jq -e 'any(.[]; .action == "operator-issue" and .target == "test-operator" and .outcome == "success")' \
    "$T/audit.json"
is "$(sql "SELECT count(*) FROM audit_log")" "$total" "the API shows every row of audit_log (fewer than 100)"

# ---- limit
api GET "/swarm/audit?limit=2"
is "$STATUS" 200 "?limit=2: 200"
is "$(json 'length')" 2 "... two entries"
is "$(json -c '[.[].id]')" "$(jq -c '[.[0:2][].id]' "$T/audit.json")" "... the two newest"
api GET "/swarm/audit?limit=1000"
is "$STATUS" 200 "?limit=1000: 200"
is "$(json 'length')" "$total" "... every entry"
for q in limit=0 limit=abc limit=1001 limit=-1 "limit=" "limit=2&limit=3"; do
	api GET "/swarm/audit?$q"
	is "$STATUS" 422 "?$q: 422"
	is "$(json -c '.detail[0].loc')" '["query","limit"]' "... naming the query parameter limit"
done
is_json_ct "... with Content-Type application/json"

# ---- anonymous readers
API_ANON=1 api GET /swarm/audit
is_detail 403 "operator certificate required" "anonymous GET /swarm/audit: 403"
API_ANON=1 api GET "/swarm/audit?limit=1"
is_detail 403 "operator certificate required" "anonymous GET /swarm/audit?limit=1: 403"

# ---- append-only
before=$(sql "SELECT count(*) || ' ' || md5(string_agg(id || actor || action || outcome, ',' ORDER BY id)) FROM audit_log")
for stmt in "UPDATE audit_log SET outcome = 'success' WHERE outcome = 'refused'" \
    "UPDATE audit_log SET actor = 'nobody'" \
    "DELETE FROM audit_log WHERE outcome = 'refused'" \
    "DELETE FROM audit_log" \
    "TRUNCATE audit_log"; do
	out=$(sql "$stmt" 2>&1)
	rc=$?
	isnt "$rc" 0 "psql: $stmt fails"
	like "$out" 'append-only' "... because audit_log is append-only" || diag "$out"
done
is "$(sql "SELECT count(*) || ' ' || md5(string_agg(id || actor || action || outcome, ',' ORDER BY id)) FROM audit_log")" \
    "$before" "audit_log is unchanged"
api GET "/swarm/audit?limit=1"
is "$(json -r '.[0].outcome')" not-found "the API still shows the newest entry unchanged"

done_testing
