#!/bin/bash
# ratelimit.sh — the shipped nginx configuration's limit on state
# changes, with its shipped value (the other tests lift it): enroll and
# decommission requests of one operator certificate pass in a burst of 5
# (plus the one the rate allows) and are then refused by nginx with 429
# and a JSON {"detail": ...} body before they reach swarmctl (the audit
# trail shows only the ones that passed); clients without a certificate
# have a budget of their own, per address: a burst of anonymous POSTs
# from the operator's own address is throttled without using up the
# operator's budget, and another operator certificate still has its
# whole budget when the first has spent its own; reads (GET) are never
# limited.
set -u
NGINX_CHANGE_RATE=20r/m		# the shipped defaults, before stack_up
NGINX_CHANGE_BURST=5
export NGINX_CHANGE_RATE NGINX_CHANGE_BURST
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd psql

stack_up_or_die

ok "the nginx configuration under test has the shipped rate limit (rate=20r/m)" \
    grep -q 'rate=20r/m;' "$T/nginx-main/swarmctl.conf"
ok "... and the shipped burst (burst=5)" \
    grep -q 'limit_req zone=swarmctl_changes burst=5 nodelay;' "$T/nginx-main/swarmctl.conf"
ok "... for clients without a certificate too" \
    grep -q 'limit_req zone=swarmctl_anonymous burst=5 nodelay;' "$T/nginx-main/swarmctl.conf"
operator_issue second-operator || bail "no second operator certificate"

# invalid enrollments: cheap for swarmctl (422, nothing written), but
# each one is a POST, which is what nginx counts.
audited()
{
	sql "SELECT count(*) FROM audit_log WHERE action = 'enroll' AND outcome = 'invalid'"
}
is "$(audited)" 0 "no enroll attempt in the audit trail yet"
before_rows=$(host_count)

# The limit refills one request every 3 s (20r/m).  A request that ends
# within WINDOW ms of the first one's start cannot have been given a new
# one; later ones (only on a very slow machine) may, so for them either
# answer is accepted and said so.
now_ms()
{
	date +%s%3N
}
WINDOW=2800
START=$(now_ms)
# limited DESC — the last request was 429, or it came after WINDOW.
limited()
{
	local late=$(($(now_ms) - START))
	if [ "$late" -lt "$WINDOW" ]; then
		is "$STATUS" 429 "$1 (${late} ms after the first): 429"
	else
		diag "slow run: $1 came ${late} ms after the first, a token may have refilled"
		like "$STATUS" '^(429|2[0-9][0-9]|4[0-9][0-9])$' "$1: 429 or, this late, let through"
	fi
}

# Anonymous changes from the operators' own address (127.0.0.1): they
# reach swarmctl (403) in a burst of 5 plus 1, then nginx throttles them
# -- in a budget of their own.
anon=()
for i in $(seq 1 8); do
	API_ANON=1 enroll "{\"name\":\"anon-$i\",\"address\":\"192.0.2.69\"}"
	anon+=("$STATUS")
	if [ "$i" -gt 6 ]; then
		limited "anonymous enrollment $i"
	fi
done
diag "anonymous statuses: ${anon[*]}"
is "${anon[*]:0:6}" "403 403 403 403 403 403" "the first 6 anonymous enrollments reach swarmctl (403)"
[ "${anon[7]}" = 429 ] && is_json_ct "... the throttled ones get nginx's JSON 429"

# The operator, from the same address, right after: its own budget.
START=$(now_ms)
codes=()
for i in $(seq 1 12); do
	enroll "{\"name\":\"rl-$i\",\"address\":\"192.0.2.70\",\"agent_port\":0}"
	codes+=("$STATUS")
	if [ "$i" -gt 6 ]; then
		limited "enrollment $i"
	fi
	if [ "$STATUS" = 429 ]; then
		cp "$T/body" "$T/body.429"
		cp "$T/headers" "$T/headers.429"
	fi
done
elapsed=$(($(now_ms) - START))
diag "statuses: ${codes[*]} (${elapsed} ms)"
passed=0
throttled=0
for c in "${codes[@]}"; do
	case $c in
	422) passed=$((passed + 1)) ;;
	429) throttled=$((throttled + 1)) ;;
	esac
done
is "$((passed + throttled))" 12 "every one of 12 quick enrollments is 422 (reached swarmctl) or 429"
is "${codes[*]:0:6}" "422 422 422 422 422 422" "the first 6 (1 + burst 5) reach swarmctl"
ok "no more than 6 pass, plus one per 3 s elapsed (got $passed in ${elapsed} ms)" \
    [ "$passed" -le $((6 + elapsed / 3000)) ]
ok "the rest are limited with 429 (got $throttled)" [ "$throttled" -ge $((6 - elapsed / 3000)) ]
is "$(audited)" "$passed" "swarmctl saw exactly the ones nginx let through (audit trail)"

# Budgets are per certificate: another operator has all of its own.
API_AS_CRT=$T/operators/second-operator.crt API_AS_KEY=$T/operators/second-operator.key \
    enroll '{"name":"rl-second","address":"192.0.2.72","agent_port":0}'
is "$STATUS" 422 "another operator's enrollment right after reaches swarmctl (422, not 429)"

# Decommission counts too (same key: the client address), and a valid
# enrollment is limited the same way.
api DELETE "/swarm/hosts/$(uuidgen_lower)"
limited "DELETE /swarm/hosts/{uuid} right after"
[ "$STATUS" = 429 ] && is_json_ct "... with a JSON body"
enroll '{"name":"rl-valid","address":"192.0.2.71"}'
limited "a valid enrollment right after"
if [ "$STATUS" = 429 ]; then
	is "$(host_count)" "$before_rows" "... and it is not enrolled"
	ok "... no bundle for it" test ! -e "$T/ca/workers/rl-valid"
fi

# The 429 itself.
cp "$T/body.429" "$T/body"
cp "$T/headers.429" "$T/headers"
is_json_ct "429 has Content-Type application/json"
is "$(json -r '.detail | type')" string "429 body is {\"detail\": \"...\"}"
is "$(json -c 'keys')" '["detail"]' "... and nothing else"

# Reads are never limited.
gets=()
for i in $(seq 1 30); do
	api GET /swarm/hosts
	gets+=("$STATUS")
done
is "$(printf '%s\n' "${gets[@]}" | sort -u | paste -sd' ')" 200 "30 quick GET /swarm/hosts are all 200"
api GET /health
is "$STATUS" 200 "GET /health is 200 while changes are limited"

done_testing
