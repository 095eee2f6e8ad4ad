#!/bin/bash
# overload.sh — more concurrent requests than the responder has workers
# (README "Faults"): they wait in the socket's listen queue, and never
# turn into nginx's 502.
#   - 200 concurrent RSA enrollments through nginx against 4 workers and
#     the default --listen-backlog: every one gets 201 (a queue of 128
#     gave nginx "Resource temporarily unavailable" on connect: 502s);
#   - a queue too short for the load (--workers 1 --listen-backlog 2):
#     each enrollment gets 201 or, at once, a JSON 503 with Retry-After
#     (nginx's connect failed), never a 502, and every 201 has its row;
#   - the responder absent (stopped): the same JSON 503 for a read and an
#     enrollment;
#   - a peer that accepts the connection and then gives no valid answer
#     (nginx pointed at PostgreSQL's socket) is still a JSON 502;
#   - a --listen-backlog above net.core.somaxconn is logged as capped.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die

# ---- 200 concurrent enrollments, default queue: all 201
enroll_burst 200 load
is "$(burst_statuses 200 load)" "200 201" "200 concurrent enrollments against 4 workers: every one 201" ||
    diag "$(grep -h 'connect()' "$T/nginx-main/error.log" | tail -n 3)"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name LIKE 'load-%'")" 200 "... and 200 rows"
like "$(cat "$T/swarmctl.log")" "listen queue: up to 1024 connections wait for a worker" \
    "the log says how many connections may wait (default 1024)"

# ---- a queue too short for the load: 201 or 503 + Retry-After, no 502
swarmctl_stop
swarmctl_start --workers 1 --listen-backlog 2 --key-type rsa-4096 ||
    bail "swarmctl did not restart"
enroll_burst 30 over
got=$(burst_statuses 30 over)
diag "30 enrollments, 1 worker, a queue of 2: $(echo $got)"
# count STATUS — how many of the 30 got STATUS
count()
{
	printf '%s\n' "$got" | awk -v s="$1" '$2 == s { n = $1 } END { print n + 0 }'
}
is "$(count 502)/$(count none)" 0/0 "no enrollment gets a 502 or no answer when the queue is full"
ok "... some get a 503 (the queue was full)" [ "$(count 503)" -gt 0 ]
ok "... and the others are enrolled" [ "$(count 201)" -gt 0 ]
is "$(($(count 201) + $(count 503)))" 30 "... nothing but 201 and 503"
bad=0
created=0
for i in $(seq 1 30); do
	h=$T/burst/over-$i.headers
	case $(burst_status over "$i") in
	201) created=$((created + 1)) ;;
	503)
		[ "$(jq -c . "$T/burst/over-$i.body" 2>/dev/null)" = \
		    '{"detail":"swarmctl responder unavailable or overloaded, retry later"}' ] &&
		    grep -qi '^content-type: application/json' "$h" &&
		    grep -qi '^retry-after: 5' "$h" &&
		    grep -qi '^cache-control: no-store' "$h" ||
		    bad=$((bad + 1))
		;;
	esac
done
is "$bad" 0 "each 503 is JSON {\"detail\": ...} with Retry-After and no-store"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name LIKE 'over-%'")" "$created" \
    "... and exactly the 201s have rows"
like "$(grep -h 'connect()' "$T/nginx-main/error.log" | tail -n 1)" "Resource temporarily unavailable" \
    "nginx's connect found the queue full (EAGAIN)"

# ---- the responder absent
swarmctl_stop
api GET /health
is "$STATUS" 503 "GET /health with the responder stopped: 503"
is "$(json -c .)" '{"detail":"swarmctl responder unavailable or overloaded, retry later"}' "... JSON detail"
is "$(header Retry-After)" 5 "... Retry-After: 5"
is_json_ct "... Content-Type application/json"
enroll '{"name":"absent","address":"192.0.2.9"}'
is "$STATUS" 503 "POST /swarm/enroll with the responder stopped: 503"

# ---- a peer that connects but gives no valid answer: still 502
if nginx_spawn nopeer "$PGHOST/.s.PGSQL.$PGPORT" "$T/tls/server.crt" "$T/tls/server.key"; then
	STATUS=$(curl -sS --cacert "$CACERT" -D "$T/headers" -o "$T/body" -w '%{http_code}' \
	    --max-time 30 "https://127.0.0.1:$SPAWNED_PORT/health" 2>"$T/curl.err")
	BODY=$(cat "$T/body")
	is "$STATUS" 502 "an upstream that accepts and answers garbage: 502"
	is "$(json -c .)" '{"detail":"swarmctl responder gave no valid answer"}' "... JSON detail"
	is "$(header Retry-After)" "" "... without Retry-After"
fi

# ---- a backlog the kernel caps
max=$(cat /proc/sys/net/core/somaxconn)
if [ "$max" -lt 65535 ]; then
	swarmctl_start --listen-backlog 65535 || bail "swarmctl did not restart"
	like "$(cat "$T/swarmctl.log")" "--listen-backlog 65535: net.core.somaxconn caps the queue at $max" \
	    "a --listen-backlog above net.core.somaxconn is logged as capped"
else
	pass "net.core.somaxconn is 65535: nothing to cap"
fi

done_testing
