#!/bin/bash
# issuance.sh — a worker certificate cannot pass for the controller or for
# another worker, seen from outside through the shipped nginx block:
#   - a worker enrolled with "sans":["localhost","127.0.0.1"] gets a
#     certificate that openssl refuses as a TLS server for those names
#     under the front end's trust anchor (front-ca.crt, what operators and
#     curl use to reach the controller), and curl, trusting that anchor,
#     refuses a real s_server that presents it; trusting the worker CA
#     instead (as peers of workers do) the same server is accepted, so the
#     refusal is the CA split, not a broken server;
#   - DNS names in worker certificates belong to one host: a name or SAN
#     that another enrolled host carries, compared without regard to case
#     (RFC 4343: W-Case and w-case), gets 409 and writes nothing; the name
#     is free again once its host is decommissioned; of concurrent
#     enrollments claiming one SAN exactly one wins; IP addresses may be
#     shared (agents on one machine);
#   - with --worker-san-allow, names and addresses outside the allowed DNS
#     suffixes and IP networks get 422 naming each field; a malformed
#     entry stops serve at start-up.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
require_cmd timeout psql

stack_up_or_die
WORKER_CA=$T/ca/ca.crt
mkdir -p "$T/w"

snapshot()
{
	sql "SELECT name FROM swarm_hosts ORDER BY name"
	sql "SELECT name FROM swarm_host_names ORDER BY name"
	sql "SELECT count(*) FROM certificates"
	tree_snapshot "$T/ca/workers"
}

# save NAME — the last enrollment's certificate and key in $T/w/NAME.*.
save()
{
	json -j .worker_cert_pem >"$T/w/$1.crt"
	(umask 077 && json -j .worker_key_pem >"$T/w/$1.key")
	json -r .host_uuid >"$T/w/$1.uuid"
}

# ---- a worker that claims the controller's names
enroll '{"name":"imp","address":"192.0.2.30","sans":["localhost","127.0.0.1"]}'
is "$STATUS" 201 "a worker with sans localhost and 127.0.0.1 enrolls (existing clients keep working)" ||
    diag "$BODY"
save imp
sans=$(openssl x509 -in "$T/w/imp.crt" -noout -ext subjectAltName)
like "$sans" 'DNS:localhost' "... its certificate names localhost"
like "$sans" 'IP Address:127\.0\.0\.1' "... and 127.0.0.1"
fails "openssl refuses it as a TLS server for localhost under the front end's CA" \
    openssl verify -CAfile "$CACERT" -purpose sslserver -verify_hostname localhost "$T/w/imp.crt"
fails "... and for 127.0.0.1" \
    openssl verify -CAfile "$CACERT" -purpose sslserver -verify_ip 127.0.0.1 "$T/w/imp.crt"
ok "nginx's own certificate does verify under that CA (the anchor is right)" \
    openssl verify -CAfile "$CACERT" -purpose sslserver -verify_ip 127.0.0.1 "$T/tls/server.crt"
ok "the worker CA vouches for the worker, as its peers expect" \
    openssl verify -CAfile "$WORKER_CA" -purpose sslserver -verify_hostname localhost "$T/w/imp.crt"

# A real TLS server with the worker's certificate, and curl as an
# operator's client would be configured (the front end's CA).
port=$(free_port)
mkfifo "$T/stdin.fifo"
exec 3<>"$T/stdin.fifo"
openssl s_server -accept "127.0.0.1:$port" -cert "$T/w/imp.crt" -key "$T/w/imp.key" \
    -www <&3 >"$T/s_server.log" 2>&1 &
spid=$!
exec 3>&-
_track other "$spid"
wait_for 10 port_listening "$port" || diag "s_server did not listen"
curl -sS --max-time 10 --cacert "$CACERT" --resolve "localhost:$port:127.0.0.1" \
    -o /dev/null "https://localhost:$port/" 2>"$T/curl-imp.err"
rc=$?
is "$rc" 60 "curl trusting the front-end CA refuses the impersonating server (exit 60)" ||
    diag "$(cat "$T/curl-imp.err")"
curl -sS --max-time 10 --cacert "$CACERT" -o /dev/null "https://127.0.0.1:$port/" 2>/dev/null
isnt "$?" 0 "... also when it connects to 127.0.0.1"
code=$(curl -sS --max-time 10 --cacert "$WORKER_CA" --resolve "localhost:$port:127.0.0.1" \
    -o /dev/null -w '%{http_code}' "https://localhost:$port/" 2>"$T/curl-imp2.err")
is "$code" 200 "the same server is accepted by a client trusting the worker CA" ||
    diag "$(cat "$T/curl-imp2.err")"
stop_pid "$spid" TERM 5
_untrack "$spid"

# ---- DNS names belong to one host
enroll '{"name":"alpha","address":"192.0.2.31"}'
is "$STATUS" 201 "enroll alpha" || diag "$BODY"
save alpha
rebase
enroll '{"name":"beta","address":"192.0.2.32","sans":["ALPHA"]}'
is_detail 409 "DNS name 'alpha' already belongs to another enrolled host" \
    "another host claiming alpha's name as a SAN (other case) gets 409"
unchanged "SAN taken"
ok "... and no bundle for beta" test ! -e "$T/ca/workers/beta"

enroll '{"name":"W-Case","address":"192.0.2.33"}'
is "$STATUS" 201 "enroll W-Case" || diag "$BODY"
rebase
enroll '{"name":"w-case","address":"192.0.2.34"}'
is "$STATUS" 409 "w-case after W-Case gets 409 (RFC 4343: one DNS name)"
like "$(json -r .detail)" "w-case" "... naming the name"
unchanged "case variant of a name"

enroll '{"name":"gamma","address":"gamma.swarm.test"}'
is "$STATUS" 201 "enroll gamma at a DNS address" || diag "$BODY"
rebase
enroll '{"name":"delta","address":"GAMMA.swarm.test"}'
is "$STATUS" 409 "another host at the same DNS address (other case) gets 409"
unchanged "DNS address taken"
enroll '{"name":"delta","address":"192.0.2.31","agent_port":9000}'
is "$STATUS" 201 "a second agent at alpha's IP address enrolls (IP addresses may be shared)" ||
    diag "$BODY"
enroll '{"name":"epsilon","address":"192.0.2.35","sans":["Eps.Swarm.Test","eps.swarm.test"]}'
is "$STATUS" 201 "a SAN repeated in two cases within one request is one name" || diag "$BODY"
is "$(sql "SELECT string_agg(name, ' ' ORDER BY name) FROM swarm_host_names WHERE host_uuid = '$(json -r .host_uuid)'")" \
    "eps.swarm.test epsilon" "... reserved once, in lower case, with the host name"

api DELETE "/swarm/hosts/$(cat "$T/w/alpha.uuid")"
is "$STATUS" 204 "decommission alpha"
is "$(sql "SELECT count(*) FROM swarm_host_names WHERE name = 'alpha'")" 0 \
    "... which frees its name"
enroll '{"name":"beta","address":"192.0.2.32","sans":["alpha"]}'
is "$STATUS" 201 "now beta may carry the SAN alpha" || diag "$BODY"

# ---- concurrent claims on one SAN: exactly one wins
racers=()
for i in 1 2 3 4 5 6 7 8; do
	curl -sS --http1.1 --cacert "$CACERT" --cert "$OPERATOR_CRT" --key "$OPERATOR_KEY" \
	    --max-time 120 -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"race-$i\",\"address\":\"192.0.2.40\",\"sans\":[\"Shared.Swarm.Test\"]}" \
	    -o /dev/null -w '%{http_code}\n' "$BASE/swarm/enroll" >"$T/race-$i.code" 2>&1 &
	racers+=("$!")
done
wait "${racers[@]}"
is "$(cat "$T"/race-*.code | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' ')" \
    "201x1 409x7" "8 concurrent enrollments claiming one SAN: one 201, seven 409"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name LIKE 'race-%'")" 1 "... one row"
is "$(find "$T/ca/workers" -maxdepth 1 -name 'race-*' | wc -l)" 1 "... one bundle"

# ---- the allow-list
swarmctl_stop
run_serve_bad()
{
	timeout 60 "$SWARMCTL_BIN" serve --listen "unix:$T/bad.sock" --ca-dir "$T/ca" \
	    --worker-san-allow "$1" </dev/null >"$T/bad.out" 2>&1
}
for spec in '*.swarm.test' '10.0.0.0/33' 'a..b' ''; do
	run_serve_bad "$spec"
	rc=$?
	ok "serve refuses --worker-san-allow '$spec' (exit $rc)" [ "$rc" -ne 0 -a "$rc" -ne 124 ]
	like "$(cat "$T/bad.out")" "worker-san-allow" "... naming the option"
done
swarmctl_start --worker-san-allow swarm.test --worker-san-allow 10.0.0.0/8 \
    --worker-san-allow 2001:db8::/32 || bail "swarmctl did not restart with an allow-list"
enroll '{"name":"w1.swarm.test","address":"10.1.2.3","sans":["API.Swarm.Test","2001:db8::5","swarm.test"]}'
is "$STATUS" 201 "with an allow-list, names under it enroll" || diag "$BODY"
rebase
enroll '{"name":"w2","address":"10.1.2.4"}'
is "$STATUS" 422 "a name outside the allowed suffixes gets 422"
is "$(json -c '[.detail[].loc]')" '[["body","name"]]' "... naming the field" || diag "$BODY"
like "$(json -r '.detail[0].msg')" "worker-san-allow" "... and the option"
enroll '{"name":"w3.swarm.test","address":"192.0.2.9","sans":["ok.swarm.test","evilswarm.test","2001:db9::1"]}'
is "$STATUS" 422 "an address and SANs outside the allow-list get 422"
is "$(json -c '[.detail[].loc]')" '[["body","address"],["body","sans",1],["body","sans",2]]' \
    "... one entry each: address, sans[1], sans[2]" || diag "$BODY"
unchanged "names outside the allow-list"
is "$(sql "SELECT count(*) FROM audit_log WHERE action = 'enroll' AND outcome = 'invalid' AND target = 'w2'")" 1 \
    "the refusal is audited"

done_testing
