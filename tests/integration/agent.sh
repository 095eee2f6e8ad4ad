#!/bin/bash
# agent.sh — the worker's side of issue 11, end to end through the shipped
# nginx: an operator creates a token; `swarmctl agent enroll` refuses a
# controller whose CA has the wrong fingerprint before the token is sent
# (the token stays unused), then enrolls with the token from standard
# input; key 0600, certificate for that key, both CAs; replay and expiry
# refused (77).  `agent heartbeat` makes the host active with the agent's
# version; `agent renew` (not due with --if-expiring-within) replaces the
# set; the old certificate is refused at heartbeat (403) and listed in the
# CRL.  Transient failures (nothing listening, 503 with PostgreSQL down)
# exit 75.  kill -9 of the agent during a renewal -- with nginx frozen (the
# request never reaches the controller) and with the controller frozen
# (once thawed it issues the certificate the agent never hears of) --
# leaves a complete set whose key matches its certificate; the next
# renewal succeeds with the key kept pending (and gets the lost
# certificate back).  An RSA-2048 worker enrolls and renews too.  After
# decommission renew and heartbeat exit 77.  No key or token ever appears
# in the agent's output.  The shipped systemd units pass systemd-analyze
# verify.
set -u
. "${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/stack.sh"
. "$TOP_SRCDIR/tests/lib/crl.sh"

require_cmd openssl jq curl systemd-analyze
stack_up_or_die

A=$T/agent
mkdir -p "$A"
W=$A/w1
VERSION=$("$SWARMCTL_BIN" --version | awk '{ print $2 }')
FP=$(openssl x509 -in "$T/ca/front-ca.crt" -outform DER | sha256sum | cut -d' ' -f1)

# agent ARGS... — run `swarmctl agent`; RC, OUT, ERR; everything it ever
# printed accumulates in $A/all.log.
agent()
{
	"$SWARMCTL_BIN" agent "$@" >"$A/out" 2>"$A/err"
	RC=$?
	OUT=$(cat "$A/out")
	ERR=$(cat "$A/err")
	cat "$A/out" "$A/err" >>"$A/all.log"
}

# token NAME — POST /swarm/tokens; TOKEN, TOKEN_ID, $A/NAME.token (0600).
token()
{
	api POST /swarm/tokens -H 'Content-Type: application/json' \
	    --data-binary "{\"name\":\"$1\",\"address\":\"192.0.2.40\"}"
	TOKEN=$(json .token)
	TOKEN_ID=$(json .id)
	(umask 077 && printf '%s\n' "$TOKEN" >"$A/$1.token")
	printf '%s\n' "$TOKEN" >>"$A/tokens"
}

token_unused()
{
	sql "SELECT used_at IS NULL FROM bootstrap_tokens WHERE id = '$1'"
}

# pubkey FILE — the public key of a key or certificate, as PEM.
pubkey()
{
	if grep -q 'BEGIN CERTIFICATE' "$1"; then
		openssl x509 -in "$1" -pubkey -noout
	else
		openssl pkey -in "$1" -pubout
	fi 2>/dev/null
}

fingerprint()
{
	openssl x509 -in "$1" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}

# whole_set DIR DESC — current names a complete set: key 0600 matching
# the certificate, and the stable links lead there.
whole_set()
{
	local d=$1 desc=$2 k
	k=$(pubkey "$d/key.pem")
	if [ -n "$k" ] && [ "$k" = "$(pubkey "$d/cert.pem")" ] &&
	    [ "$(stat -L -c %a "$d/key.pem")" = 600 ] &&
	    [ "$(readlink -f "$d/cert.pem")" = "$(readlink -f "$d/current")/cert.pem" ] &&
	    [ "$(fingerprint "$d/controller-ca.pem")" = "$FP" ] &&
	    [ "$(fingerprint "$d/ca.pem")" = "$(fingerprint "$T/ca/ca.crt")" ]; then
		pass "$desc"
	else
		not_ok "$desc" "$(ls -lR "$d" 2>&1)"
	fi
}

host_view()
{
	api GET "/swarm/hosts/$HOST_UUID"
}

# ---- the token carries the controller CA's fingerprint
token w1
is "$STATUS" 201 "token for w1: 201" || diag "$BODY"
is "$(json .controller_ca_fingerprint)" "$FP" \
    "the token answer gives the front-end CA's SHA-256 (controller_ca_fingerprint)"
W1_TOKEN_ID=$TOKEN_ID

# ---- a wrong fingerprint: refused before the token is sent
agent enroll --url "$BASE" --ca-fingerprint "$(rep 0 64)" --dir "$W" \
    --token-file "$A/w1.token"
is "$RC" 65 "enroll, wrong --ca-fingerprint: exit 65"
like "$ERR" 'fingerprint' "... saying the fingerprint does not match"
is "$(token_unused "$W1_TOKEN_ID")" t "... and the token is still unused"
ok "... and nothing is enrolled in the directory" test ! -e "$W/current" -a ! -e "$W/key.pem"
is "$(sql "SELECT count(*) FROM swarm_hosts WHERE name = 'w1'")" 0 "... nor on the controller"

agent enroll --url "$BASE" --ca-fingerprint "abc" --dir "$W" --token-file "$A/w1.token"
is "$RC" 64 "enroll, malformed --ca-fingerprint: exit 64 (usage)"
agent enroll --url "http://127.0.0.1:1" --ca-fingerprint "$FP" --dir "$W" --token-file "$A/w1.token"
is "$RC" 64 "enroll, http:// URL: exit 64 (never in clear text)"

# ---- enroll: the fingerprint as openssl prints it, the token on stdin
FPC=$(printf '%s' "$FP" | tr a-f A-F | sed 's/../&:/g; s/:$//')
"$SWARMCTL_BIN" agent enroll --url "$BASE" --ca-fingerprint "sha256:$FPC" \
    --dir "$W" --token-file - <"$A/w1.token" >"$A/out" 2>"$A/err"
RC=$?
cat "$A/out" "$A/err" >>"$A/all.log"
is "$RC" 0 "enroll with the token on standard input: exit 0" || diag "$(cat "$A/err")"
like "$(cat "$A/out")" '^enrolled w1 \(host [0-9a-f-]{36}\)' "... saying which host it became"
whole_set "$W" "enroll: key 0600 for the certificate, worker CA, controller CA, stable links"
is "$(stat -c %a "$W")" 700 "enroll: the directory is 0700"
like "$(openssl x509 -in "$W/cert.pem" -noout -subject)" 'CN *= *w1' "enroll: the certificate is the token's host's"
is "$(token_unused "$W1_TOKEN_ID")" f "enroll: the token is used"
HOST_UUID=$(sql "SELECT uuid FROM swarm_hosts WHERE name = 'w1'")
host_view
is "$(json .client_cert_fingerprint)" "$(fingerprint "$W/cert.pem")" "enroll: the controller records this certificate"

# ---- replay, expiry, already enrolled
agent enroll --url "$BASE" --ca-fingerprint "$FP" --dir "$A/w1-again" --token "$(cat "$A/w1.token")"
is "$RC" 77 "replayed token: exit 77" || diag "$ERR"
ok "... nothing enrolled" test ! -e "$A/w1-again/current"
token w-expired
sql "UPDATE bootstrap_tokens SET expires_at = now() - interval '1 second', created_at = now() - interval '2 minutes' WHERE id = '$TOKEN_ID'" >/dev/null
agent enroll --url "$BASE" --ca-fingerprint "$FP" --dir "$A/w-expired" --token-file "$A/w-expired.token"
is "$RC" 77 "expired token: exit 77" || diag "$ERR"
token w-other
agent enroll --url "$BASE" --ca-fingerprint "$FP" --dir "$W" --token-file "$A/w-other.token"
is "$RC" 65 "enroll into an enrolled directory: exit 65"
is "$(token_unused "$TOKEN_ID")" t "... without spending the token"

# ---- heartbeat
agent heartbeat --url "$BASE" --dir "$W"
is "$RC" 0 "heartbeat: exit 0" || diag "$ERR"
like "$OUT" "host $HOST_UUID active" "... the controller says active"
# Heartbeats are not announced to the controller's host caches (README:
# each process keeps a view at most a second old): the views catch up
# within that.
listed_active()
{
	api GET /swarm/hosts
	[ "$(json -c ".[] | select(.uuid == \"$HOST_UUID\") | [.status, .agent_version, (.last_heartbeat != null)]")" = \
	    "[\"active\",\"$VERSION\",true]" ]
}
ok "GET /swarm/hosts lists it active, agent_version $VERSION, last_heartbeat set (within a second)" \
    wait_for 3 listed_active
viewed_active()
{
	host_view
	[ "$(json -c '[.status, .agent_version]')" = "[\"active\",\"$VERSION\"]" ]
}
ok "... as does GET /swarm/hosts/{uuid}" wait_for 3 viewed_active
NOT_AFTER=$(date -u -d "$(openssl x509 -in "$W/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
is "$(date -u -d "$(json -r .cert_not_after)" +%s)" "$NOT_AFTER" "... cert_not_after is the certificate's"

# ---- renew
cp -L "$W/cert.pem" "$A/old.crt"
cp -L "$W/key.pem" "$A/old.key"
OLD_SERIAL=$(openssl x509 -in "$A/old.crt" -noout -serial | cut -d= -f2)
agent renew --url "$BASE" --dir "$W" --if-expiring-within 1
is "$RC" 0 "renew --if-expiring-within 1: exit 0" || diag "$ERR"
like "$OUT" '^not due' "... not due (stdout says so)"
is "$(fingerprint "$W/cert.pem")" "$(fingerprint "$A/old.crt")" "... the certificate unchanged"

agent renew --url "$BASE" --dir "$W"
is "$RC" 0 "renew: exit 0" || diag "$ERR"
like "$OUT" '^renewed' "... stdout says renewed"
whole_set "$W" "renew: a whole new set"
isnt "$(fingerprint "$W/cert.pem")" "$(fingerprint "$A/old.crt")" "renew: a new certificate"
isnt "$(pubkey "$W/key.pem")" "$(pubkey "$A/old.key")" "renew: for a new key"
is "$(cd "$W" && ls -d gen-* pending-key.pem 2>/dev/null | wc -l)" 1 "renew: one generation left, no pending key"
host_view
is "$(json .client_cert_fingerprint)" "$(fingerprint "$W/cert.pem")" "renew: the controller records the new certificate"

API_AS_CRT=$A/old.crt API_AS_KEY=$A/old.key api POST /swarm/heartbeat \
    -H 'Content-Type: application/json' --data-binary '{}'
is "$STATUS" 403 "heartbeat with the old certificate: 403"
ok "the old certificate is listed in the CRL" crl_wait_lists 30 "$OLD_SERIAL"
agent heartbeat --url "$BASE" --dir "$W" --status degraded
is "$RC" 0 "heartbeat with the new set: exit 0" || diag "$ERR"

# ---- transient failures: exit 75, the set untouched
BEFORE=$(fingerprint "$W/cert.pem")
agent heartbeat --url "https://127.0.0.1:$(free_port)" --dir "$W"
is "$RC" 75 "heartbeat, nothing listening: exit 75" || diag "$ERR"
pg_stop
agent heartbeat --url "$BASE" --dir "$W"
is "$RC" 75 "heartbeat, PostgreSQL down (503): exit 75" || diag "$ERR"
like "$ERR" '503' "... saying 503"
agent renew --url "$BASE" --dir "$W"
is "$RC" 75 "renew, PostgreSQL down (503): exit 75" || diag "$ERR"
pg_start || bail "PostgreSQL did not come back"
is "$(fingerprint "$W/cert.pem")" "$BEFORE" "... the set unchanged"
beats()
{
	agent heartbeat --url "$BASE" --dir "$W"
	[ "$RC" = 0 ]
}
ok "heartbeat once PostgreSQL is back: exit 0" wait_for 30 beats

# ---- kill -9 during a renewal: nginx frozen, the request never arrives
nginx_workers()
{
	ps -o pid= --ppid "$NGINX_PID"
}
# renew_killed — start a renewal, SIGKILL it once it has its pending key
# and is waiting on the network.
renew_killed()
{
	local pid i
	"$SWARMCTL_BIN" agent renew --url "$BASE" --dir "$W" >>"$A/all.log" 2>&1 &
	pid=$!
	for i in $(seq 1 100); do
		[ -e "$W/pending-key.pem" ] && break
		sleep 0.1
	done
	sleep 1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	cp "$W/pending-key.pem" "$A/pending.key" 2>/dev/null
}

BEFORE=$(fingerprint "$W/cert.pem")
# shellcheck disable=SC2046
kill -STOP $(nginx_workers)
renew_killed
# shellcheck disable=SC2046
kill -CONT $(nginx_workers)
is "$(fingerprint "$W/cert.pem")" "$BEFORE" "kill -9 (nginx frozen): the set is the old one"
whole_set "$W" "kill -9 (nginx frozen): ... complete, key matching its certificate"
is "$(stat -c %a "$W/pending-key.pem" 2>&1)" 600 "kill -9: the pending key is kept, 0600"
agent heartbeat --url "$BASE" --dir "$W"
is "$RC" 0 "kill -9 (nginx frozen): the old set still heartbeats" || diag "$ERR"
agent renew --url "$BASE" --dir "$W"
is "$RC" 0 "kill -9 (nginx frozen): the next renewal succeeds" || diag "$ERR"
is "$(pubkey "$W/cert.pem")" "$(pubkey "$A/pending.key")" "... for the key that was pending"
whole_set "$W" "... a whole new set"

# ---- kill -9 during a renewal: the controller frozen, it may issue
BEFORE=$(fingerprint "$W/cert.pem")
kill -STOP "$SWARMCTL_PID"
renew_killed
kill -CONT "$SWARMCTL_PID"
wait_for 30 health_ok || diag "the controller did not come back"
is "$(fingerprint "$W/cert.pem")" "$BEFORE" "kill -9 (controller frozen): the set is the old one"
whole_set "$W" "kill -9 (controller frozen): ... complete, key matching its certificate"
# The request was in the controller's socket when it froze: once thawed
# it issues the certificate nobody hears of, superseding the agent's.
recorded()
{
	sql "SELECT client_cert_fingerprint FROM swarm_hosts WHERE uuid = '$HOST_UUID'"
}
lost_issued()
{
	[ "$(recorded)" != "$BEFORE" ]
}
ok "kill -9 (controller frozen): the controller issued the lost certificate" wait_for 10 lost_issued
LOST=$(recorded)
agent renew --url "$BASE" --dir "$W"
is "$RC" 0 "kill -9 (controller frozen): the next renewal succeeds, with the superseded certificate" || diag "$ERR"
is "$(pubkey "$W/cert.pem")" "$(pubkey "$A/pending.key")" "... for the key that was pending"
is "$(fingerprint "$W/cert.pem")" "$LOST" "... and gets the certificate whose answer was lost"
whole_set "$W" "... a whole new set"
agent heartbeat --url "$BASE" --dir "$W"
is "$RC" 0 "... which heartbeats" || diag "$ERR"

# ---- an RSA worker: enroll and renew with --key-type rsa-2048
W2=$A/w2
token w2
agent enroll --url "$BASE" --ca-fingerprint "$FP" --dir "$W2" --token-file "$A/w2.token" --key-type rsa-2048
is "$RC" 0 "enroll --key-type rsa-2048: exit 0" || diag "$ERR"
like "$(openssl pkey -in "$W2/key.pem" -noout -text 2>&1 | head -1)" '2048 bit' "... an RSA-2048 key"
whole_set "$W2" "... a whole set"
agent renew --url "$BASE" --dir "$W2" --key-type rsa-2048
is "$RC" 0 "renew --key-type rsa-2048: exit 0" || diag "$ERR"
like "$(openssl pkey -in "$W2/key.pem" -noout -text 2>&1 | head -1)" '2048 bit' "... a new RSA-2048 key"
whole_set "$W2" "... a whole new set"
agent heartbeat --url "$BASE" --dir "$W2"
is "$RC" 0 "... which heartbeats" || diag "$ERR"

# ---- decommission
api DELETE "/swarm/hosts/$HOST_UUID"
is "$STATUS" 204 "decommission: 204"
agent renew --url "$BASE" --dir "$W"
is "$RC" 77 "renew after decommission: exit 77" || diag "$ERR"
agent heartbeat --url "$BASE" --dir "$W"
is "$RC" 77 "heartbeat after decommission: exit 77" || diag "$ERR"
whole_set "$W" "a refused renewal leaves the set as it was"

# ---- secrets never printed
leaks=0
for k in "$W"/gen-*/key.pem "$A/old.key" "$A/pending.key"; do
	line=$(sed -n 2p "$k")
	[ -n "$line" ] && grep -qF "$line" "$A/all.log" && leaks=$((leaks + 1))
done
is "$leaks" 0 "no key ever appears on the agent's stdout or stderr"
is "$(grep -cFf "$A/tokens" "$A/all.log")" 0 "no token ever appears on the agent's stdout or stderr"

# ---- the shipped systemd units
SD=$A/systemd
mkdir -p "$SD"
for f in "$TOP_BUILDDIR"/systemd/*.service "$TOP_SRCDIR"/contrib/systemd/*.timer; do
	sed "s|^ExecStart=[^ ]*/swarmctl |ExecStart=$SWARMCTL_BIN |" "$f" >"$SD/${f##*/}"
done
is "$(cd "$SD" && ls | tr '\n' ' ')" \
    "swarmctl-agent-heartbeat.service swarmctl-agent-heartbeat.timer swarmctl-agent-renew.service swarmctl-agent-renew.timer " \
    "the four units are built"
if (cd "$SD" && systemd-analyze verify ./*.service ./*.timer) >"$SD/verify.log" 2>&1; then
	pass "systemd-analyze verify accepts the units"
else
	not_ok "systemd-analyze verify accepts the units" "$(cat "$SD/verify.log")"
fi
like "$(grep -h '^RestartPreventExitStatus=' "$SD"/swarmctl-agent-renew.service)" '64 65 76 77' \
    "renew.service does not retry the exit statuses retrying cannot fix"

done_testing
