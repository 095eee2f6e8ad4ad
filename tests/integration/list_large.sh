#!/bin/bash
# list_large.sh — long host lists: the list is read from PostgreSQL in
# chunks of 500 rows and streamed, so a list of 1,203 hosts (three chunks,
# the last one short) must come back whole, in name order, each host once;
# with ?host_status= the chunks follow the filter; pages (?limit&after)
# walk the same list; the responder's memory does not grow with the
# length of the list; clients hanging up mid-list leave nothing behind.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

stack_up_or_die
require_cmd jq

# Rows shaped like real enrollments (the list reads nothing else); the
# bundle directories are irrelevant to listing.
sql "INSERT INTO swarm_hosts (name, address, agent_port, status,
    client_cert_fingerprint, cert_bundle_path)
SELECT format('host-%s', lpad(i::text, 5, '0')), '192.0.2.1', 8765,
       CASE WHEN i % 3 = 0 THEN 'active' ELSE 'enrolled' END,
       md5(i::text) || md5(i::text), '/nonexistent'
FROM generate_series(1, 1203) AS i" >/dev/null || bail "seeding hosts"

rss()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$SWARMCTL_PID/status"
}

api GET /swarm/hosts
is "$STATUS" 200 "GET /swarm/hosts with 1,203 hosts is 200"
is "$(json 'length')" 1203 "... and lists every host"
is "$(json '[.[].name] | unique | length')" 1203 "... each once"
is "$(json '[.[].name] == ([.[].name] | sort)')" true "... in name order"
is "$(json '.[0].name + " " + .[499].name + " " + .[500].name + " " + .[1202].name')" \
    "host-00001 host-00500 host-00501 host-01203" "... across the chunk boundaries"

api GET '/swarm/hosts?host_status=active'
is "$(json 'length')" 401 "?host_status=active lists the 401 active hosts"
is "$(json '[.[] | select(.status != "active")] | length')" 0 "... and nothing else"

# Walk the list in pages of 250 and compare with the whole list.
after=
pages=0
: >"$T/paged"
while :; do
	if [ -z "$after" ]; then
		api GET '/swarm/hosts?limit=250'
	else
		api GET "/swarm/hosts?limit=250&after=$after"
	fi
	[ "$STATUS" = 200 ] || break
	n=$(json 'length')
	[ "$n" -gt 0 ] || break
	json '.[].name' >>"$T/paged"
	after=$(json '.[-1].name')
	pages=$((pages + 1))
	[ "$pages" -lt 20 ] || break
done
is "$pages" 5 "pages of 250 walk 1,203 hosts in 5 pages"
api GET /swarm/hosts
ok "... and give exactly the whole list" cmp -s "$T/paged" <(json '.[].name')

# Memory: once every worker has listed a few times (their allocators
# warmed up), twenty more full listings must not make the responder grow
# beyond a small margin.
for i in $(seq 1 12); do
	api GET /swarm/hosts
done
before=$(rss)
for i in $(seq 1 20); do
	api GET /swarm/hosts
done
after_rss=$(rss)
# AddressSanitizer's allocator keeps freed memory in quarantine on purpose,
# so resident memory says nothing in the sanitizer build; there
# LeakSanitizer checks at exit instead (below).
if ldd "$SWARMCTL_BIN" | grep -q libasan; then
	diag "sanitizer build: resident memory $before -> $after_rss KiB (not compared)"
else
	ok "resident memory after 20 more listings stays within 2 MiB ($before -> $after_rss KiB)" \
	    test $((after_rss - before)) -lt 2048
fi

# Clients that hang up mid-list: the responder stops writing with the
# next chunk's query already sent, reads that result away and carries on:
# every worker must still answer whole lists afterwards.
auth_args
for i in $(seq 1 12); do
	curl -sS --http1.1 --cacert "$CACERT" "${AUTH[@]}" "$BASE/swarm/hosts" \
	    2>/dev/null | head -c 3000 >/dev/null
done
whole=0
for i in $(seq 1 8); do
	api GET /swarm/hosts
	[ "$STATUS" = 200 ] && [ "$(json 'length')" = 1203 ] && whole=$((whole + 1))
done
is "$whole" 8 "after 12 clients hung up mid-list, 8 more lists are whole"
# The audit list reads its rows another way (single-row mode).
fine=0
for i in $(seq 1 8); do
	api GET '/swarm/audit?limit=5'
	[ "$STATUS" = 200 ] && fine=$((fine + 1))
done
is "$fine" 8 "... and so are 8 audit listings (a streamed query)"
fails "... and no query ever collided with one in flight" \
    grep -q 'another command is already in progress' "$T/swarmctl.log"
diag "responses cut short by the client: $(grep -c 'client went away' "$T/swarmctl.log")"

ok "swarmctl is still running" pid_alive "$SWARMCTL_PID"
swarmctl_stop TERM
is "$EXIT_STATUS" 0 "swarmctl exits 0 on SIGTERM (in the sanitizer build: no leak)"
done_testing
