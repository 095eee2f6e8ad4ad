#!/bin/bash
# audit.sh — every operator action, refused and failed ones included, is
# in the audit trail, seen from outside: an enrollment (success), the same
# name again (conflict), an invalid one (invalid), an anonymous one
# (refused), a decommission (success) and one of an unknown host
# (not-found) each appear in GET /swarm/audit, newest first, with the
# operator's CN as actor, the SHA-256 of its certificate's DER as
# actor_fingerprint (computed here with openssl), the action, target,
# outcome and client address.  Refusals of clients without a certificate
# are counted, not stored one row each: a flood of anonymous enroll and
# decommission attempts adds at most one row per action a minute, never
# with the target the client chose, and the count reaches the table
# when swarmctl stops; a verified certificate that is not an operator's
# is still audited one row each, by name.  ?limit=N bounds the answer
# (1..1000; 0, non-numbers and 1001 are 422), anonymous readers get 403,
# and the audit_log table refuses UPDATE, DELETE and TRUNCATE.
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
is "$(jq -r '.[2].detail' "$T/audit.json")" "1 refused request without a client certificate" \
    "... the first of the minute written at once, as a count of 1"
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

# ---- anonymous floods are counted, not stored one row each
rows()
{
	sql "SELECT count(*) FROM audit_log"
}
FLOOD=40
before=$(rows)
codes=()
for i in $(seq 1 "$FLOOD"); do
	API_ANON=1 enroll "{\"name\":\"flood-$i\",\"address\":\"192.0.2.34\"}"
	codes+=("$STATUS")
	API_ANON=1 api DELETE "/swarm/hosts/attacker-chosen-$i"
	codes+=("$STATUS")
done
is "$(printf '%s\n' "${codes[@]}" | sort -u | paste -sd' ')" 403 \
    "$((FLOOD * 2)) anonymous enroll and decommission attempts are all 403"
added=$(($(rows) - before))
# The enroll was counted above within the minute; the decommission's
# first refusal is written at once.  A slow run may cross into a new
# minute once.
ok "... and add at most 3 audit rows, not $((FLOOD * 2)) (added $added)" [ "$added" -le 3 ]
is "$(sql "SELECT count(*) FROM audit_log WHERE target LIKE 'attacker-chosen-%' OR target LIKE 'flood-%'")" 0 \
    "... none with a target the client chose"
is "$(sql "SELECT actor || ' ' || outcome || ' ' || coalesce(target, 'null') || ' ' || detail FROM audit_log
    WHERE action = 'decommission' AND actor = 'anonymous' ORDER BY id LIMIT 1")" \
    "anonymous refused null 1 refused request without a client certificate" \
    "the first anonymous decommission is written at once, as a count"

# A certificate nginx verified that is no operator's (any more) names who
# tried: one row each, with its target.  (Worker certificates never get
# this far: nginx accepts client certificates from the front-end CA
# only.)  A revoked operator, nginx not yet reloaded, is such a caller.
operator_issue audited-op || bail "operator certificate audited-op"
"$SWARMCTL_BIN" operator revoke audited-op --ca-dir "$T/ca" >"$T/revoke.out" 2>&1 ||
    diag "$(cat "$T/revoke.out")"
before=$(rows)
for i in 1 2 3; do
	API_AS_CRT=$T/operators/audited-op.crt API_AS_KEY=$T/operators/audited-op.key \
	    api DELETE "/swarm/hosts/worker-try-$i"
done
is "$STATUS" 403 "a revoked operator's decommission attempts are 403"
is "$(($(rows) - before))" 3 "... and each is a row of its own"
is "$(sql "SELECT string_agg(actor || ' ' || target, ',' ORDER BY id) FROM audit_log WHERE target LIKE 'worker-try-%'")" \
    "audited-op worker-try-1,audited-op worker-try-2,audited-op worker-try-3" \
    "... naming the certificate's CN and the target"

# What was counted is written when swarmctl stops (and any time a
# request comes after the minute is up).
swarmctl_stop
is "$EXIT_STATUS" 0 "swarmctl stops cleanly"
counted=$(sql "SELECT coalesce(sum(substring(detail FROM '^([0-9]+) refused')::int), 0) FROM audit_log
    WHERE actor = 'anonymous' AND outcome = 'refused' AND action IN ('enroll', 'decommission')")
is "$counted" $((FLOOD * 2 + 1)) "the summary rows count every anonymous refusal ($((FLOOD * 2 + 1)))"
is "$(sql "SELECT count(*) FROM audit_log WHERE actor = 'anonymous' AND (target IS NOT NULL OR actor_fingerprint IS NOT NULL)")" 0 \
    "no anonymous row has a target or a fingerprint"
is "$(sql "SELECT count(DISTINCT coalesce(client_addr, 'null')) || ' ' || min(client_addr) FROM audit_log WHERE actor = 'anonymous'")" \
    "1 127.0.0.1" "... and each names the one address they all came from"
swarmctl_start || bail "swarmctl did not restart"

done_testing
