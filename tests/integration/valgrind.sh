#!/bin/bash
# valgrind.sh — the responder under valgrind's memcheck for a whole
# working session through nginx: enrollments (RSA keys from the generator
# threads and a key pool), a conflict, lists, gets, a decommission with
# its CRL, the audit trail, refused and invalid requests, then SIGTERM.
# memcheck must report no memory errors and no definite leaks, and the
# responder must still exit 0.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"

require_cmd valgrind
# An ECDSA CA: valgrind makes RSA-4096 generation take minutes.
SWARMCTL_WRAPPER="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$T/valgrind.log"
export SWARMCTL_WRAPPER
STACK_CA_KEY_TYPE=ecdsa-p384 stack_up_or_die --key-pool 2 --workers 2
like "$(readlink "/proc/$SWARMCTL_PID/exe")" memcheck "the responder runs under memcheck"

for n in vg-1 vg-2 vg-3; do
	enroll "{\"name\":\"$n\",\"address\":\"192.0.2.44\",\"sans\":[\"$n.example\"],\"notes\":\"under valgrind\"}"
	is "$STATUS" 201 "enrol $n under valgrind" || diag "$BODY"
done
uuid=$(json .host_uuid)
enroll '{"name":"vg-1","address":"192.0.2.44"}'
is "$STATUS" 409 "a duplicate is 409"
enroll '{"name":"../x","address":"bad address"}'
is "$STATUS" 422 "an invalid request is 422"
enroll '{"name":'
is "$STATUS" 400 "malformed JSON is 400"
api GET /swarm/hosts
is "$(json length)" 3 "the list has the three hosts"
api GET '/swarm/hosts?limit=2&after=vg-1'
is "$(json length)" 2 "a page"
api GET "/swarm/hosts/$uuid"
is "$STATUS" 200 "get one"
api DELETE "/swarm/hosts/$uuid"
is "$STATUS" 204 "decommission one"
api GET /swarm/audit?limit=5
is "$STATUS" 200 "the audit trail"
API_ANON=1 api GET /swarm/hosts
is "$STATUS" 403 "an anonymous list is refused"
api GET /swarm/crl.pem
is "$STATUS" 200 "the CRL"

swarmctl_stop TERM
isnt "$EXIT_STATUS" 99 "memcheck found no errors and no definite leaks" ||
    diag "$(head -n 60 "$T/valgrind.log")"
is "$EXIT_STATUS" 0 "the responder exits 0 on SIGTERM under valgrind"
ok "the memcheck log has no 'definitely lost'" \
    sh -c "! grep -q 'definitely lost: [1-9]' '$T/valgrind.log'"
done_testing
