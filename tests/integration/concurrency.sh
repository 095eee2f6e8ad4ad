#!/bin/bash
# concurrency.sh — enrolment is race-free: 20 simultaneous enrolments of
# one name give exactly one 201 and nineteen 409s, one row, and one bundle
# whose certificate is the one whose fingerprint is in the row; distinct
# names enrolled at once all succeed.  And a slow enrolment (RSA-4096
# worker keys) does not block other requests: health checks and listings
# made while enrolments are running all succeed.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

# fire TAG JSON — start one enrolment in the background; its status goes
# to $T/TAG.status and its body to $T/TAG.body.  PIDs collect in FIRED.
FIRED=()
fire()
{
	auth_args
	curl -sS --http1.1 --cacert "$CACERT" "${AUTH[@]}" --max-time 120 -H 'Expect:' \
	    -H 'Content-Type: application/json' --data-binary "$2" \
	    -o "$T/$1.body" -w '%{http_code}' "$BASE/swarm/enroll" \
	    >"$T/$1.status" 2>"$T/$1.err" </dev/null &
	FIRED+=("$!")
}
wait_fired()
{
	local pid
	for pid in "${FIRED[@]}"; do
		wait "$pid"
	done
	FIRED=()
}

# ---- one name, twenty requests
for i in $(seq 1 20); do
	fire "same$i" '{"name":"contested","address":"192.0.2.20"}'
done
wait_fired
# statuses GLOB... — the HTTP codes of the fired requests, one a line.
statuses()
{
	local f
	for f in "$@"; do
		printf '%s\n' "$(cat "$f")"
	done
}
statuses=$(statuses "$T"/same*.status | LC_ALL=C sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' ')
is "$statuses" "201x1 409x19" "20 concurrent enrolments of one name: one 201, nineteen 409"
winner=$(grep -l '^201$' "$T"/same*.status | head -n 1)
winner=${winner%.status}
bad409=
for f in "$T"/same*.status; do
	if [ "$(cat "$f")" = 409 ] &&
	    ! jq -e '.detail == "Worker '"'"'contested'"'"' is already enrolled"' "${f%.status}.body" >/dev/null 2>&1; then
		bad409="$bad409 $(cat "${f%.status}.body")"
	fi
done
is "$bad409" "" "every 409 says \"Worker 'contested' is already enrolled\""
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'contested'")" 1 "... exactly one row"
row_fp=$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = 'contested'")
bundle=$T/ca/workers/contested
ok "... a bundle directory exists" [ -f "$bundle/worker.crt" ]
is "$(cert_fingerprint "$bundle/worker.crt")" "$row_fp" "... the bundle's certificate is the one in the row"
if [ -n "$winner" ]; then
	is "$(jq -r .fingerprint "$winner.body")" "$row_fp" "... and the one returned by the 201"
	jq -j .worker_cert_pem "$winner.body" >"$T/winner.crt"
	ok "... byte for byte" cmp -s "$T/winner.crt" "$bundle/worker.crt"
	is "$(openssl pkey -in "$bundle/worker.key" -pubout 2>&1)" \
	    "$(openssl x509 -in "$bundle/worker.crt" -noout -pubkey 2>&1)" "... with its matching key"
fi
is "$(find "$T/ca" -name '.tmp*' | wc -l)" 0 "... and no temporary files are left"
is "$(find "$T/ca/workers" -mindepth 1 -maxdepth 1 | wc -l)" 1 "... and no other directory in workers/"

# ---- ten names at once
for i in $(seq 1 10); do
	fire "many$i" "{\"name\":\"many-$i\",\"address\":\"192.0.2.$((30 + i))\"}"
done
wait_fired
is "$(statuses "$T"/many*.status | sort -u | paste -sd' ')" 201 "10 concurrent enrolments of distinct names all succeed"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name LIKE 'many-%'")" 10 "... ten rows"
n=0
for i in $(seq 1 10); do
	fp=$(sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE name = 'many-$i'")
	[ -n "$fp" ] && [ "$(cert_fingerprint "$T/ca/workers/many-$i/worker.crt" 2>/dev/null)" = "$fp" ] && n=$((n + 1))
done
is "$n" 10 "... ten bundles, each matching its row"

# ---- slow enrolments do not block reads
swarmctl_stop
swarmctl_start --workers 4 --key-type rsa-4096 || bail "swarmctl did not restart with --key-type rsa-4096"
fire slow1 '{"name":"slow-1","address":"192.0.2.61"}'
fire slow2 '{"name":"slow-2","address":"192.0.2.62"}'
sleep 0.2
good=0
still=0
for i in $(seq 1 10); do
	api GET /health
	[ "$STATUS" = 200 ] && good=$((good + 1))
	api GET /swarm/hosts
	[ "$STATUS" = 200 ] && [ "$(json 'type')" = array ] && good=$((good + 1))
done
for pid in "${FIRED[@]}"; do
	pid_alive "$pid" && still=$((still + 1))
done
diag "enrolments still running after the 20 reads: $still of 2"
is "$good" 20 "20 health and list requests during two RSA-4096 enrolments all succeed"
wait_fired
is "$(cat "$T/slow1.status") $(cat "$T/slow2.status")" "201 201" "... and both enrolments succeed"
jq -j .worker_cert_pem "$T/slow1.body" >"$T/slow1.crt"
like "$(openssl x509 -in "$T/slow1.crt" -noout -text 2>/dev/null)" 'Public-Key: \(4096 bit\)' \
    "... with a 4096-bit worker key (--key-type rsa-4096)"

done_testing
